//! Retention: which objects under a module's prefix no kept deploy record
//! references, so they may go. Pure: the caller lists and deletes.
//!
//! Kept records are those of the newest `keep-versions` distinct versions by record
//! time (a rollback counts as its target deployed at that time), plus every record
//! younger than `keep-days`. Never deleted, whatever the records or the policy say:
//! what [`Live`] protects (the live build, a deploy in flight), an object younger
//! than `keep-days` (by its `LastModified`), anything outside the module's prefix,
//! other modules nested inside it, the manifests, the tool's own objects, and the
//! versions the history of the window names.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::clock::Utc;
use crate::live::Live;
use crate::record::DeployRecord;
use crate::store::RemoteObject;

/// The policy, from the config's `retention:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub keep_versions: Option<usize>,
    pub keep_days: Option<u64>,
    pub max_deletions: usize,
}

/// What must stay whatever the records say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protected {
    /// Prefixes of other modules nested inside this one's.
    pub nested_modules: Vec<String>,
    /// Keys that are not the module's files (manifests, tool objects).
    pub keys: BTreeSet<String>,
    /// Versions the window's history names (versioned mode: everything under
    /// `prefix/<version>/` stays).
    pub versions: BTreeSet<String>,
    /// The live build and what is in flight.
    pub live: Live,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prune {
    /// The module has no records: nothing may be deleted.
    NoRecords,
    /// Delete these (sorted); keep the versions named.
    Delete {
        keys: Vec<String>,
        kept_versions: Vec<String>,
    },
    /// More than `max-deletions` would go: nothing is deleted.
    OverCap { would: usize, cap: usize },
}

/// Decides what goes under `prefix`, from every object listed there and every record
/// of the module (any order).
pub fn decide(
    prefix: &str,
    listed: &[RemoteObject],
    records: &[DeployRecord],
    protected: &Protected,
    policy: &Policy,
    now: Utc,
) -> Prune {
    if records.is_empty() {
        return Prune::NoRecords;
    }
    let mut by_time: Vec<(Utc, &DeployRecord)> = records
        .iter()
        .map(|r| (Utc::parse_rfc3339(&r.time).unwrap_or(now), r))
        .collect();
    by_time.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    let mut kept_versions: Vec<String> = Vec::new();
    if let Some(n) = policy.keep_versions {
        for (_, r) in &by_time {
            if kept_versions.len() >= n {
                break;
            }
            if !kept_versions.contains(&r.version) {
                kept_versions.push(r.version.clone());
            }
        }
    }
    let window = policy
        .keep_days
        .map(|d| Duration::from_secs(d.saturating_mul(86_400)));
    let young = |seconds: Option<i64>| match (window, seconds) {
        (Some(w), Some(s)) => now - Utc::from_millis(s.saturating_mul(1000)) < w,
        // NOTE: a store that lists no time gives no age to trust.
        (Some(_), None) => true,
        (None, _) => false,
    };
    let kept: Vec<&DeployRecord> = by_time
        .iter()
        .filter(|(t, r)| kept_versions.contains(&r.version) || window.is_some_and(|w| now - *t < w))
        .map(|(_, r)| *r)
        .collect();
    let mut versions: BTreeSet<String> = kept.iter().map(|r| r.version.clone()).collect();
    versions.extend(protected.versions.iter().cloned());
    versions.extend(protected.live.versions());
    let referenced: BTreeSet<&str> = kept
        .iter()
        .flat_map(|r| r.files.values().map(|f| f.key.as_str()))
        .collect();
    let keys: Vec<String> = listed
        .iter()
        .filter(|o| o.key.starts_with(prefix))
        .filter(|o| !referenced.contains(o.key.as_str()))
        .filter(|o| !protected.keys.contains(&o.key))
        .filter(|o| {
            !protected
                .nested_modules
                .iter()
                .any(|m| o.key.starts_with(m))
        })
        .filter(|o| {
            let rest = &o.key[prefix.len()..];
            !protected
                .versions
                .iter()
                .any(|v| rest.starts_with(&format!("{v}/")))
        })
        .filter(|o| protected.live.protects(&o.key).is_none())
        .filter(|o| !young(o.last_modified))
        .map(|o| o.key.clone())
        .collect();
    if keys.len() > policy.max_deletions {
        return Prune::OverCap {
            would: keys.len(),
            cap: policy.max_deletions,
        };
    }
    Prune::Delete {
        keys,
        kept_versions: versions.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests;
