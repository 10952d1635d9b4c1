//! CloudFront's limits on invalidations, and the default path budget.

/// Paths per request, and in flight per distribution, that CloudFront accepts.
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html>
pub const MAX_PATHS: usize = 3_000;
/// Wildcard paths CloudFront accepts in flight per distribution.
pub const MAX_WILDCARDS: usize = 15;
/// Paths per deploy before collapsing into wildcards (config `invalidation.max-paths`).
pub const DEFAULT_BUDGET: usize = 10;
