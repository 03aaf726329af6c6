//! Configuration: defaults, then `kehu.toml`, then `KEHU_*` environment variables.
//! Secrets are never printed: `Debug` redacts the database password and the tokens.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// `sqlite://PATH` or `postgres://…`; default: `sqlite://<data_dir>/kehu.db`.
    pub database_url: Option<String>,
    /// Where the embedded database and backups live.
    pub data_dir: PathBuf,
    /// `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter.
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Send cookies only over HTTPS (set behind a TLS proxy).
    pub secure_cookies: bool,
    /// Idle lifetime of a sign-in session, in hours.
    pub session_hours: u32,
    /// SQLite durability: `full` syncs every commit to disk (no acknowledged write is lost on
    /// power loss); `normal` is faster but a power cut may lose the last commits.
    pub sqlite_synchronous: String,
    /// Absolute lifetime of a sign-in session, in days, however active it is.
    pub session_absolute_days: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (IPs or CIDRs, comma-separated).
    pub trusted_proxies: TrustedProxies,
    /// On SIGTERM, how long in-flight requests may take to finish before the process exits.
    pub shutdown_deadline_secs: u64,
    /// A client must send a request's whole header within this time, including the wait for
    /// the next request on a kept-alive connection.
    pub header_read_timeout_secs: u64,
    /// A connection on which nothing is read or written for this long is closed.
    pub idle_timeout_secs: u64,
    /// Open connections served at once; beyond this, new connections wait to be accepted.
    pub max_connections: usize,
    /// Database connections read with at once; 0: twice the cores, 4 to 16
    /// (`kehu_store::db::default_pool_size`).
    pub database_pool: u32,
    /// The first administrator's password (from `KEHU_ADMIN_PASSWORD` only; never stored).
    #[serde(skip_serializing)]
    pub admin_password: Option<String>,
    /// When set, `/metrics` answers only `Authorization: Bearer <metrics_token>`.
    #[serde(skip_serializing)]
    pub metrics_token: Option<String>,
    /// A request still unanswered after this many seconds gets a timeout error (one with a
    /// body: plus the time it takes to arrive at a slow line's pace, see `guard::timeout`).
    pub request_timeout_secs: u64,
    /// The IANA time zone every page shows times in, in both languages (e.g. `Asia/Shanghai`).
    pub time_zone: TimeZone,
    /// The largest file the import page accepts, in MiB; a larger upload is refused with 413
    /// before it is stored.
    pub import_max_mb: u64,
    /// How often this instance looks for due scheduled jobs, in seconds; 0: never (an
    /// instance that only serves pages; another one runs the jobs).
    pub job_tick_secs: u64,
    /// Scheduled jobs' schedules by name (`loss-scan = "0 3 * * *"`, five-field cron in
    /// `time_zone`), instead of the module's, until an administrator sets one on the jobs
    /// page.
    pub job_schedules: std::collections::BTreeMap<String, String>,
    /// The loss scan's threshold: months without an order that make a customer at risk
    /// (1–120), until an administrator sets another on the loss settings page.
    pub loss_threshold_months: i64,
    /// Whether the loss scan judges customers that never ordered from their creation date
    /// (else it leaves them alone), until an administrator sets otherwise.
    pub loss_include_never_ordered: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &self.database_url().map(|u| kehu_store::db::redact_url(&u)),
            )
            .field("data_dir", &self.data_dir)
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_hours", &self.session_hours)
            .field("sqlite_synchronous", &self.sqlite_synchronous)
            .field("session_absolute_days", &self.session_absolute_days)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("shutdown_deadline_secs", &self.shutdown_deadline_secs)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field("database_pool", &self.database_pool)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("time_zone", &self.time_zone)
            .field("import_max_mb", &self.import_max_mb)
            .field("job_tick_secs", &self.job_tick_secs)
            .field("job_schedules", &self.job_schedules)
            .field("loss_threshold_months", &self.loss_threshold_months)
            .field(
                "loss_include_never_ordered",
                &self.loss_include_never_ordered,
            )
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: None,
            data_dir: PathBuf::from("./kehu-data"),
            log_level: "info".into(),
            log_format: "text".into(),
            secure_cookies: false,
            session_hours: 12,
            sqlite_synchronous: "full".into(),
            session_absolute_days: 7,
            trusted_proxies: TrustedProxies::default(),
            shutdown_deadline_secs: 10,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 1024,
            database_pool: 0,
            admin_password: None,
            metrics_token: None,
            request_timeout_secs: 30,
            time_zone: TimeZone::default(),
            import_max_mb: 512,
            job_tick_secs: 20,
            job_schedules: std::collections::BTreeMap::new(),
            loss_threshold_months: 6,
            loss_include_never_ordered: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not a `source`: the message already holds figment's, and `{:#}` would repeat it.
    #[error("configuration: {0}")]
    Load(Box<figment::Error>),
    #[error("configuration: {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl From<Box<figment::Error>> for ConfigError {
    fn from(e: Box<figment::Error>) -> Self {
        ConfigError::Load(e)
    }
}

