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
/// The issuer of GitHub Actions ID tokens: the IAM OIDC identity provider's URL.
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";

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
        "AWS STS refused to let this job assume {role}: {message}. The token's claims that trust policies match on: {claims}. Most likely: {likely}. The trust policy's principal must be the GitHub OIDC provider, and its `token.actions.githubusercontent.com:aud` and `token.actions.githubusercontent.com:sub` conditions must match these claims"
    )]
    Denied {
        role: String,
        message: String,
        /// `name=value` of the claims trust policies match on (never the token).
        claims: String,
        /// The condition that most likely failed.
        likely: String,
    },
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

/// The claims of a GitHub OIDC token that trust policies match on.
const MATCHED_CLAIMS: [&str; 6] = [
    "sub",
    "aud",
    "repository",
    "ref",
    "environment",
    "job_workflow_ref",
];

/// [`explain`] for STS's error `code`: `InvalidIdentityToken` and
/// `ExpiredTokenException` refuse the token itself, before any trust policy is read.
pub fn explain_refusal(id_token: &str, code: Option<&str>) -> (String, String) {
    let (claims, likely) = explain(id_token);
    let likely = match code {
        Some("InvalidIdentityToken") if !likely.starts_with("the `aud` condition") => format!(
            "the token itself, before any trust policy: the role's account needs an IAM OIDC identity provider for `{ISSUER}` whose audiences include `{AUDIENCE}` (IAM → Identity providers)"
        ),
        Some("ExpiredTokenException") => "the token's age: it expired before STS read it (a job clock far off, or a token requested long before use)".to_owned(),
        _ => likely,
    };
    (claims, likely)
}

/// The matched claims of `id_token` as `name=value` (the payload only: a JWT's
/// claims are not secret, its signature is what would let anyone use it), and the
/// trust condition that most likely refused it.
pub fn explain(id_token: &str) -> (String, String) {
    let payload = id_token
        .split('.')
        .nth(1)
        .and_then(base64url)
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    let Some(payload) = payload else {
        return (
            "none readable (the token is not a JWT)".to_owned(),
            "the token endpoint did not hand out a GitHub OIDC token".to_owned(),
        );
    };
    let claim = |name: &str| match &payload[name] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    };
    let shown: Vec<String> = MATCHED_CLAIMS
        .iter()
        .map(|name| {
            let value = claim(name);
            format!(
                "{name}={}",
                if value.is_empty() { "(none)" } else { &value }
            )
        })
        .collect();
    let (sub, aud, environment) = (claim("sub"), claim("aud"), claim("environment"));
    let likely = if !aud.split(',').any(|a| a == AUDIENCE) {
        format!(
            "the `aud` condition: the token's audience is `{aud}`, the trust policy expects `{AUDIENCE}`"
        )
    } else if environment.is_empty() && !sub.contains(":environment:") {
        format!(
            "the `sub` condition: this job runs without a GitHub environment, so `sub` is `{sub}`; a trust policy scoped to `repo:<owner>/<repo>:environment:<name>` refuses it (run the job with `environment:`, as the reusable workflow does, or trust this `sub`)"
        )
    } else {
        format!(
            "the `sub` condition: it must match `{sub}` exactly (or with `StringLike` wildcards)"
        )
    };
    (shown.join(", "), likely)
}

/// Decodes a JWT segment: base64url without padding (RFC 7515, section 2).
fn base64url(text: &str) -> Option<Vec<u8>> {
    base64_simd::URL_SAFE_NO_PAD.decode_to_vec(text).ok()
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
                let (claims, likely) = explain_refusal(id_token, e.code());
                OidcError::Denied {
                    role,
                    message,
                    claims,
                    likely,
                }
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
    use super::{ISSUER, base64url, explain, explain_refusal, session_name};

    /// A token with these claims (the signature is not checked here).
    fn token(claims: &str) -> String {
        const TABLE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = claims.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        format!("eyJhbGciOiJSUzI1NiJ9.{out}.c2lnbmF0dXJl")
    }

    #[test]
    fn base64url_reads_what_jwts_carry() {
        assert_eq!(base64url("eyJhIjoxfQ").unwrap(), br#"{"a":1}"#);
        assert_eq!(base64url("-_8").unwrap(), [0xfb, 0xff]);
        assert!(base64url("not base64!").is_none());
    }

    #[test]
    fn a_job_without_an_environment_is_told_that_sub_names_its_ref() {
        let id = token(
            r#"{"sub":"repo:acme/shop:ref:refs/heads/master","aud":"sts.amazonaws.com","repository":"acme/shop","ref":"refs/heads/master","job_workflow_ref":"acme/shop/.github/workflows/deploy.yml@refs/heads/master"}"#,
        );
        let (claims, likely) = explain(&id);
        assert_eq!(
            claims,
            "sub=repo:acme/shop:ref:refs/heads/master, aud=sts.amazonaws.com, repository=acme/shop, ref=refs/heads/master, environment=(none), job_workflow_ref=acme/shop/.github/workflows/deploy.yml@refs/heads/master"
        );
        assert!(likely.contains("without a GitHub environment"), "{likely}");
        assert!(!claims.contains("c2lnbmF0dXJl") && !likely.contains("c2lnbmF0dXJl"));
    }

    #[test]
    fn a_wrong_audience_or_sub_is_named() {
        let (_, likely) = explain(&token(r#"{"sub":"x","aud":"https://github.com/acme"}"#));
        assert!(likely.starts_with("the `aud` condition"), "{likely}");
        let (_, likely) = explain(&token(
            r#"{"sub":"repo:acme/shop:environment:production","aud":"sts.amazonaws.com","environment":"production"}"#,
        ));
        assert!(
            likely.contains("repo:acme/shop:environment:production"),
            "{likely}"
        );
        let (claims, _) = explain("opaque-token");
        assert!(claims.starts_with("none readable"));
    }

    #[test]
    fn a_token_sts_refuses_itself_points_at_the_identity_provider() {
        let id = token(
            r#"{"sub":"repo:acme/shop:environment:production","aud":"sts.amazonaws.com","environment":"production"}"#,
        );
        let (_, likely) = explain_refusal(&id, Some("InvalidIdentityToken"));
        assert!(likely.contains("IAM OIDC identity provider"), "{likely}");
        assert!(likely.contains(ISSUER), "{likely}");
        let (_, likely) = explain_refusal(&id, Some("ExpiredTokenException"));
        assert!(likely.contains("expired"), "{likely}");
        let (_, likely) = explain_refusal(&id, Some("AccessDenied"));
        assert!(likely.starts_with("the `sub` condition"), "{likely}");
        // A wrong audience is refused as an invalid token too: the audience is named.
        let wrong = token(r#"{"sub":"x","aud":"https://github.com/acme"}"#);
        let (_, likely) = explain_refusal(&wrong, Some("InvalidIdentityToken"));
        assert!(likely.starts_with("the `aud` condition"), "{likely}");
    }

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
