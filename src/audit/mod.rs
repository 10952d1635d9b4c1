//! Audit: distribution settings that have burned teams deploying micro-frontends to
//! S3 behind CloudFront. Read-only; each finding says what, why it matters, and the fix.

use serde::Serialize;

use std::collections::BTreeMap;

use crate::cdn::DistributionInfo;
use crate::layout::Layout;
use crate::store::ObjectStore;

/// Error caching above this many seconds turns a passing origin error into a
/// lasting outage; AWS's own default is 10.
const MAX_ERROR_CACHING_SECONDS: i64 = 10;

/// One problem with a distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier, for filtering.
    pub code: &'static str,
    pub what: String,
    pub why: String,
    pub fix: String,
}

/// Keys of `bucket` the distribution serves for its own purposes (default root
/// object, error pages); their existence is checked by the caller.
pub fn referenced_keys(dist: &DistributionInfo, bucket: &str) -> Vec<String> {
    let origin_path = dist
        .origin_for(bucket)
        .map_or("", |o| o.origin_path.trim_matches('/'));
    let key = |url: &str| {
        let rel = url.trim_start_matches('/');
        if origin_path.is_empty() {
            rel.to_owned()
        } else {
            format!("{origin_path}/{rel}")
        }
    };
    let mut keys: Vec<String> = dist.default_root_object.iter().map(|d| key(d)).collect();
    keys.extend(
        dist.error_responses
            .iter()
            .filter_map(|r| r.page_path.as_deref())
            .map(key),
    );
    keys.sort();
    keys.dedup();
    keys
}

/// Whether a key the distribution names is there, as far as the credentials tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Exists,
    Missing,
    /// The check itself failed (a least-privilege role may not read the key).
    Unknown(String),
}

impl From<bool> for Presence {
    fn from(exists: bool) -> Self {
        if exists { Self::Exists } else { Self::Missing }
    }
}

/// Audits a distribution for the module of `layout` in `bucket`: one HEAD per key
/// the distribution names (default root object, error pages) unless `written` says
/// this deploy writes it. Advisory: a HEAD that fails becomes a finding, never an
/// error.
pub async fn check<S: ObjectStore>(
    store: &S,
    dist: &DistributionInfo,
    bucket: &str,
    layout: &Layout,
    written: impl Fn(&str) -> bool,
) -> Vec<Finding> {
    let mut presence = BTreeMap::new();
    for key in referenced_keys(dist, bucket) {
        let found = if written(&key) {
            Presence::Exists
        } else {
            match store.head(&key).await {
                Ok(head) => Presence::from(head.is_some()),
                Err(e) => Presence::Unknown(e.to_string()),
            }
        };
        presence.insert(key, found);
    }
    let lookup = |key: &str| presence.get(key).cloned().unwrap_or(Presence::Missing);
    audit(
        dist,
        bucket,
        layout.prefix(),
        layout.records_prefix(),
        &lookup,
    )
}