impl Config {
    /// Loads defaults → `file` (if it exists) → `KEHU_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let path = file.map_or_else(|| PathBuf::from("kehu.toml"), Path::to_path_buf);
        if path.exists() || file.is_some() {
            fig = fig.merge(Toml::file_exact(path));
        }
        // Only the settings: other KEHU_* variables (KEHU_CONFIG, test settings) are not config.
        let c: Config = fig
            .merge(Env::prefixed("KEHU_").only(&[
                "listen",
                "database_url",
                "data_dir",
                "log_level",
                "log_format",
                "secure_cookies",
                "session_hours",
                "sqlite_synchronous",
                "session_absolute_days",
                "trusted_proxies",
                "shutdown_deadline_secs",
                "header_read_timeout_secs",
                "idle_timeout_secs",
                "max_connections",
                "database_pool",
                "admin_password",
                "metrics_token",
                "request_timeout_secs",
                "time_zone",
                "import_max_mb",
                "job_tick_secs",
                "job_schedules",
                "loss_threshold_months",
                "loss_include_never_ordered",
            ]))
            .extract()
            .map_err(Box::new)?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if !["text", "json"].contains(&self.log_format.as_str()) {
            return Err(ConfigError::Invalid {
                field: "log_format",
                message: format!("{:?} is not one of text, json", self.log_format),
            });
        }
        if !["full", "normal"].contains(&self.sqlite_synchronous.as_str()) {
            return Err(ConfigError::Invalid {
                field: "sqlite_synchronous",
                message: format!("{:?} is not one of full, normal", self.sqlite_synchronous),
            });
        }
        if !(1..=120).contains(&self.loss_threshold_months) {
            return Err(ConfigError::Invalid {
                field: "loss_threshold_months",
                message: format!(
                    "{} is not a number of months from 1 to 120",
                    self.loss_threshold_months
                ),
            });
        }
        for (job, schedule) in &self.job_schedules {
            if kehu_domain::schedule::Schedule::parse("schedule", schedule).is_err() {
                return Err(ConfigError::Invalid {
                    field: "job_schedules",
                    message: format!(
                        "{job}: {schedule:?} is not a five-field cron schedule like \"0 2 * * *\""
                    ),
                });
            }
        }
        if self.session_hours == 0 {
            return Err(ConfigError::Invalid {
                field: "session_hours",
                message: "must be at least 1".into(),
            });
        }
        for (field, value) in [
            ("request_timeout_secs", self.request_timeout_secs),
            (
                "session_absolute_days",
                u64::from(self.session_absolute_days),
            ),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("max_connections", self.max_connections as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    field,
                    message: "must be at least 1".into(),
                });
            }
        }
        if let Some(url) = self.database_url()
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres:")
                || url.starts_with("postgresql:"))
        {
            return Err(ConfigError::Invalid {
                field: "database_url",
                message: format!(
                    "unsupported scheme in {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
                    kehu_store::db::redact_url(&url)
                ),
            });
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| ConfigError::Invalid {
            field: "listen",
            message: format!("{:?} is not an address like 127.0.0.1:8080", self.listen),
        })
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> Option<String> {
        match &self.database_url {
            Some(u) if !u.trim().is_empty() => Some(u.trim().to_owned()),
            _ => Some(format!(
                "sqlite://{}",
                self.data_dir.join("kehu.db").display()
            )),
        }
    }

    /// How the database is opened.
    pub fn db_options(&self) -> kehu_store::db::DbOptions {
        kehu_store::db::DbOptions {
            sqlite_full_sync: self.sqlite_synchronous == "full",
            pool_size: (self.database_pool > 0).then_some(self.database_pool),
        }
    }

    /// How long sign-in sessions live (idle and absolute).
    pub fn session_lifetime(&self) -> kehu_store::sessions::Lifetime {
        kehu_store::sessions::Lifetime {
            idle: chrono::Duration::hours(i64::from(self.session_hours)),
            absolute: chrono::Duration::days(i64::from(self.session_absolute_days)),
        }
    }

    /// The resolved database URL (always present).
    pub fn db_url(&self) -> String {
        self.database_url().unwrap_or_default()
    }

    /// The token `/metrics` requires, if any (an empty setting means none).
    pub fn metrics_token(&self) -> Option<&str> {
        self.metrics_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// Settings that work but are probably a mistake, for `kehu check-config` to print.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        let exposed = self.listen_addr().is_ok_and(|a| !a.ip().is_loopback());
        if exposed && !self.secure_cookies {
            w.push(format!(
                "secure_cookies is off while listening on {}: sign-in cookies would travel \
                 unencrypted. Serve kehu behind HTTPS and set KEHU_SECURE_COOKIES=true.",
                self.listen
            ));
        }
        w
    }
}

