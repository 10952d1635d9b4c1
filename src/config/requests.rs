//! The `requests:` section: how long one AWS request may take before it is retried,
//! and how often it is tried. Every S3, CloudFront and STS call and the OIDC token
//! fetch is bounded by these numbers.

use std::path::Path;

use serde::Deserialize;

use super::ConfigError;

/// Bounds on every AWS request. All durations are whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RequestsConfig {
    /// Opening a connection (TCP and TLS).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: u64,
    /// One attempt of a request that sends no body: from the first byte sent to the
    /// last byte of the answer.
    #[serde(default = "default_attempt_timeout")]
    pub attempt_timeout: u64,
    /// Added to an attempt's bound for each MiB (started) it sends, so a large upload
    /// on a slow link is not cut short (8 s per MiB is a floor of 128 KiB/s).
    #[serde(default = "default_timeout_per_mib")]
    pub timeout_per_mib: u64,
    /// Attempts per request, the first included (the SDK's standard retry: exponential
    /// backoff with jitter, at most 20 s between attempts).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// A multipart upload under the module's prefix that was started this many
    /// seconds ago or more and never completed is one an interrupted run left: the
    /// next deploy aborts it. (A running deploy of the same module is queued by the
    /// workflows' `concurrency`, so none of its uploads is that old.)
    #[serde(default = "default_abort_incomplete_after")]
    pub abort_incomplete_after: u64,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            connect_timeout: default_connect_timeout(),
            attempt_timeout: default_attempt_timeout(),
            timeout_per_mib: default_timeout_per_mib(),
            max_attempts: default_max_attempts(),
            abort_incomplete_after: default_abort_incomplete_after(),
        }
    }
}

fn default_connect_timeout() -> u64 {
    5
}

fn default_attempt_timeout() -> u64 {
    30
}

fn default_timeout_per_mib() -> u64 {
    8
}

fn default_max_attempts() -> u32 {
    5
}

fn default_abort_incomplete_after() -> u64 {
    3_600
}

/// The most attempts the config may ask for: more would only delay the failure.
pub const MAX_ATTEMPTS: u32 = 10;

impl RequestsConfig {
    pub(super) fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key: format!("requests.{key}"),
            message,
        };
        for (key, value) in [
            ("connect-timeout", self.connect_timeout),
            ("attempt-timeout", self.attempt_timeout),
        ] {
            if !(1..=3600).contains(&value) {
                return Err(invalid(
                    key,
                    "must be a number of seconds from 1 to 3600".to_owned(),
                ));
            }
        }
        if self.timeout_per_mib > 600 {
            return Err(invalid(
                "timeout-per-mib",
                "must be a number of seconds from 0 to 600".to_owned(),
            ));
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            return Err(invalid(
                "max-attempts",
                format!("must be from 1 to {MAX_ATTEMPTS} (1 means no retry)"),
            ));
        }
        Ok(())
    }
}
