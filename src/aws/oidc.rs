//! Native OIDC: exchange the job's GitHub ID token for short-lived AWS credentials,
//! so no long-lived key is stored anywhere.
//! See <https://docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services>.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sdk_s3::config::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use super::timeouts::Bounds;
use crate::http::HttpClient;

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
    let client = HttpClient::new().map_err(|e| OidcError::TokenRequest(e.to_string()))?;
    let authorization = format!("bearer {request_token}");
    let headers = [
        ("Authorization", authorization.as_str()),
        ("Accept", "application/json; api-version=2.0"),
    ];
    let mut attempt = 1;
    loop {
        let retry = match client.get(&url, &headers, bounds.attempt(0)).await {
            Ok(answer) if answer.status == 429 || answer.status >= 500 => {
                format!("the runner answered HTTP {}", answer.status)
            }
            Ok(answer) if !(200..300).contains(&answer.status) => {
                return Err(OidcError::TokenRequest(format!(
                    "the runner answered HTTP {}",
                    answer.status
                )));
            }
            Ok(answer) => return token_from(&answer.body),
            Err(e) => e.to_string(),
        };
        if attempt >= bounds.max_attempts() {
            return Err(OidcError::TokenRequest(format!(
                "{retry} (attempt {attempt} of {attempt})"
            )));
        }
        tracing::warn!("requesting the GitHub OIDC token: {retry}; retrying");
        tokio::time::sleep(bounds.backoff(attempt)).await;
        attempt += 1;
    }
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