/// The time zone times are shown in: an IANA name (`Asia/Shanghai`, `Europe/Berlin`, `UTC`),
/// checked when the configuration loads, so an unknown name stops kehu at startup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl Default for TimeZone {
    /// China Standard Time (北京时间).
    fn default() -> Self {
        Self(chrono_tz::Tz::Asia__Shanghai)
    }
}

impl TimeZone {
    pub fn parse(name: &str) -> Result<Self, String> {
        let name = name.trim();
        name.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            format!(
                "{name:?} is not a known time zone: use an IANA name such as Asia/Shanghai, \
                 Asia/Hong_Kong, Europe/Berlin or UTC (names are case-sensitive)"
            )
        })
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    /// The IANA name, e.g. `Asia/Shanghai`.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        TimeZone::parse(&s)
    }
}

impl From<TimeZone> for String {
    fn from(z: TimeZone) -> String {
        z.name().to_owned()
    }
}

/// The networks of trusted reverse proxies. Written as one comma-separated string
/// (`KEHU_TRUSTED_PROXIES=10.0.0.1,192.168.0.0/16`) or, in `kehu.toml`, also as a list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProxyList", into = "String")]
pub struct TrustedProxies(pub Vec<IpNet>);

#[derive(Deserialize)]
#[serde(untagged)]
enum ProxyList {
    One(String),
    Many(Vec<String>),
}

impl TryFrom<ProxyList> for TrustedProxies {
    type Error = String;
    fn try_from(v: ProxyList) -> Result<Self, String> {
        let text = match v {
            ProxyList::One(s) => s,
            ProxyList::Many(v) => v.join(","),
        };
        TrustedProxies::parse(&text)
    }
}

