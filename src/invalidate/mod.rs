//! Invalidate: refresh exactly the URLs users could be served stale — bytes that
//! changed at an address that already existed — and nothing outside the module.

pub mod batch;
pub mod paths;
mod run;

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest as _, Sha256};

use crate::cdn::DistributionInfo;
use crate::plan::{Action, Plan, RemoteView, UploadReason};
use crate::scan::hex;
pub use paths::Selected;
pub use run::{InvalidateError, Invalidated, RetryPolicy, invalidate};

pub use crate::cdn::limits::{DEFAULT_BUDGET, MAX_PATHS, MAX_WILDCARDS};

/// The paths to invalidate, each with why it was chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvalidationPlan {
    pub paths: Vec<Selected>,
    /// Why each changed URL needs refreshing.
    pub reasons: BTreeMap<String, String>,
}

impl InvalidationPlan {
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Encoded paths, as sent.
    pub fn encoded(&self) -> Vec<String> {
        self.paths.iter().map(Selected::encoded).collect()
    }

    /// Exactly these URLs, each with why.
    pub fn of_urls(urls: Vec<(String, String)>) -> Self {
        let mut plan = Self::default();
        for (url, why) in urls {
            if !plan.reasons.contains_key(&url) {
                plan.paths.push(Selected::exact(&url));
                plan.reasons.insert(url, why);
            }
        }
        plan
    }

    /// The paths as chosen (decoded): what a record keeps as owed.
    pub fn decoded(&self) -> Vec<String> {
        self.paths.iter().map(|s| s.path.clone()).collect()
    }

    /// Adds the paths earlier deploys of the module still owe (their invalidation
    /// failed or never ran). When the whole would exceed what CloudFront accepts in
    /// one request, it becomes `root*` (the module's own prefix).
    pub fn with_owed(mut self, owed: &[String], root: &str) -> Self {
        const OWED: &str = "owed by an earlier deploy whose invalidation did not complete";
        for path in owed {
            if !self.paths.iter().any(|s| &s.path == path) {
                self.reasons.insert(path.clone(), OWED.to_owned());
                self.paths.push(Selected::exact(path));
            }
        }
        let wildcards = self.paths.iter().filter(|s| s.is_wildcard()).count();
        if self.paths.len() > MAX_PATHS || wildcards > MAX_WILDCARDS {
            let all = format!("{root}*");
            self.reasons.insert(
                all.clone(),
                format!(
                    "{} owed and changed paths, more than one request takes",
                    self.paths.len()
                ),
            );
            let outside: Vec<Selected> = self
                .paths
                .drain(..)
                .filter(|s| !s.path.starts_with(root))
                .collect();
            self.paths = std::iter::once(Selected::exact(&all))
                .chain(outside)
                .collect();
        }
        self
    }

    /// One line per path: the path and why.
    pub fn explain(&self) -> Vec<(String, String)> {
        self.paths
            .iter()
            .map(|s| {
                let why = if let Some(why) = self.reasons.get(&s.path) {
                    why.clone()
                } else if s.is_wildcard() {
                    format!(
                        "{} changed URL(s) under it, {} unchanged object(s) swept",
                        s.covers.len(),
                        s.swept
                    )
                } else {
                    String::new()
                };
                (s.encoded(), why)
            })
            .collect()
    }
}

/// Decides the invalidation for a plan: URLs whose bytes changed at an existing,
/// fixed address (never content-hashed files, never new keys), under every URL
/// CloudFront serves them at, within `budget` paths.
pub fn plan_invalidation(
    plan: &Plan,
    remote: &RemoteView,
    distribution: &DistributionInfo,
    budget: usize,
) -> InvalidationPlan {
    let bucket = &plan.bucket;
    let url = |key: &str| distribution.url_of(bucket, key);
    let Some(root) = url(&plan.prefix) else {
        return InvalidationPlan::default();
    };
    let mut changed = BTreeSet::new();
    let mut reasons = BTreeMap::new();
    let mut outside = BTreeSet::new();
    for file in &plan.files {
        let rewritten = matches!(
            file.action,
            Action::Upload(UploadReason::Changed | UploadReason::Unverifiable)
        );
        if !rewritten || file.immutable {
            continue;
        }
        let Some(file_url) = url(&file.key) else {
            continue;
        };
        changed.insert(file_url.clone());
        reasons.insert(file_url.clone(), format!("{} changed", file.rel_path));
        let name = file.rel_path.rsplit('/').next().unwrap_or(&file.rel_path);
        if name == "index.html" {
            let folder = file_url.trim_end_matches("index.html").to_owned();
            reasons.insert(folder.clone(), format!("folder URL of {}", file.rel_path));
            changed.insert(folder);
        }
        let origin_relative = file_url.trim_start_matches('/');
        if distribution.default_root_object.as_deref() == Some(origin_relative) {
            // NOTE: "/" is outside the module's prefix but names one object, not a
            // sweep: CloudFront serves the default root object there.
            outside.insert("/".to_owned());
            reasons.insert(
                "/".to_owned(),
                format!(
                    "{} is the distribution's default root object",
                    file.rel_path
                ),
            );
        }
    }
    let objects: BTreeSet<String> = remote
        .keys()
        .filter_map(url)
        .chain(plan.files.iter().filter_map(|f| url(&f.key)))
        .collect();
    let budget = budget
        .clamp(1, MAX_PATHS)
        .saturating_sub(outside.len())
        .max(1);
    // Collapsing may produce as many wildcards as paths; keep within CloudFront's limit.
    let budget = if changed.len() <= budget {
        budget
    } else {
        budget.min(MAX_WILDCARDS)
    };
    let mut chosen = paths::select(&changed, &objects, &root, budget);
    chosen.extend(outside.iter().map(|url| Selected::exact(url)));
    InvalidationPlan {
        paths: chosen,
        reasons,
    }
}

/// `CallerReference`: the same run retrying the same paths gets the same reference, so
/// CloudFront answers with the existing invalidation instead of charging twice.
pub fn caller_reference(run_identity: &str, prefix: &str, paths: &[String]) -> String {
    let mut sorted = paths.to_vec();
    sorted.sort();
    let mut sha = Sha256::new();
    sha.update(run_identity.as_bytes());
    sha.update([0]);
    sha.update(prefix.as_bytes());
    for path in sorted {
        sha.update([0]);
        sha.update(path.as_bytes());
    }
    format!("mfe-deploy-{}", &hex(&sha.finalize())[..40])
}

#[cfg(test)]
mod tests;
