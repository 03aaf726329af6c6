//! Translation: Fluent files (`locales/zh-CN`, `locales/en`) compiled into the binary.
//! zh-CN is the default; a user's saved choice wins, then the `kehu_lang` cookie, then
//! `Accept-Language`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use kehu_domain::user::Language;

use crate::config::TimeZone;

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "zh-CN",
        // No Unicode isolation marks around arguments: they show up in plain-text contexts.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static ZH_CN: LanguageIdentifier = langid!("zh-CN");
static EN: LanguageIdentifier = langid!("en");

/// What Fluent formatted once, per language (index: [`Tr::slot`]): the messages are compiled
/// in, so a message without arguments, or a frame with markers for its arguments
/// ([`Tr::t_fill`]), is the same every time. A list page asks for a few hundred (a status and
/// two times per row); formatting each anew was an eighth of the page's time.
static FORMATTED: LazyLock<[RwLock<HashMap<String, String>>; 2]> =
    LazyLock::new(|| [RwLock::default(), RwLock::default()]);

/// [`Tr::t_fill`]'s frames, per language, by message key.
static FRAMES: LazyLock<[RwLock<HashMap<String, String>>; 2]> =
    LazyLock::new(|| [RwLock::default(), RwLock::default()]);

/// Marks where [`Tr::t_fill`]'s argument goes in a frame (a private-use character and the
/// argument's index).
const MARK: char = '\u{E000}';

/// A translator for one language, with the time zone times are shown in; cheap to copy into
/// every template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Language,
    pub zone: TimeZone,
}

impl Tr {
    /// A translator showing times in the default zone (Asia/Shanghai).
    pub fn new(lang: Language) -> Self {
        Self {
            lang,
            zone: TimeZone::default(),
        }
    }

    /// The same translator, showing times in `zone` (the configured `time_zone`).
    pub fn in_zone(self, zone: TimeZone) -> Self {
        Self { zone, ..self }
    }

    fn id(&self) -> &'static LanguageIdentifier {
        match self.lang {
            Language::ZhCn => &ZH_CN,
            Language::En => &EN,
        }
    }

    fn slot(&self) -> usize {
        match self.lang {
            Language::ZhCn => 0,
            Language::En => 1,
        }
    }

    /// What `format` gives for `key`, formatted once per language (in `cache`: [`FORMATTED`]
    /// or [`FRAMES`]). Only what exists is kept (the keys are then the compiled messages'
    /// own, whatever a request asks for).
    fn remembered(
        &self,
        cache: &'static LazyLock<[RwLock<HashMap<String, String>>; 2]>,
        key: &str,
        format: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        let cache = &cache[self.slot()];
        if let Some(s) = cache.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return Some(s.clone());
        }
        let s = format()?;
        cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), s.clone());
        Some(s)
    }

    /// The message for `key`; the key itself when missing (tests catch missing keys).
    pub fn t(&self, key: &str) -> String {
        self.remembered(&FORMATTED, key, || LOCALES.try_lookup(self.id(), key))
            .unwrap_or_else(|| key.to_owned())
    }

    /// The message for `key` with text arguments that it only places (no selector looks at
    /// them, as in `{ $time }（{ $zone }）`): Fluent formats it once per language with a
    /// marker for each, later calls put the texts in. For what is shown many times a page.
    pub fn t_fill(&self, key: &'static str, args: &[(&'static str, &str)]) -> String {
        let frame = self
            .remembered(&FRAMES, key, || {
                let marked: HashMap<Cow<'static, str>, FluentValue<'_>> = (0..args.len())
                    .map(|i| {
                        (
                            Cow::Borrowed(args[i].0),
                            FluentValue::from(format!("{MARK}{i}")),
                        )
                    })
                    .collect();
                LOCALES.try_lookup_with_args(self.id(), key, &marked)
            })
            .unwrap_or_else(|| key.to_owned());
        let mut out =
            String::with_capacity(frame.len() + args.iter().map(|a| a.1.len()).sum::<usize>());
        let mut parts = frame.split(MARK);
        out.push_str(parts.next().unwrap_or_default());
        for part in parts {
            let mut chars = part.chars();
            let arg = chars
                .next()
                .and_then(|c| c.to_digit(10))
                .and_then(|i| args.get(i as usize));
            out.push_str(arg.map_or("", |a| a.1));
            out.push_str(chars.as_str());
        }
        out
    }

    /// The message for `key` with named arguments.
    pub fn t_args(&self, key: &str, args: &[(&'static str, FluentArg)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    FluentArg::Str(s) => FluentValue::from(s.clone()),
                    FluentArg::Num(n) => FluentValue::from(*n),
                };
                (Cow::Borrowed(*k), v)
            })
            .collect();
        LOCALES
            .try_lookup_with_args(self.id(), key, &map)
            .unwrap_or_else(|| key.to_owned())
    }

    /// True when `key` exists in this language (used by tests and the right labels).
    pub fn has(&self, key: &str) -> bool {
        LOCALES.try_lookup(self.id(), key).is_some()
    }

    pub fn tag(&self) -> &'static str {
        self.lang.tag()
    }
}

