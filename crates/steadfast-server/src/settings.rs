//! The server's settings: the defaults, then a `steadfast.toml`, then `STEADFAST_*` environment
//! variables, then the command line's flags, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// What the server listens on and how much it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The address to listen on; loopback unless TLS is configured.
    pub listen: SocketAddr,
    /// The largest request body taken (an import's file travels as the body).
    pub body_limit_bytes: usize,
    /// How long a request may take before it is answered 408 and dropped.
    pub request_timeout: Duration,
    /// How long in-flight requests are given to finish once a stop is asked for.
    pub shutdown_grace: Duration,
    /// The certificate and key to serve TLS with, when set.
    pub tls: Option<Tls>,
}

/// A certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 256 * 1024 * 1024,
            request_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(30),
            tls: None,
        }
    }
}

/// The settings a file, the environment or the flags may give, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub listen: Option<SocketAddr>,
    pub body_limit_bytes: Option<usize>,
    pub request_timeout_seconds: Option<u64>,
    pub shutdown_grace_seconds: Option<u64>,
    pub tls: Option<Tls>,
}

/// Why the settings could not be taken: the source, the key and the reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{variable}: `{value}` {reason}")]
    Environment {
        variable: String,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    Refused(String),
}

/// The environment variables read, each with the key it sets.
pub const ENVIRONMENT: [&str; 6] = [
    "STEADFAST_LISTEN",
    "STEADFAST_BODY_LIMIT_BYTES",
    "STEADFAST_REQUEST_TIMEOUT_SECONDS",
    "STEADFAST_SHUTDOWN_GRACE_SECONDS",
    "STEADFAST_TLS_CERT",
    "STEADFAST_TLS_KEY",
];

