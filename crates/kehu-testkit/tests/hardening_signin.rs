//! Sign-in hardening over HTTP, every story on SQLite and on PostgreSQL: throttling that an
//! attacker cannot turn against the real user, identical answers for unknown and known user
//! names, atomic counting under parallel attempts, the audit trail, argon2 off the runtime,
//! and the sessions' absolute lifetime and purge.
//!
//! Client addresses are simulated through `X-Forwarded-For`: the test apps trust the loopback
//! address as their reverse proxy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SubsecRound, Utc};
use kehu_store::PageRequest;
use kehu_store::audit::AuditFilter;
use kehu_store::sessions::{Lifetime, NewSession};
use kehu_store::throttle::{Policy, Scope};
use kehu_testkit::reqwest::cookie::{CookieStore as _, Jar};
use kehu_testkit::reqwest::{self, Url, redirect::Policy as Redirects};
use kehu_testkit::{ADMIN_PASSWORD, TestApp, TestBackend, spawn_app_with};
use kehu_web::config::TrustedProxies;
use kehu_web::throttle::{ACCOUNT, ACCOUNT_IP, DEVICE_COOKIE, IP};

/// A kehu behind a (simulated) reverse proxy on the loopback address.
async fn behind_proxy(backend: TestBackend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.trusted_proxies = TrustedProxies::parse("127.0.0.1, ::1").unwrap();
    })
    .await
}

/// Runs each story on SQLite and on PostgreSQL, on a multi-threaded runtime (parallel
/// attempts must really run in parallel).
macro_rules! stories {
    ($( async fn $name:ident($app:ident) $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn story($app: TestApp) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    story(behind_proxy(TestBackend::Sqlite).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    story(behind_proxy(TestBackend::Postgres).await).await
                }
            }
        )*
    };
}

/// A browser at one client address, with its own cookie jar.
#[derive(Clone)]
struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: Url,
    ip: String,
}

/// What the sign-in form answered: the status and the error text shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    error: String,
}

impl Browser {
    fn new(app: &TestApp, ip: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Redirects::none())
            .build()
            .unwrap();
        Self {
            client,
            jar,
            base: Url::parse(&app.url("/")).unwrap(),
            ip: ip.to_owned(),
        }
    }

    /// A fresh browser at `ip` that carries only this one's device cookie.
    fn device_only(&self, app: &TestApp, ip: &str) -> Self {
        let next = Browser::new(app, ip);
        let device = self
            .jar
            .cookies(&self.base)
            .and_then(|h| {
                h.to_str()
                    .unwrap()
                    .split("; ")
                    .find(|c| c.starts_with(&format!("{DEVICE_COOKIE}=")))
                    .map(str::to_owned)
            })
            .expect("the browser has a device cookie");
        next.jar.add_cookie_str(&device, &self.base);
        next
    }

    /// Fills in and sends the sign-in form.
    async fn sign_in(&self, username: &str, password: &str) -> Answer {
        let page = self
            .client
            .get(self.base.join("/login").unwrap())
            .header("x-forwarded-for", &self.ip)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = kehu_testkit::form_token(&page);
        let resp = self
            .client
            .post(self.base.join("/login").unwrap())
            .header("x-forwarded-for", &self.ip)
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let html = resp.text().await.unwrap();
        Answer {
            status,
            error: between(&html, "id=\"login-error\">", "</p>"),
        }
    }
}

fn between(html: &str, start: &str, end: &str) -> String {
    html.find(start)
        .map(|i| {
            let rest = &html[i + start.len()..];
            rest[..rest.find(end).unwrap_or(0)].to_owned()
        })
        .unwrap_or_default()
}

fn new_session(token_hash: &str, user_id: i64) -> NewSession<'_> {
    NewSession {
        token_hash,
        user_id,
        csrf_token: "csrf",
        ip: None,
        user_agent: None,
    }
}

