//! The CDN behind a small trait: CloudFront on the AWS SDK, and a scriptable fake
//! for unit tests (in-flight limits and throttling, which emulators do not model).

pub mod cloudfront;
#[cfg(test)]
pub mod fake;
pub mod limits;

use std::future::Future;

/// What mfe-deploy needs to know about a distribution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributionInfo {
    pub id: String,
    pub default_root_object: Option<String>,
    pub origins: Vec<OriginInfo>,
    pub default_behavior: BehaviorInfo,
    /// The other cache behaviors: path pattern and target origin id, in order.
    pub path_behaviors: Vec<(String, String)>,
    pub error_responses: Vec<ErrorResponseInfo>,
    pub http_version: Option<String>,
}

/// One origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginInfo {
    pub id: String,
    pub domain: String,
    /// `""` or `/folder`.
    pub origin_path: String,
    /// An S3 REST origin (not a website endpoint or custom origin).
    pub s3: bool,
    /// Origin access control or a legacy origin access identity is set.
    pub access_restricted: bool,
}

/// The default cache behavior.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BehaviorInfo {
    pub target_origin_id: String,
    pub viewer_protocol_policy: String,
    /// Legacy cache settings only (a cache policy carries its own TTLs).
    pub min_ttl: Option<i64>,
    pub compress: bool,
    pub cache_policy_id: Option<String>,
    /// Legacy settings forward query strings or cookies (they fragment the cache).
    pub forwards_query_or_cookies: bool,
}

/// A custom error response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorResponseInfo {
    pub error_code: i32,
    pub response_code: Option<String>,
    pub page_path: Option<String>,
    pub caching_min_ttl: Option<i64>,
}

impl DistributionInfo {
    /// The origin in front of `bucket`, if any (`bucket.s3…amazonaws.com`).
    pub fn origin_for(&self, bucket: &str) -> Option<&OriginInfo> {
        let host = format!("{bucket}.s3");
        self.origins.iter().find(|o| o.domain.starts_with(&host))
    }

    /// The URL path CloudFront serves `key` of `bucket` under, when it serves it.
    pub fn url_of(&self, bucket: &str, key: &str) -> Option<String> {
        let origin_path = self
            .origin_for(bucket)
            .map_or("", |o| o.origin_path.trim_matches('/'));
        if origin_path.is_empty() {
            return Some(format!("/{key}"));
        }
        key.strip_prefix(origin_path)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(|rest| format!("/{rest}"))
    }
}

/// A created invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidationInfo {
    pub id: String,
    pub status: String,
}

/// Operations the deploy needs, named as CloudFront names them.
pub trait Cdn: Sync {
    fn distribution(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<DistributionInfo, CdnError>> + Send;
    fn create_invalidation(
        &self,
        id: &str,
        caller_reference: &str,
        paths: &[String],
    ) -> impl Future<Output = Result<InvalidationInfo, CdnError>> + Send;
    fn invalidation_status(
        &self,
        id: &str,
        invalidation_id: &str,
    ) -> impl Future<Output = Result<String, CdnError>> + Send;
}

/// A CloudFront request that failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CdnError {
    /// Too many invalidations (or wildcard paths) in flight: wait, then retry.
    #[error("too many invalidations in progress on the distribution: {0}")]
    TooManyInProgress(String),
    /// Request rate exceeded: wait, then retry.
    #[error("CloudFront throttled the request: {0}")]
    Throttled(String),
    /// The distribution does not exist.
    #[error(
        "CloudFront distribution `{0}` does not exist: check `distribution-id` (or the environment's `distribution-id` in mfe-deploy.yml)"
    )]
    NoSuchDistribution(String),
    /// The credentials may not perform this operation.
    #[error(
        "access denied: {operation} ({message}); the credentials need cloudfront:GetDistributionConfig, cloudfront:CreateInvalidation and cloudfront:GetInvalidation on the distribution"
    )]
    AccessDenied {
        operation: &'static str,
        message: String,
    },
    /// Any other CloudFront error.
    #[error("{operation} failed: {message}")]
    Other {
        operation: &'static str,
        message: String,
    },
}

impl CdnError {
    /// Worth waiting for: CloudFront asks callers to back off.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::TooManyInProgress(_) | Self::Throttled(_))
    }

    /// Fixed by input or IAM rather than by retrying.
    pub fn is_setup_problem(&self) -> bool {
        matches!(
            self,
            Self::NoSuchDistribution(_) | Self::AccessDenied { .. }
        )
    }
}
