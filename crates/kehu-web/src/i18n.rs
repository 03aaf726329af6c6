//! Translation: Fluent files (`locales/zh-CN`, `locales/en`) compiled into the binary.
//! zh-CN is the default; a user's saved choice wins, then the `kehu_lang` cookie, then
//! `Accept-Language`.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};
use kehu_domain::user::Language;

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

/// A translator for one language; cheap to copy into every template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Language,
}

impl Tr {
    pub fn new(lang: Language) -> Self {
        Self { lang }
    }

    fn id(&self) -> &'static LanguageIdentifier {
        match self.lang {
            Language::ZhCn => &ZH_CN,
            Language::En => &EN,
        }
    }

    /// The message for `key`; the key itself when missing (tests catch missing keys).
    pub fn t(&self, key: &str) -> String {
        LOCALES
            .try_lookup(self.id(), key)
            .unwrap_or_else(|| key.to_owned())
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

    #[test]
    fn messages_take_arguments() {
        let en = Tr::new(Language::En);
        let s = en.t_args("login-locked", &[("minutes", FluentArg::Num(5))]);
        assert!(s.contains('5'), "{s}");
    }
}
