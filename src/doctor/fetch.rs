//! What a browser gets for each URL: a HEAD first for a large file (its length and
//! ETag often settle it), the whole answer otherwise, and the compressed variant's
//! headers, a few URLs at a time.

use std::time::Duration;

use futures::{StreamExt, stream};
use sha2::Digest as _;

use super::{Expected, Observed, Problem, compare, needs_body};
use crate::http::{Answer, HttpClient};
use crate::scan::hex;

/// URLs fetched at once.
const IN_FLIGHT: usize = 16;
/// From this size a HEAD goes first.
const LARGE: u64 = 1024 * 1024;
/// Bound on one request.
const ATTEMPT: Duration = Duration::from_secs(30);

/// One URL, as it was served.
#[derive(Debug, Clone)]
pub struct Checked {
    pub expected: Expected,
    pub observed: Observed,
    pub problems: Vec<Problem>,
}

/// Fetches and compares every URL; in the order given.
pub async fn check_all(client: &HttpClient, expected: Vec<Expected>) -> Vec<Checked> {
    stream::iter(expected)
        .map(|e| check(client, e))
        .buffered(IN_FLIGHT)
        .collect()
        .await
}

/// Browsers ask for compressed answers, which a CDN caches apart from the plain
/// ones: a HEAD asking as they do checks that variant's status and headers.
const AS_BROWSERS_ASK: [(&str, &str); 1] = [("Accept-Encoding", "br, gzip")];

/// The plain answer compared whole, and the compressed variant's status and headers.
async fn check(client: &HttpClient, expected: Expected) -> Checked {
    let url = expected.url.clone();
    let (mut checked, compressed) = tokio::join!(
        plain(client, expected),
        client.head(&url, &AS_BROWSERS_ASK, ATTEMPT)
    );
    if let Ok(answer) = compressed {
        let mut observed = observe(&answer, false);
        // Its length and ETag are the compressed body's: only status and headers count.
        (observed.length, observed.etag) = (None, None);
        let problems = compare(&checked.expected, &observed);
        checked.problems.extend(
            problems
                .into_iter()
                .map(|p| Problem::Compressed(Box::new(p))),
        );
        if checked.observed == Observed::default() {
            checked.observed = observed;
        }
    }
    checked
}

async fn plain(client: &HttpClient, expected: Expected) -> Checked {
    if expected.size >= LARGE
        && let Ok(answer) = client.head(&expected.url, &[], ATTEMPT).await
    {
        let observed = observe(&answer, false);
        if !needs_body(&expected, &observed) {
            let problems = compare(&expected, &observed);
            return Checked {
                expected,
                observed,
                problems,
            };
        }
    }
    match client.get(&expected.url, &[], ATTEMPT).await {
        Ok(answer) => {
            let observed = observe(&answer, true);
            let problems = compare(&expected, &observed);
            Checked {
                expected,
                observed,
                problems,
            }
        }
        Err(e) => Checked {
            expected,
            observed: Observed::default(),
            problems: vec![Problem::Unreachable(e.to_string())],
        },
    }
}

fn observe(answer: &Answer, body: bool) -> Observed {
    let header = |name: &str| answer.header(name).map(str::to_owned);
    Observed {
        status: answer.status,
        content_type: header("content-type"),
        cache_control: header("cache-control"),
        length: if body {
            Some(answer.body.len() as u64)
        } else {
            header("content-length").and_then(|l| l.trim().parse().ok())
        },
        etag: header("etag"),
        sha256: body.then(|| hex(&sha2::Sha256::digest(&answer.body))),
        age: header("age"),
        x_cache: header("x-cache"),
        pop: header("x-amz-cf-pop"),
    }
}
