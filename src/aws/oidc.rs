//! Native OIDC: exchange the job's GitHub ID token for short-lived AWS credentials,
//! so no long-lived key is stored anywhere.
//! See <https://docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services>.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sdk_s3::config::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::timeouts::Bounds;

/// The audience AWS STS expects in GitHub's ID token.
pub const AUDIENCE: &str = "sts.amazonaws.com";

/// Why no credentials could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The job may not request an ID token.
    #[error(
        "`role-to-assume` is set, but this job cannot request a GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set): add `permissions: id-token: write` to the job, or pass static credentials instead of a role"
    )]
    NoPermission,
    /// The runner's token endpoint failed.
    #[error("requesting the GitHub OIDC token failed: {0}")]
    TokenRequest(String),
    /// STS refused the token for this role.
    #[error(
        "AWS STS refused to let this job assume {role}: {message}. Check the role's trust policy: its principal must be the GitHub OIDC provider, `token.actions.githubusercontent.com:aud` must be `sts.amazonaws.com`, and `token.actions.githubusercontent.com:sub` must match this repository and ref or environment"
    )]
    Denied { role: String, message: String },
    /// Another STS failure.
    #[error("AssumeRoleWithWebIdentity for {role} failed: {message}")]
    Sts { role: String, message: String },
}

impl OidcError {
    /// Problems the user fixes in the workflow or IAM rather than by retrying.
    pub fn is_setup_problem(&self) -> bool {
        matches!(self, Self::NoPermission | Self::Denied { .. })
    }
}

/// Requests the job's ID token for the STS audience from the runner. Each attempt,
/// the answer's body included, is bounded like an AWS request; transport failures,
/// timeouts and server errors are retried up to the configured attempts.
pub async fn request_id_token(
    request_url: &str,
    request_token: &str,
    bounds: &Bounds,
) -> Result<String, OidcError> {
    let separator = if request_url.contains('?') { '&' } else { '?' };
    let url = format!("{request_url}{separator}audience={AUDIENCE}");
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| OidcError::TokenRequest(format!("no TLS root certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let limit = bounds.attempt(0);
    let mut attempt = 1;
    loop {
        let outcome = match tokio::time::timeout(limit, fetch(&client, &url, request_token)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Fetch::Retry(format!(
                "no answer within {}s",
                limit.as_secs()
            ))),
        };
        match outcome {
            Ok(body) => return token_from(&body),
            Err(Fetch::Fail(message)) => return Err(OidcError::TokenRequest(message)),
            Err(Fetch::Retry(message)) if attempt >= bounds.max_attempts() => {
                return Err(OidcError::TokenRequest(format!(
                    "{message} (attempt {attempt} of {attempt})"
                )));
            }
            Err(Fetch::Retry(message)) => {
                tracing::warn!("requesting the GitHub OIDC token: {message}; retrying");
                tokio::time::sleep(bounds.backoff(attempt)).await;
                attempt += 1;
            }
        }
    }
}

/// Why one attempt at the token failed.
enum Fetch {
    /// Worth another attempt: the network, a timeout, a server error.
    Retry(String),
    /// The runner refused: another attempt gets the same answer.
    Fail(String),
}

async fn fetch<C>(
    client: &Client<C, Empty<Bytes>>,
    url: &str,
    request_token: &str,
) -> Result<Bytes, Fetch>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let request = http::Request::get(url)
        .header("Authorization", format!("bearer {request_token}"))
        .header("Accept", "application/json; api-version=2.0")
        .header(
            "User-Agent",
            concat!("mfe-deploy/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::new())
        .map_err(|e| Fetch::Fail(e.to_string()))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| Fetch::Retry(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| Fetch::Retry(e.to_string()))?
        .to_bytes();
    if status.is_server_error() || status == http::StatusCode::TOO_MANY_REQUESTS {
        return Err(Fetch::Retry(format!("the runner answered HTTP {status}")));
    }
    if !status.is_success() {
        return Err(Fetch::Fail(format!("the runner answered HTTP {status}")));
    }
    Ok(body)
}

fn token_from(body: &[u8]) -> Result<String, OidcError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| OidcError::TokenRequest("the answer is not JSON".to_owned()))?;
    value["value"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| OidcError::TokenRequest("the answer has no `value`".to_owned()))
}

/// Exchanges the ID token for credentials of `role`. The request is unsigned, so
/// `config` needs no credentials.
pub async fn assume_role(
    config: &SdkConfig,
    role: &str,
    session_name: &str,
    id_token: &str,
) -> Result<Credentials, OidcError> {
    let sts = aws_sdk_sts::Client::new(config);
    let out = sts
        .assume_role_with_web_identity()
        .role_arn(role)
        .role_session_name(session_name)
        .web_identity_token(id_token)
        .send()
        .await
        .map_err(|e| {
            let message = crate::aws::error_message(&e);
            let denied = matches!(
                e.code(),
                Some("AccessDenied" | "InvalidIdentityToken" | "ExpiredTokenException")
            ) || matches!(&e, SdkError::ServiceError(s) if s.raw().status().as_u16() == 403);
            let role = role.to_owned();
            if denied {
                OidcError::Denied { role, message }
            } else {
                OidcError::Sts { role, message }
            }
        })?;
    let creds = out.credentials().ok_or_else(|| OidcError::Sts {
        role: role.to_owned(),
        message: "the answer carried no credentials".to_owned(),
    })?;
    let expiry = SystemTime::try_from(*creds.expiration()).ok();
    Ok(Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        expiry,
        "mfe-deploy-oidc",
    ))
}

/// `RoleSessionName` from the repository and run, within STS's rules
/// (2–64 characters of `[\w+=,.@-]`), keeping the run id when it must shorten.
pub fn session_name(repository: &str, run_id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                    c
                } else {
                    '.'
                }
            })
            .collect()
    };
    let tail = format!("@{}", clean(run_id));
    let head: String = clean(&format!("mfe-deploy.{repository}"))
        .chars()
        .take(64 - tail.len().min(60))
        .collect();
    format!("{head}{tail}").chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::session_name;

    #[test]
    fn session_names_name_repo_and_run_within_sts_rules() {
        assert_eq!(
            session_name("acme/storefront", "7301234567"),
            "mfe-deploy.acme.storefront@7301234567"
        );
        let long = session_name(&format!("acme/{}", "x".repeat(100)), "7301234567");
        assert_eq!(long.len(), 64);
        assert!(long.ends_with("@7301234567"));
        assert!(
            session_name("a b/ü", "1")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
        );
    }
}