/// Checks a distribution that serves `prefix` of `bucket`, whose tool objects live
/// under `records_prefix`; `exists` answers for the keys of [`referenced_keys`].
pub fn audit(
    dist: &DistributionInfo,
    bucket: &str,
    prefix: &str,
    records_prefix: &str,
    exists: &dyn Fn(&str) -> Presence,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut add = |code, what: String, why: &str, fix: String| {
        findings.push(Finding {
            code,
            what,
            why: why.to_owned(),
            fix,
        });
    };
    let id = &dist.id;
    for response in &dist.error_responses {
        let to_ok = response.response_code.as_deref() == Some("200");
        let page = response.page_path.as_deref().unwrap_or("(no page)");
        let code = response.error_code;
        if !matches!(code, 403 | 404) {
            continue;
        }
        if to_ok {
            add(
                "spa-fallback",
                format!("{id} answers {code} with 200 {page} for every path, {prefix}* included"),
                "a chunk or entry URL missing for a moment (an S3 incident, a permissions change) gets the shell's HTML with a 200: module loaders fail on it, and every cache that keeps 200s (the edge, proxies, browsers under an immutable URL) keeps it under that URL. The poisoned cache of docs/poisoned-cache.md",
                format!(
                    "route only navigation paths (no file extension) to {page} with a CloudFront Function, and let {code} stay an error for files"
                ),
            );
        }
        let ttl = response
            .caching_min_ttl
            .unwrap_or(MAX_ERROR_CACHING_SECONDS);
        if ttl > MAX_ERROR_CACHING_SECONDS {
            add(
                "error-caching",
                format!(
                    "{id} caches its answer to an origin {code} ({} {page}) for {ttl} s",
                    response.response_code.as_deref().unwrap_or("the error")
                ),
                "a passing origin error (a missing key during a deploy, a permissions change) is then served, for that long, for every URL that hit it: a real outage pattern",
                format!(
                    "set ErrorCachingMinTTL for {code} to {MAX_ERROR_CACHING_SECONDS} or less; better, route SPA paths with a CloudFront Function that rewrites extension-less URLs to /index.html and keep errors as errors"
                ),
            );
        }
    }
    let origin = dist.origin_for(bucket);
    for key in referenced_keys(dist, bucket) {
        let presence = exists(&key);
        if let Presence::Unknown(why) = &presence {
            add(
                "could-not-check",
                format!(
                    "could not check s3://{bucket}/{key}, which {id} serves as its default root object or an error page"
                ),
                "the credentials of this deploy may not read it (least-privilege roles often cannot read other modules' keys); the deploy goes on",
                format!(
                    "nothing to do if the object exists; to have it checked, allow s3:GetObject on it for this role ({why})"
                ),
            );
        }
        if presence == Presence::Missing {
            add(
                "missing-object",
                format!(
                    "{id} points at s3://{bucket}/{key} (default root object or error page), which does not exist"
                ),
                "CloudFront then answers with an S3 error instead of the page you configured",
                format!(
                    "deploy the object, or change DefaultRootObject/ResponsePagePath to an existing key (keys here are relative to the origin path `{}`)",
                    origin.map_or("", |o| o.origin_path.as_str())
                ),
            );
        }
    }
    match origin {
        None => add(
            "no-origin",
            format!("no origin of {id} points at bucket {bucket}"),
            "files deployed here are not served by this distribution, and invalidating it refreshes nothing of theirs",
            format!(
                "check `distribution-id` for this environment, or add an S3 origin for {bucket}"
            ),
        ),
        Some(o) => {
            let origin_path = o.origin_path.trim_matches('/');
            if !origin_path.is_empty() && !prefix.starts_with(&format!("{origin_path}/")) {
                add(
                    "origin-path",
                    format!(
                        "{id} reads {bucket} under the origin path /{origin_path}, but this module deploys to {bucket}/{prefix}"
                    ),
                    "CloudFront never requests keys outside its origin path, so this module is unreachable through the distribution",
                    format!("set `prefix` to {origin_path}/…, or clear the origin path"),
                );
            }
            if served_through(dist, bucket, &o.id, records_prefix) {
                add(
                    "records-served",
                    format!(
                        "{id} serves s3://{bucket}/{records_prefix} (mfe-deploy's deploy records) like any other path"
                    ),
                    "records name commits, actors, run URLs and every deployed key: unless the bucket policy denies reading them through CloudFront, anyone can",
                    format!(
                        "deny s3:GetObject on arn:aws:s3:::{bucket}/{records_prefix}* to the CloudFront service principal in the bucket policy (docs/records.md), or route /{records_prefix}* to an origin that answers 403"
                    ),
                );
            }
            if o.s3 && !o.access_restricted {
                add(
                    "public-origin",
                    format!("{id} reads {bucket} without origin access control"),
                    "the bucket must then be public, so anyone can bypass CloudFront (and its caching, WAF and logs)",
                    "attach an origin access control (OAC) to the origin and restrict the bucket policy to the distribution".to_owned(),
                );
            }
        }
    }
    let behavior = &dist.default_behavior;
    if let Some(min_ttl) = behavior.min_ttl.filter(|t| *t > 0) {
        add(
            "min-ttl",
            format!("{id}'s default cache behavior has MinTTL {min_ttl} s"),
            "CloudFront then caches HTML and federation entries for that long despite their `no-cache` header: users load stale entries after a deploy",
            "set MinTTL to 0, or use a cache policy with MinTTL 0 (the managed CachingOptimized policy uses 1 s)".to_owned(),
        );
    }
    if !behavior.compress {
        add(
            "compression-off",
            format!("{id} does not compress responses in its default cache behavior"),
            "JavaScript, CSS and HTML then travel uncompressed, several times larger",
            "turn on Compress objects automatically (with a cache policy that enables Gzip and Brotli)".to_owned(),
        );
    }
    if behavior.viewer_protocol_policy == "allow-all" {
        add(
            "plain-http",
            format!("{id} serves plain HTTP"),
            "pages and scripts can be read and altered in transit; module federation loads code from these URLs",
            "set ViewerProtocolPolicy to redirect-to-https".to_owned(),
        );
    }
    if behavior.cache_policy_id.is_none() && behavior.forwards_query_or_cookies {
        add(
            "cache-key",
            format!("{id} forwards query strings or cookies to S3 (legacy cache settings)"),
            "S3 ignores them, but each distinct value is cached separately: lower hit ratio, more origin requests",
            "use a cache policy (CachingOptimized) that leaves query strings and cookies out of the cache key".to_owned(),
        );
    }
    if dist.http_version.as_deref() == Some("http1.1") {
        add(
            "http-version",
            format!("{id} only speaks HTTP/1.1"),
            "a federated page loads many small chunks; HTTP/2 and HTTP/3 fetch them over one connection",
            "set the distribution's HTTP version to http2and3".to_owned(),
        );
    }
    findings
}

/// Whether the distribution reads `records_prefix` of `bucket` from the bucket's
/// origin: it is within the origin path and no path behavior sends it elsewhere.
/// (A bucket policy may still deny it; the distribution cannot tell.)
fn served_through(
    dist: &DistributionInfo,
    bucket: &str,
    origin_id: &str,
    records_prefix: &str,
) -> bool {
    let Some(url) = dist.url_of(bucket, records_prefix) else {
        return false;
    };
    let url = url.trim_start_matches('/');
    let routed_away = dist.path_behaviors.iter().any(|(pattern, target)| {
        let pattern = pattern.trim_start_matches('/');
        let covers = match pattern.strip_suffix('*') {
            Some(head) => url.starts_with(head),
            None => false,
        };
        covers && target != origin_id
    });
    !routed_away
}

#[cfg(test)]
mod tests;
