//! Sending an invalidation: retried while CloudFront asks callers to back off, and
//! optionally waited for, always within a bound.

use std::time::Duration;

use tokio::time::Instant;

use super::InvalidationPlan;
use crate::cdn::{Cdn, CdnError};

/// How long to keep trying and waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Give up retrying `TooManyInvalidationsInProgress`/throttling after this long.
    pub retry_for: Duration,
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Poll interval while waiting for completion.
    pub poll: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retry_for: Duration::from_secs(300),
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(30),
            poll: Duration::from_secs(10),
        }
    }
}

/// A created (and possibly completed) invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidated {
    pub id: String,
    pub status: String,
    pub paths: Vec<String>,
}

/// The invalidation failed; the upload itself succeeded and is live at the origin.
#[derive(Debug, thiserror::Error)]
pub enum InvalidateError {
    /// CloudFront refused or kept refusing the request.
    #[error("the upload succeeded and is live at the origin, but invalidating CloudFront distribution {distribution} failed: {source}. CloudFront may serve the previous files until their cache lifetime ends; invalidate by hand with: aws cloudfront create-invalidation --distribution-id {distribution} --paths {}", shell_paths(.paths))]
    Request {
        distribution: String,
        paths: Vec<String>,
        #[source]
        source: CdnError,
    },
    /// `wait` ran out of time.
    #[error("invalidation {id} on distribution {distribution} was still {status} after {waited}s; it continues in CloudFront (check with: aws cloudfront get-invalidation --distribution-id {distribution} --id {id})", waited = .waited.as_secs())]
    WaitTimeout {
        distribution: String,
        id: String,
        status: String,
        waited: Duration,
    },
    /// The invalidation this module's paths went into, for several modules at once
    /// (`packages`), failed.
    #[error(transparent)]
    Shared(std::sync::Arc<InvalidateError>),
    /// The run ended before the shared invalidation was sent.
    #[error(
        "the invalidation of distribution {distribution} was not sent: the run ended first; the paths stay owed and the next deploy of the module makes it"
    )]
    NotSent { distribution: String },
}

impl InvalidateError {
    pub fn is_setup_problem(&self) -> bool {
        match self {
            Self::Request { source, .. } => source.is_setup_problem(),
            Self::Shared(inner) => inner.is_setup_problem(),
            Self::WaitTimeout { .. } | Self::NotSent { .. } => false,
        }
    }
}

fn shell_paths(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates the invalidation, retrying with exponential backoff while CloudFront
/// reports too many invalidations in flight or throttles; then, when `wait` is given,
/// polls until it completes or the time runs out.
pub async fn invalidate<C: Cdn>(
    cdn: &C,
    distribution: &str,
    plan: &InvalidationPlan,
    caller_reference: &str,
    policy: RetryPolicy,
    wait: Option<Duration>,
) -> Result<Invalidated, InvalidateError> {
    let paths = plan.encoded();
    let started = Instant::now();
    let mut delay = policy.first_delay;
    let created = loop {
        match cdn
            .create_invalidation(distribution, caller_reference, &paths)
            .await
        {
            Ok(created) => break created,
            Err(e) if e.is_retryable() && started.elapsed() + delay <= policy.retry_for => {
                tracing::warn!("{e}; retrying in {}s", delay.as_secs());
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(policy.max_delay);
            }
            Err(source) => {
                return Err(InvalidateError::Request {
                    distribution: distribution.to_owned(),
                    paths,
                    source,
                });
            }
        }
    };
    let mut status = created.status;
    if let Some(limit) = wait {
        let waiting = Instant::now();
        // NOTE: CloudFront says "Completed"; some compatible endpoints say "COMPLETED".
        while !status.eq_ignore_ascii_case("completed") {
            if waiting.elapsed() >= limit {
                return Err(InvalidateError::WaitTimeout {
                    distribution: distribution.to_owned(),
                    id: created.id,
                    status,
                    waited: waiting.elapsed(),
                });
            }
            tokio::time::sleep(
                policy
                    .poll
                    .min(limit.saturating_sub(waiting.elapsed()))
                    .max(Duration::from_millis(1)),
            )
            .await;
            status = cdn
                .invalidation_status(distribution, &created.id)
                .await
                .map_err(|source| InvalidateError::Request {
                    distribution: distribution.to_owned(),
                    paths: paths.clone(),
                    source,
                })?;
        }
    }
    Ok(Invalidated {
        id: created.id,
        status,
        paths,
    })
}
