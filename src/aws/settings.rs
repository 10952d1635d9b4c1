//! Where and how to reach AWS: region, endpoint, credentials, bounds.

use std::fmt;

use super::timeouts::Bounds;

/// Static credentials; `Debug` never shows the secret parts.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials").finish_non_exhaustive()
    }
}

/// Where and how to reach AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: String,
    pub endpoint_url: Option<String>,
    pub credentials: Option<StaticCredentials>,
    /// IAM role assumed with the job's OIDC token.
    pub role_to_assume: Option<String>,
    /// Timeouts and attempts of every request (config `requests:`).
    pub bounds: Bounds,
}
