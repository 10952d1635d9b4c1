//! Read-back through `public-url` (`verify: true`): each published entry is fetched
//! the way a browser would and its bytes compared with what was uploaded, so a stale
//! CDN layer is caught the day it happens, not from a blank page.

use std::time::Duration;

use sha2::Digest as _;
use tokio::time::Instant;

use crate::http::{Answer, HttpClient};
use crate::scan::hex;

/// How often a URL is tried while it serves other bytes (the CDN finishing an
/// invalidation, an edge still holding the old object); how long is the config's
/// `verify-timeout`.
pub const POLL: Duration = Duration::from_secs(2);
/// Bound on one GET.
const ATTEMPT: Duration = Duration::from_secs(20);

/// A URL and the SHA-256 its body must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub url: String,
    pub sha256: String,
}

/// A URL that did not serve what was uploaded.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// It answered, with other bytes (or an error status).
    #[error(
        "{url} still served other bytes after {waited}s (SHA-256 {got}, uploaded {expected}; Age: {age}, X-Cache: {x_cache}, Cache-Control: {cache_control}): a cache between S3 and the browser serves a stale copy. Check the distribution's cache policy (MinTTL) and any other CDN in front of it"
    )]
    Mismatch {
        url: String,
        expected: String,
        got: String,
        age: String,
        x_cache: String,
        cache_control: String,
        waited: u64,
    },
    /// It answered with an error status.
    #[error(
        "{url} answered HTTP {status} after {waited}s instead of the uploaded entry: check that `public-url` is where this bucket is served, and that the CDN may read the key"
    )]
    Status {
        url: String,
        status: u16,
        waited: u64,
    },
    /// It never answered.
    #[error("{url} could not be read within {waited}s: {why}")]
    Unreachable {
        url: String,
        why: String,
        waited: u64,
    },
}

/// Fetches every URL until it serves the expected bytes, each within `window`.
pub async fn verify(
    expected: &[Expected],
    window: Duration,
    poll: Duration,
) -> Result<(), VerifyError> {
    let client = HttpClient::new().map_err(|e| VerifyError::Unreachable {
        url: expected.first().map(|e| e.url.clone()).unwrap_or_default(),
        why: e.to_string(),
        waited: 0,
    })?;
    for item in expected {
        check(&client, item, window, poll).await?;
        tracing::info!("read back {}: the uploaded bytes", item.url);
    }
    Ok(())
}

async fn check(
    client: &HttpClient,
    item: &Expected,
    window: Duration,
    poll: Duration,
) -> Result<(), VerifyError> {
    let started = Instant::now();
    loop {
        let result = client.get(&item.url, &[], ATTEMPT).await;
        if let Ok(answer) = &result
            && answer.status == 200
            && hex(&sha2::Sha256::digest(&answer.body)) == item.sha256
        {
            return Ok(());
        }
        if started.elapsed() + poll > window {
            let waited = started.elapsed().as_secs();
            return Err(match result {
                Ok(answer) if answer.status != 200 => VerifyError::Status {
                    url: item.url.clone(),
                    status: answer.status,
                    waited,
                },
                Ok(answer) => mismatch(item, &answer, waited),
                Err(e) => VerifyError::Unreachable {
                    url: item.url.clone(),
                    why: e.to_string(),
                    waited,
                },
            });
        }
        tokio::time::sleep(poll).await;
    }
}

fn mismatch(item: &Expected, answer: &Answer, waited: u64) -> VerifyError {
    let header = |name: &str| answer.header(name).unwrap_or("-").to_owned();
    VerifyError::Mismatch {
        url: item.url.clone(),
        expected: item.sha256.clone(),
        got: hex(&sha2::Sha256::digest(&answer.body)),
        age: header("age"),
        x_cache: header("x-cache"),
        cache_control: header("cache-control"),
        waited,
    }
}