/// An argument to a Fluent message.
#[derive(Debug, Clone)]
pub enum FluentArg {
    Str(String),
    Num(i64),
}

/// Picks the best language from an `Accept-Language` header, zh-CN when nothing matches.
pub fn negotiate(accept_language: Option<&str>) -> Language {
    let Some(header) = accept_language else {
        return Language::ZhCn;
    };
    let mut best: Option<(f32, Language)> = None;
    for part in header.split(',') {
        let mut it = part.trim().split(';');
        let tag = it.next().unwrap_or("").trim();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        let lang = match primary.as_str() {
            "zh" => Some(Language::ZhCn),
            "en" => Some(Language::En),
            _ => None,
        };
        if let Some(l) = lang
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, l));
        }
    }
    best.map_or(Language::ZhCn, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_quality_known_language() {
        assert_eq!(negotiate(None), Language::ZhCn);
        assert_eq!(negotiate(Some("en-US,en;q=0.9")), Language::En);
        assert_eq!(
            negotiate(Some("fr-FR, en;q=0.5, zh-CN;q=0.8")),
            Language::ZhCn
        );
        assert_eq!(negotiate(Some("de")), Language::ZhCn);
    }

    #[test]
    fn a_filled_frame_reads_as_the_message_formatted_with_its_arguments() {
        for tr in [Tr::new(Language::ZhCn), Tr::new(Language::En)] {
            let args = [("time", "2026-12-07 09:30"), ("zone", "UTC+8")];
            let formatted = tr.t_args(
                "time-in-zone",
                &args.map(|(k, v)| (k, FluentArg::Str(v.to_owned()))),
            );
            // Twice: the first formats the frame, the second fills the remembered one.
            assert_eq!(tr.t_fill("time-in-zone", &args), formatted);
            assert_eq!(tr.t_fill("time-in-zone", &args), formatted);
            assert!(formatted.contains("2026-12-07 09:30") && formatted.contains("UTC+8"));
        }
        assert_eq!(
            Tr::new(Language::ZhCn)
                .t_fill("time-in-zone", &[("time", "今天"), ("zone", "北京时间")]),
            "今天（北京时间）"
        );
    }

    #[test]
    fn both_languages_translate_the_same_keys() {
        let zh = Tr::new(Language::ZhCn);
        let en = Tr::new(Language::En);
        assert_eq!(zh.t("nav-home"), "首页");
        assert_eq!(en.t("nav-home"), "Home");
        let files = [
            include_str!("../locales/zh-CN/main.ftl"),
            include_str!("../locales/en/main.ftl"),
        ];
        let keys = |s: &str| -> Vec<String> {
            let mut v: Vec<String> = s
                .lines()
                .filter(|l| l.contains(" =") && !l.starts_with([' ', '#', '.', '*', '[']))
                .filter_map(|l| l.split(" =").next().map(str::to_owned))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            keys(files[0]),
            keys(files[1]),
            "zh-CN and en define different keys"
        );
        for r in kehu_domain::Right::ALL {
            assert!(zh.has(&r.label_key()) && en.has(&r.label_key()), "{r}");
        }
    }

    /// The half-width `,` `:` `(` `)` next to Chinese text in `text`, outside placeables
    /// (`{ $x }`), `code` and URLs, as (character, position) pairs.
    fn half_width_in_chinese(text: &str) -> Vec<(char, usize)> {
        // Blank out what may hold half-width punctuation: placeables, `code`, URLs.
        let mut plain: Vec<char> = Vec::new();
        let (mut brace, mut tick) = (0u32, false);
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let url = chars[i..].iter().collect::<String>().starts_with("http");
            if url && brace == 0 && !tick {
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !crate::views::is_cjk(chars[i])
                {
                    plain.push(' ');
                    i += 1;
                }
                continue;
            }
            match c {
                '{' => brace += 1,
                '}' => brace = brace.saturating_sub(1),
                '`' => tick = !tick,
                _ => {}
            }
            plain.push(if brace > 0 || tick || c == '}' {
                ' '
            } else {
                c
            });
            i += 1;
        }
        let cjk_or_fullwidth =
            |c: char| crate::views::is_cjk(c) || "，。：；、（）“”？！".contains(c);
        let neighbour = |from: usize, step: isize| {
            let mut j = from as isize + step;
            while j >= 0 && (j as usize) < plain.len() {
                let c = plain[j as usize];
                if c != ' ' {
                    return Some(c);
                }
                j += step;
            }
            None
        };
        plain
            .iter()
            .enumerate()
            .filter(|(_, c)| [',', ':', '(', ')'].contains(c))
            .filter(|(i, _)| {
                neighbour(*i, -1).is_some_and(cjk_or_fullwidth)
                    || neighbour(*i, 1).is_some_and(cjk_or_fullwidth)
            })
            .map(|(i, c)| (*c, i))
            .collect()
    }

    #[test]
    fn chinese_messages_use_full_width_punctuation() {
        let zh = include_str!("../locales/zh-CN/main.ftl");
        let bad: Vec<String> = zh
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once(" = "))
            .filter(|(_, text)| !half_width_in_chinese(text).is_empty())
            .map(|(key, text)| format!("{key} = {text}"))
            .collect();
        assert!(
            bad.is_empty(),
            "half-width punctuation in Chinese text: {bad:#?}"
        );
    }

    #[test]
    fn the_punctuation_check_flags_chinese_text_and_spares_codes() {
        assert_eq!(half_width_in_chinese("用户名, 密码"), vec![(',', 3)]);
        assert!(!half_width_in_chinese("角色: 管理员").is_empty());
        assert!(!half_width_in_chinese("有效期(天)").is_empty());
        assert!(!half_width_in_chinese("请输入 (如 2025)").is_empty());
        // Placeables, codes, URLs and Latin text keep theirs.
        assert!(half_width_in_chinese("参数 { $name } 无效。").is_empty());
        assert!(half_width_in_chinese("通过 Authorization: Bearer 请求头").is_empty());
        assert!(half_width_in_chinese("格式为 `key: value`。").is_empty());
        assert!(half_width_in_chinese("见 https://kehu.dev/a,b 说明").is_empty());
        assert!(half_width_in_chinese("时间（如 2025-03-31T08:00:00Z）").is_empty());
        assert!(half_width_in_chinese("{ $time }（{ $zone }）").is_empty());
    }

    #[test]
    fn templates_put_no_half_width_punctuation_after_translated_text() {
        // `{{ c.t("home-role") }}: …` shows "角色: …" in Chinese: such punctuation belongs in
        // the message (with an argument), where each language writes its own.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut bad = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    for pat in ["\") }}:", "\") }},", "\") }} (", "\") }}("] {
                        if text.contains(pat) {
                            bad.push(format!("{}: {pat}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn messages_take_arguments() {
        let en = Tr::new(Language::En);
        let s = en.t_args("login-locked", &[("minutes", FluentArg::Num(5))]);
        assert!(s.contains('5'), "{s}");
    }
}
