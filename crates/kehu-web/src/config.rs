//! Configuration: defaults, then `kehu.toml`, then `KEHU_*` environment variables.
//! Secrets are never printed: `Debug` redacts the database password.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
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
    /// On SIGTERM, how long in-flight requests may take to finish before the process exits.
    pub shutdown_deadline_secs: u64,
    /// A client must send a request's whole header within this time, including the wait for
    /// the next request on a kept-alive connection.
    pub header_read_timeout_secs: u64,
    /// A connection on which nothing is read or written for this long is closed.
    pub idle_timeout_secs: u64,
    /// Open connections served at once; beyond this, new connections wait to be accepted.
    pub max_connections: usize,
    /// The first administrator's password (from `KEHU_ADMIN_PASSWORD` only; never stored).
    #[serde(skip_serializing)]
    pub admin_password: Option<String>,
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
            .field("shutdown_deadline_secs", &self.shutdown_deadline_secs)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
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
            shutdown_deadline_secs: 10,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 1024,
            admin_password: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
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
                "shutdown_deadline_secs",
                "header_read_timeout_secs",
                "idle_timeout_secs",
                "max_connections",
                "admin_password",
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
        if self.session_hours == 0 {
            return Err(ConfigError::Invalid {
                field: "session_hours",
                message: "must be at least 1".into(),
            });
        }
        for (field, value) in [
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

    /// The resolved database URL (always present).
    pub fn db_url(&self) -> String {
        self.database_url().unwrap_or_default()
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
            database_url: Some("postgres://kehu:topsecret@db/kehu".into()),
            admin_password: Some("hunter2hunter2".into()),
            ..Config::default()
        };
        let s = format!("{c:?}");
        assert!(!s.contains("topsecret") && !s.contains("hunter2"), "{s}");
    }
}