impl Layer {
    /// The layer a settings file gives; `name` is how the file is named in errors.
    pub fn from_toml(name: &str, text: &str) -> Result<Layer, SettingsError> {
        toml::from_str(text).map_err(|e| SettingsError::File {
            file: name.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
    }

    /// The layer `path` gives, or none when `required` is false and there is no such file.
    pub fn from_file(path: &Path, required: bool) -> Result<Layer, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Layer::from_toml(&path.display().to_string(), &text),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(Layer::default()),
            Err(e) => Err(SettingsError::File {
                file: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// The layer the environment gives (`var` looks a variable up; see [`ENVIRONMENT`]).
    pub fn from_environment(var: impl Fn(&str) -> Option<String>) -> Result<Layer, SettingsError> {
        fn parsed<T: std::str::FromStr>(
            variable: &str,
            value: Option<String>,
            what: &str,
        ) -> Result<Option<T>, SettingsError> {
            value
                .map(|v| {
                    v.trim().parse().map_err(|_| SettingsError::Environment {
                        variable: variable.to_owned(),
                        reason: format!("is not {what}"),
                        value: v,
                    })
                })
                .transpose()
        }
        let [listen, body, timeout, grace, cert, key] = ENVIRONMENT;
        let tls = match (var(cert), var(key)) {
            (Some(cert), Some(key)) => Some(Tls {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            (Some(value), None) | (None, Some(value)) => {
                return Err(SettingsError::Environment {
                    variable: if var(cert).is_some() { cert } else { key }.to_owned(),
                    value,
                    reason: format!("needs {cert} and {key} both set"),
                });
            }
        };
        Ok(Layer {
            listen: parsed(listen, var(listen), "an address and port (127.0.0.1:8080)")?,
            body_limit_bytes: parsed(body, var(body), "a number of bytes")?,
            request_timeout_seconds: parsed(timeout, var(timeout), "a number of seconds")?,
            shutdown_grace_seconds: parsed(grace, var(grace), "a number of seconds")?,
            tls,
        })
    }
}

impl Settings {
    /// These settings with `layer`'s over them.
    pub fn with(mut self, layer: Layer) -> Settings {
        if let Some(listen) = layer.listen {
            self.listen = listen;
        }
        if let Some(limit) = layer.body_limit_bytes {
            self.body_limit_bytes = limit;
        }
        if let Some(seconds) = layer.request_timeout_seconds {
            self.request_timeout = Duration::from_secs(seconds);
        }
        if let Some(seconds) = layer.shutdown_grace_seconds {
            self.shutdown_grace = Duration::from_secs(seconds);
        }
        if layer.tls.is_some() {
            self.tls = layer.tls;
        }
        self
    }

    /// Refuses what the server must not do: listen beyond this machine without TLS, take no
    /// body at all, or give a request no time.
    pub fn checked(self) -> Result<Settings, SettingsError> {
        if !self.listen.ip().is_loopback() && self.tls.is_none() {
            return Err(SettingsError::Refused(format!(
                "listen: {} is not a loopback address; serving beyond this machine needs TLS (tls.cert and tls.key)",
                self.listen
            )));
        }
        if self.tls.is_some() {
            return Err(SettingsError::Refused(
                "tls: this build does not terminate TLS yet; listen on loopback behind a TLS proxy"
                    .to_owned(),
            ));
        }
        if self.body_limit_bytes == 0 {
            return Err(SettingsError::Refused(
                "body_limit_bytes: must be at least 1".to_owned(),
            ));
        }
        if self.request_timeout.is_zero() {
            return Err(SettingsError::Refused(
                "request_timeout_seconds: must be at least 1".to_owned(),
            ));
        }
        Ok(self)
    }
}

/// A commented settings file with every key at its default.
pub const EXAMPLE: &str = r#"# steadfast.toml: the settings of `steadfast serve`.
# Read from the working directory (or the file `--config` names); each key can also come from
# a STEADFAST_* environment variable, and `--listen` overrides all of them.

# Where the API listens. Anything but a loopback address needs TLS.   (STEADFAST_LISTEN)
listen = "127.0.0.1:8080"

# The largest request body taken, in bytes: an imported file travels as the body.
# (STEADFAST_BODY_LIMIT_BYTES)
body_limit_bytes = 268435456

# A request still running after this many seconds is answered 408 and dropped.
# (STEADFAST_REQUEST_TIMEOUT_SECONDS)
request_timeout_seconds = 120

# On SIGTERM or Ctrl-C the server stops taking requests and gives those in flight this long.
# (STEADFAST_SHUTDOWN_GRACE_SECONDS)
shutdown_grace_seconds = 30

# TLS, to listen beyond loopback: a PEM certificate chain and its key.
# (STEADFAST_TLS_CERT, STEADFAST_TLS_KEY)
# [tls]
# cert = "/etc/steadfast/cert.pem"
# key = "/etc/steadfast/key.pem"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_reads_back_as_the_defaults() {
        let layer = Layer::from_toml("example", EXAMPLE).expect("example");
        assert_eq!(Settings::default().with(layer), Settings::default());
    }

    #[test]
    fn each_layer_overrides_the_one_before() {
        let file = Layer::from_toml(
            "steadfast.toml",
            "listen = \"127.0.0.1:9000\"\nrequest_timeout_seconds = 5\n",
        )
        .expect("file");
        let env = Layer::from_environment(|v| {
            (v == "STEADFAST_LISTEN").then(|| "127.0.0.1:9001".to_owned())
        })
        .expect("env");
        let flags = Layer {
            body_limit_bytes: Some(10),
            ..Layer::default()
        };
        let settings = Settings::default().with(file).with(env).with(flags);
        assert_eq!(settings.listen, "127.0.0.1:9001".parse().expect("addr"));
        assert_eq!(settings.request_timeout, Duration::from_secs(5));
        assert_eq!(settings.body_limit_bytes, 10);
        assert_eq!(settings.shutdown_grace, Duration::from_secs(30));
    }

    #[test]
    fn bad_settings_name_their_source_key_and_reason() {
        let err = Layer::from_toml("steadfast.toml", "listen = \"everywhere\"\n").expect_err("bad");
        let text = err.to_string();
        assert!(text.starts_with("steadfast.toml: "), "{text}");
        assert!(text.contains("listen"), "{text}");
        let err = Layer::from_toml("steadfast.toml", "port = 1\n").expect_err("unknown key");
        assert!(err.to_string().contains("port"), "{err}");
        let err = Layer::from_environment(|v| {
            (v == "STEADFAST_REQUEST_TIMEOUT_SECONDS").then(|| "soon".to_owned())
        })
        .expect_err("bad env");
        assert_eq!(
            err.to_string(),
            "STEADFAST_REQUEST_TIMEOUT_SECONDS: `soon` is not a number of seconds"
        );
        let err =
            Layer::from_environment(|v| (v == "STEADFAST_TLS_CERT").then(|| "c.pem".to_owned()))
                .expect_err("half of tls");
        assert!(err.to_string().contains("STEADFAST_TLS_KEY"), "{err}");
    }

    #[test]
    fn only_loopback_without_tls() {
        let open = Settings::default().with(Layer {
            listen: Some("0.0.0.0:8080".parse().expect("addr")),
            ..Layer::default()
        });
        let err = open.checked().expect_err("refused");
        assert!(err.to_string().contains("needs TLS"), "{err}");
        assert!(Settings::default().checked().is_ok());
        let v6 = Settings::default().with(Layer {
            listen: Some("[::1]:8080".parse().expect("addr")),
            ..Layer::default()
        });
        assert!(v6.checked().is_ok());
    }
}