async fn sign_in_events(app: &TestApp, action: &str) -> Vec<kehu_store::audit::AuditEntry> {
    let f = AuditFilter {
        entity: Some("sign_in".into()),
        ..AuditFilter::default()
    };
    app.store
        .audit
        .list(&f, PageRequest::new(Some(1), Some(200)))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

const FAILED: u16 = 401;
const THROTTLED: u16 = 429;
const SIGNED_IN: u16 = 303;

stories! {
    async fn the_administrator_signs_in_from_another_address_while_an_attacker_hammers_admin(app) {
        let attacker = Browser::new(&app, "198.51.100.66");
        let mut answers = Vec::new();
        for i in 0..25 {
            answers.push(attacker.sign_in("admin", &format!("guess-{i}")).await.status);
        }
        let free = usize::try_from(ACCOUNT_IP.free).unwrap();
        assert!(answers[..free].iter().all(|s| *s == FAILED), "{answers:?}");
        assert!(answers[free..].iter().all(|s| *s == THROTTLED), "{answers:?}");
        // Even the right password waits at the attacker's address …
        assert_eq!(attacker.sign_in("admin", ADMIN_PASSWORD).await.status, THROTTLED);
        // … but the administrator, elsewhere, is not kept out.
        let admin = Browser::new(&app, "203.0.113.5");
        assert_eq!(admin.sign_in("admin", ADMIN_PASSWORD).await.status, SIGNED_IN);
    }

    async fn a_known_device_signs_in_while_many_addresses_guess_the_account(app) {
        let laptop = Browser::new(&app, "203.0.113.5");
        assert_eq!(laptop.sign_in("admin", ADMIN_PASSWORD).await.status, SIGNED_IN);
        // A distributed attack: one guess from each of many addresses, more than the gentle
        // per-account budget.
        let mut last = 0;
        for i in 0..ACCOUNT.free + 2 {
            last = Browser::new(&app, &format!("198.51.100.{}", i + 1))
                .sign_in("admin", "guess").await.status;
        }
        assert_eq!(last, THROTTLED, "the account as a whole is slowed down");
        // A browser that never signed in to admin waits too (a few minutes at most) …
        let stranger = Browser::new(&app, "192.0.2.77");
        assert_eq!(stranger.sign_in("admin", ADMIN_PASSWORD).await.status, THROTTLED);
        // … but the administrator's own browser, from a new address, gets in.
        let laptop = laptop.device_only(&app, "192.0.2.80");
        assert_eq!(laptop.sign_in("admin", ADMIN_PASSWORD).await.status, SIGNED_IN);
        // A device cookie only counts for the account it signed in to.
        app.create_user("zhang.wei", "account_manager", "zhang-pass-123").await;
        for i in 0..ACCOUNT.free + 1 {
            Browser::new(&app, &format!("198.51.100.{}", i + 101))
                .sign_in("zhang.wei", "guess").await;
        }
        let other = laptop.device_only(&app, "192.0.2.81");
        assert_eq!(other.sign_in("zhang.wei", "zhang-pass-123").await.status, THROTTLED);
    }

    async fn unknown_and_known_user_names_get_identical_answers_before_and_after_throttling(app) {
        let b = Browser::new(&app, "198.51.100.20");
        for round in 0..ACCOUNT_IP.free + 3 {
            let known = b.sign_in("admin", "wrong-password").await;
            let unknown = b.sign_in("no.such.user", "wrong-password").await;
            assert_eq!(known, unknown, "round {round}");
            assert!(!known.error.is_empty(), "an error is shown");
            let expected = if round < ACCOUNT_IP.free { FAILED } else { THROTTLED };
            assert_eq!(known.status, expected, "round {round}: {known:?}");
        }
        let throttled = b.sign_in("ADMIN ", "x").await;
        assert!(throttled.error.contains("登录失败次数过多"), "{throttled:?}");
        // Names are counted as normalised: case and spaces do not buy new attempts.
        assert_eq!(throttled.status, THROTTLED);
    }

    async fn twenty_parallel_attempts_do_not_pass_the_limit(app) {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            let b = Browser::new(&app, "198.51.100.30");
            tasks.spawn(async move { b.sign_in("admin", &format!("parallel-{i}")).await.status });
        }
        let statuses = tasks.join_all().await;
        let checked = statuses.iter().filter(|s| **s == FAILED).count();
        let throttled = statuses.iter().filter(|s| **s == THROTTLED).count();
        assert_eq!(
            (checked, throttled),
            (usize::try_from(ACCOUNT_IP.free).unwrap(), 20 - usize::try_from(ACCOUNT_IP.free).unwrap()),
            "{statuses:?}"
        );
        assert_eq!(sign_in_events(&app, "sign_in_failed").await.len(), checked);
        assert_eq!(sign_in_events(&app, "sign_in_throttled").await.len(), throttled);
    }

    async fn a_success_for_one_account_does_not_reset_the_address_budget(app) {
        let office = Browser::new(&app, "198.51.100.40");
        // A sprayer tries one password on many names, one short of the address's budget.
        for i in 0..IP.free - 1 {
            assert_eq!(office.sign_in(&format!("user{i}"), "Spring2026!").await.status, FAILED);
        }
        // Someone at the same address signs in successfully …
        assert_eq!(office.sign_in("admin", ADMIN_PASSWORD).await.status, SIGNED_IN);
        // … which does not give the sprayer a fresh budget: one more guess, then it waits.
        let sprayer = Browser::new(&app, "198.51.100.40");
        assert_eq!(sprayer.sign_in("last.try", "Spring2026!").await.status, FAILED);
        assert_eq!(sprayer.sign_in("one.more", "Spring2026!").await.status, THROTTLED);
        assert_eq!(app.store.throttle.count(Scope::Ip, "198.51.100.40").await.unwrap(), IP.free);
        // Other addresses are not affected.
        let elsewhere = Browser::new(&app, "203.0.113.9");
        assert_eq!(elsewhere.sign_in("one.more", "Spring2026!").await.status, FAILED);
    }

    async fn failed_and_throttled_sign_ins_appear_in_the_audit_log(app) {
        let b = Browser::new(&app, "198.51.100.50");
        for _ in 0..ACCOUNT_IP.free + 1 {
            b.sign_in("admin", "wrong-password").await;
        }
        b.sign_in("ghost", "wrong-password").await;
        let failed = sign_in_events(&app, "sign_in_failed").await;
        let throttled = sign_in_events(&app, "sign_in_throttled").await;
        assert_eq!(failed.len(), usize::try_from(ACCOUNT_IP.free).unwrap() + 1);
        assert_eq!(throttled.len(), 1);
        let admin_id = app.store.users.by_username("admin").await.unwrap().unwrap().id;
        assert!(throttled[0].user_id == Some(admin_id) && throttled[0].entity_id == "admin");
        let ghost = &failed[0];
        assert_eq!((ghost.user_id, ghost.username.as_str()), (None, "ghost"));
        assert!(ghost.changes.contains("198.51.100.50"), "{}", ghost.changes);
        assert!(!failed.iter().any(|e| e.changes.contains("wrong-password")), "never the password");
        // The administrator sees them on the audit page.
        let admin = app.admin().await;
        let html = admin.get("/audit?entity=sign_in").await.text().await.unwrap();
        assert!(html.contains("登录失败") && html.contains("登录受限"), "{html}");
    }

    async fn health_checks_answer_quickly_while_fifty_sign_ins_hash(app) {
        // Warm up: the first unknown name computes the dummy hash; the probe connects.
        Browser::new(&app, "192.0.2.1").sign_in("warm.up", "x").await;
        let probe = app.client();
        probe.get(app.url("/healthz")).send().await.unwrap();
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..50 {
            let b = Browser::new(&app, &format!("198.51.100.{}", 100 + i));
            let done = done.clone();
            tasks.spawn(async move {
                let status = b.sign_in(&format!("load{i}"), "wrong-password").await.status;
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                status
            });
        }
        // Let the 50 requests arrive and reach the password check.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut times = Vec::new();
        for _ in 0..10 {
            let start = Instant::now();
            let resp = probe.get(app.url("/healthz")).send().await.unwrap();
            assert_eq!(resp.status(), 200);
            times.push(start.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        eprintln!("healthz under load: {times:?}");
        let slowest = times.iter().max().copied().unwrap_or_default();
        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
        assert!(finished < 50, "the sign-ins were still hashing while /healthz was probed");
        let statuses = tasks.join_all().await;
        assert!(statuses.iter().all(|s| *s == FAILED), "{statuses:?}");
        // Hashing on the runtime's two worker threads would hold /healthz for the whole
        // batch (50 hashes: seconds); off the runtime it answers at once. The bound leaves
        // room for a busy CI machine, which has cost tens of milliseconds.
        assert!(slowest < Duration::from_millis(250), "/healthz took {slowest:?} under load");
    }

    async fn a_session_past_its_absolute_lifetime_is_refused_even_if_used_a_minute_ago(app) {
        let sessions = &app.store.sessions;
        let admin = app.store.users.by_username("admin").await.unwrap().unwrap().id;
        let life = Lifetime { idle: chrono::Duration::hours(12), absolute: chrono::Duration::days(7) };
        let t0 = Utc::now().trunc_subsecs(0);
        sessions.create(&new_session("h-abs", admin), t0, life).await.unwrap();
        // Used steadily, every few hours, for a week.
        let mut now = t0;
        while now < t0 + chrono::Duration::days(7) - chrono::Duration::hours(4) {
            now += chrono::Duration::hours(4);
            let s = sessions.find("h-abs", now, life).await.unwrap().expect("alive while in use");
            sessions.touch(&s, now, life).await.unwrap();
        }
        let last_use = t0 + chrono::Duration::days(7) - chrono::Duration::minutes(1);
        let s = sessions.find("h-abs", last_use, life).await.unwrap().expect("alive a minute before the end");
        sessions.touch(&s, last_use, life).await.unwrap();
        let after = t0 + chrono::Duration::days(7);
        assert!(sessions.find("h-abs", after, life).await.unwrap().is_none());
    }

    async fn a_browser_session_ends_at_its_absolute_lifetime_however_active(app) {
        // A session signed in almost seven days ago (the default absolute lifetime), last used
        // then; its cookie is sent as a browser would.
        let admin = app.store.users.by_username("admin").await.unwrap().unwrap().id;
        let token = kehu_domain::secrets::new_token();
        let hash = kehu_domain::secrets::token_digest(&token);
        let life = Lifetime { idle: chrono::Duration::days(30), absolute: chrono::Duration::days(7) };
        let signed_in = Utc::now() - chrono::Duration::days(7) + chrono::Duration::seconds(3);
        app.store.sessions.create(&new_session(&hash, admin), signed_in, life).await.unwrap();
        let cookie = format!("{}={token}", kehu_web::context::SESSION_COOKIE);
        let get = || app.client().get(app.url("/profile")).header("cookie", &cookie).send();
        // In use now (which slides the idle expiry) …
        assert_eq!(get().await.unwrap().status(), 200);
        tokio::time::sleep(Duration::from_millis(3500)).await;
        // … and refused seconds later: the idle slide stopped at the absolute end.
        let resp = get().await.unwrap();
        assert_eq!(resp.status(), 303);
        assert!(resp.headers()["location"].to_str().unwrap().starts_with("/login"));
    }

    async fn the_idle_slide_stops_at_the_absolute_end(app) {
        let sessions = &app.store.sessions;
        let admin = app.store.users.by_username("admin").await.unwrap().unwrap().id;
        let life = Lifetime { idle: chrono::Duration::hours(12), absolute: chrono::Duration::days(7) };
        let t0 = Utc::now().trunc_subsecs(0);
        sessions.create(&new_session("h-slide", admin), t0, life).await.unwrap();
        let s = sessions.find("h-slide", t0, life).await.unwrap().unwrap();
        assert_eq!(s.expires_at, t0 + chrono::Duration::hours(12), "idle expiry at first");
        let late = t0 + chrono::Duration::days(6) + chrono::Duration::hours(20);
        // Idle expiry ended at t0 + 12 h: a late use finds nothing to slide.
        assert!(sessions.find("h-slide", late, life).await.unwrap().is_none());
        let mut now = t0;
        while now < late {
            now = std::cmp::min(now + chrono::Duration::hours(10), late);
            let s = sessions.find("h-slide", now, life).await.unwrap().unwrap();
            sessions.touch(&s, now, life).await.unwrap();
        }
        let s = sessions.find("h-slide", late, life).await.unwrap().unwrap();
        assert_eq!(s.expires_at, t0 + chrono::Duration::days(7), "not {:?}", s.expires_at);
    }

    async fn purge_removes_expired_rows_and_keeps_live_ones(app) {
        let sessions = &app.store.sessions;
        let admin = app.store.users.by_username("admin").await.unwrap().unwrap().id;
        let life = Lifetime { idle: chrono::Duration::hours(12), absolute: chrono::Duration::days(7) };
        let long = Lifetime { idle: chrono::Duration::days(30), absolute: chrono::Duration::days(30) };
        let now = Utc::now().trunc_subsecs(0);
        sessions.create(&new_session("idle-gone", admin), now - chrono::Duration::hours(13), life).await.unwrap();
        // Created under a longer setting: still before its idle expiry, past today's absolute end.
        sessions.create(&new_session("too-old", admin), now - chrono::Duration::days(8), long).await.unwrap();
        sessions.create(&new_session("live", admin), now - chrono::Duration::hours(1), life).await.unwrap();
        assert_eq!(sessions.purge_expired(now, life).await.unwrap(), 2);
        assert!(sessions.find("live", now, life).await.unwrap().is_some());
        assert!(sessions.find("too-old", now, long).await.unwrap().is_none(), "deleted, not just hidden");

        let throttle = &app.store.throttle;
        let p = Policy { free: 3, base: chrono::Duration::seconds(10), cap: chrono::Duration::minutes(1) };
        throttle.attempt(Scope::Ip, "192.0.2.1", &p, now - chrono::Duration::hours(2)).await.unwrap();
        throttle.attempt(Scope::Ip, "192.0.2.2", &p, now - chrono::Duration::minutes(5)).await.unwrap();
        throttle.purge(now).await.unwrap();
        assert_eq!(throttle.count(Scope::Ip, "192.0.2.1").await.unwrap(), 0, "stale counter purged");
        assert_eq!(throttle.count(Scope::Ip, "192.0.2.2").await.unwrap(), 1, "recent counter kept");
    }
}
