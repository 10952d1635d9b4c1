//! AWS SDK clients built from the request: region, endpoint, credentials.

pub mod oidc;
mod settings;
pub mod timeouts;

pub use settings::{AwsSettings, StaticCredentials};

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

/// What the runner offers for OIDC (`permissions: id-token: write` sets the first two).
#[derive(Debug, Clone, Default)]
pub struct RunnerIdentity {
    pub request_url: Option<String>,
    pub request_token: Option<String>,
    pub repository: String,
    pub run_id: String,
    pub run_attempt: String,
}

impl RunnerIdentity {
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| get(name).filter(|v| !v.is_empty());
        Self {
            request_url: var("ACTIONS_ID_TOKEN_REQUEST_URL"),
            request_token: var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
            repository: var("GITHUB_REPOSITORY").unwrap_or_else(|| "local".to_owned()),
            run_id: var("GITHUB_RUN_ID").unwrap_or_else(|| "0".to_owned()),
            run_attempt: var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".to_owned()),
        }
    }

    /// Names this run: the same on a re-run of the same attempt's request, different
    /// for another attempt. Off a runner every invocation is its own run.
    pub fn run_identity(&self) -> String {
        if self.run_id == "0" {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("{}/local/{nanos}/{}", self.repository, std::process::id())
        } else {
            format!("{}/{}/{}", self.repository, self.run_id, self.run_attempt)
        }
    }
}

/// Shared SDK configuration. Static keys are used as given (the default chain is not
/// consulted, so no IMDS probe delays the first request); a role is assumed with the
/// job's OIDC token; keys in the environment are used directly; otherwise the
/// standard chain applies. Every credential obtained here is masked on the runner
/// through `mask` (a no-op off a runner).
pub async fn sdk_config(
    settings: &AwsSettings,
    identity: &RunnerIdentity,
    mask: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> Result<SdkConfig, ConnectError> {
    let mut mask = |secret: &str| mask(secret).map_err(ConnectError::Mask);
    let loader = base_loader(settings);
    if let Some(creds) = &settings.credentials {
        return Ok(loader
            .credentials_provider(Credentials::new(
                &creds.access_key_id,
                &creds.secret_access_key,
                creds.session_token.clone(),
                None,
                "mfe-deploy-inputs",
            ))
            .load()
            .await);
    }
    let Some(role) = &settings.role_to_assume else {
        if environment_has_keys(&|name| std::env::var(name).ok()) {
            // The standard chain looks at these first and would use them; building
            // the rest of it (an STS client among others) costs milliseconds of
            // start-up for nothing.
            return Ok(loader
                .credentials_provider(EnvironmentVariableCredentialsProvider::new())
                .load()
                .await);
        }
        return Ok(loader.load().await);
    };
    let (Some(url), Some(request_token)) = (&identity.request_url, &identity.request_token) else {
        return Err(oidc::OidcError::NoPermission.into());
    };
    mask(request_token)?;
    let id_token = oidc::request_id_token(url, request_token, &settings.bounds).await?;
    mask(&id_token)?;
    let unsigned = base_loader(settings).no_credentials().load().await;
    let session = oidc::session_name(&identity.repository, &identity.run_id);
    let creds = oidc::assume_role(&unsigned, role, &session, &id_token).await?;
    mask(creds.access_key_id())?;
    mask(creds.secret_access_key())?;
    if let Some(token) = creds.session_token() {
        mask(token)?;
    }
    tracing::info!("assumed {role} with the job's OIDC token (session {session})");
    Ok(loader.credentials_provider(creds).load().await)
}

/// Why no SDK configuration could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No credentials through OIDC.
    #[error(transparent)]
    Oidc(#[from] oidc::OidcError),
    /// Masking a credential on the runner (writing to standard output) failed.
    #[error("cannot write to standard output: {0}")]
    Mask(std::io::Error),
}

/// Whether the environment holds the keys the standard chain would take first
/// (`aws-actions/configure-aws-credentials` leaves them there).
fn environment_has_keys(get: &dyn Fn(&str) -> Option<String>) -> bool {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .iter()
        .all(|name| get(name).is_some_and(|v| !v.trim().is_empty()))
}

/// The message of an AWS SDK error: `Code: message` when the service sent them, else
/// the whole error chain (transport failures, timeouts).
pub fn error_message<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::ProvideErrorMetadata as _;
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_smithy_types::error::display::DisplayErrorContext(err).to_string(),
    }
}

fn base_loader(settings: &AwsSettings) -> ConfigLoader {
    let bounds = settings.bounds;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new(settings.region.clone()))
        .retry_config(bounds.retry_config())
        .timeout_config(bounds.client_timeouts());
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
}

/// The SDK's hyper client over rustls with the `ring` provider (a smaller binary
/// than the SDK's default, aws-lc-rs; docs/performance.md has the sizes).
fn https_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// S3 client; path-style addressing when an endpoint is given (emulators and most
/// S3-compatible stores do not resolve bucket subdomains).
pub fn s3_client(config: &SdkConfig, settings: &AwsSettings) -> aws_sdk_s3::Client {
    // NOTE: every file body already carries a digest S3 verifies (a whole file the
    // scan's SHA-256 as its checksum, a part its Content-MD5); the SDK's default
    // CRC32 would read each body again and frame it as aws-chunked.
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(settings.endpoint_url.is_some())
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_keys_count_only_when_both_are_set() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let both = env(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ]);
        assert!(environment_has_keys(&both));
        let one = env(&[("AWS_ACCESS_KEY_ID", "AKIA1")]);
        assert!(!environment_has_keys(&one));
        let blank = env(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", " "),
        ]);
        assert!(!environment_has_keys(&blank));
    }
}