impl From<TrustedProxies> for String {
    fn from(t: TrustedProxies) -> String {
        t.0.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl TrustedProxies {
    /// Parses `"10.0.0.1, 10.1.0.0/16"`; a bare address is a network of one.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => part
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| format!("{part:?} is not an IP address or CIDR network"))?,
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_database_is_sqlite_in_the_data_dir() {
        let c = Config::default();
        assert_eq!(c.db_url(), "sqlite://./kehu-data/kehu.db");
        assert!(c.validate().is_ok());
    }

    #[test]
    fn an_unknown_scheme_or_bad_address_is_a_clear_error() {
        let c = Config {
            database_url: Some("mysql://root:pw@h/x".into()),
            ..Config::default()
        };
        let msg = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("database_url") && msg.contains("sqlite://") && !msg.contains("pw"));
        let c = Config {
            listen: "nowhere".into(),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn the_database_pool_is_sized_by_the_cores_unless_set() {
        let auto = Config::default().db_options().pool_size;
        assert_eq!(auto, None);
        let n = kehu_store::db::default_pool_size();
        assert!((4..=16).contains(&n), "{n}");
        let set = Config {
            database_pool: 6,
            ..Config::default()
        };
        assert_eq!(set.db_options().pool_size, Some(6));
    }

    #[test]
    fn a_loss_threshold_is_one_to_a_hundred_and_twenty_months() {
        for months in [0, -1, 121] {
            let c = Config {
                loss_threshold_months: months,
                ..Config::default()
            };
            let e = c
                .validate()
                .map(|()| String::new())
                .unwrap_or_else(|e| e.to_string());
            assert!(e.contains("loss_threshold_months"), "{months}: {e:?}");
        }
        let c = Config {
            loss_threshold_months: 12,
            ..Config::default()
        };
        assert!(c.validate().is_ok());
    }

    #[test]
    fn zero_timeouts_or_connection_limit_are_refused() {
        for zero in [
            |c: &mut Config| c.header_read_timeout_secs = 0,
            |c: &mut Config| c.idle_timeout_secs = 0,
            |c: &mut Config| c.max_connections = 0,
        ] {
            let mut c = Config::default();
            zero(&mut c);
            assert!(c.validate().is_err(), "{c:?}");
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = Config {
            database_url: Some("postgres://kehu:topsecret@db/kehu?sslpassword=keypass".into()),
            admin_password: Some("hunter2hunter2".into()),
            metrics_token: Some("scrape-me-please".into()),
            ..Config::default()
        };
        let s = format!("{c:?}");
        for secret in ["topsecret", "keypass", "hunter2", "scrape-me"] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
    }

    #[test]
    fn insecure_cookies_on_a_public_address_are_warned_about() {
        let public = Config {
            listen: "0.0.0.0:8080".into(),
            ..Config::default()
        };
        let w = public.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("KEHU_SECURE_COOKIES=true"), "{w:?}");
        let behind_https = Config {
            secure_cookies: true,
            ..public
        };
        assert!(behind_https.warnings().is_empty());
        assert!(Config::default().warnings().is_empty());
        let loopback_v6 = Config {
            listen: "[::1]:8080".into(),
            ..Config::default()
        };
        assert!(loopback_v6.warnings().is_empty());
    }

    #[test]
    fn a_zero_timeout_is_refused_and_an_empty_metrics_token_means_none() {
        let c = Config {
            request_timeout_secs: 0,
            ..Config::default()
        };
        assert!(c.validate().is_err());
        let c = Config {
            metrics_token: Some("  ".into()),
            ..Config::default()
        };
        assert_eq!(c.metrics_token(), None);
    }

    #[test]
    fn trusted_proxies_load_from_a_string_or_a_list() {
        let dir = std::env::temp_dir().join(format!("kehu-config-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        for (i, line) in [
            "trusted_proxies = \"10.0.0.1, 172.16.0.0/12\"",
            "trusted_proxies = [\"10.0.0.1\", \"172.16.0.0/12\"]",
        ]
        .iter()
        .enumerate()
        {
            let file = dir.join(format!("kehu-{i}.toml"));
            let _ = std::fs::write(&file, format!("{line}\nsession_absolute_days = 3\n"));
            let c = Config::load(Some(&file));
            let loaded = c.as_ref().is_ok_and(|c| {
                c.trusted_proxies.contains([172, 20, 1, 1].into()) && c.session_absolute_days == 3
            });
            assert!(loaded, "{line}: {c:?}");
        }
        let file = dir.join("kehu-bad.toml");
        let _ = std::fs::write(&file, "trusted_proxies = \"10.0.0.999\"\n");
        let err = Config::load(Some(&file)).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("10.0.0.999"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_time_zone_defaults_to_beijing_and_an_unknown_one_stops_loading() {
        assert_eq!(Config::default().time_zone.name(), "Asia/Shanghai");
        assert_eq!(
            TimeZone::parse(" Europe/Berlin ").map(TimeZone::name),
            Ok("Europe/Berlin")
        );
        let dir = std::env::temp_dir().join(format!("kehu-tz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("kehu.toml");
        let _ = std::fs::write(&file, "time_zone = \"Asia/Tokyo\"\n");
        let c = Config::load(Some(&file));
        assert_eq!(c.ok().map(|c| c.time_zone.name()), Some("Asia/Tokyo"));
        let _ = std::fs::write(&file, "time_zone = \"Asia/Beijing\"\n");
        let err = Config::load(Some(&file))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("time_zone") && err.contains("Asia/Beijing") && err.contains("IANA"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let t = TrustedProxies::parse("10.0.0.1, 192.168.0.0/16,::1").unwrap_or_default();
        assert!(t.contains([10, 0, 0, 1].into()));
        assert!(!t.contains([10, 0, 0, 2].into()));
        assert!(t.contains([192, 168, 7, 9].into()));
        assert!(t.contains("::1".parse().unwrap_or([0, 0, 0, 0].into())));
        assert!(TrustedProxies::parse("10.0.0.300").is_err());
        assert_eq!(String::from(t), "10.0.0.1/32,192.168.0.0/16,::1/128");
    }
}
