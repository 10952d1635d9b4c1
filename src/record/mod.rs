//! Deploy records: the durable account of what each deploy published, and the
//! source of truth for `previous`, history, rollback and retention.
//!
//! Every deploy that changes anything writes one immutable record (`If-None-Match:
//! *`) naming every key its version consists of, with size and SHA-256. A small
//! per-module pointer names the newest record and the CloudFront paths still owed;
//! it is a cache: records newer than the one it names are found by listing from it,
//! and without it the newest record is found by listing them all.
//!
//! Owed invalidations: a record carries every path its run was going to invalidate,
//! the owed paths it inherited included. The pointer is written after the
//! invalidation, naming that record and what (if anything) is still owed. So the
//! paths a run owes are the pointer's, or — when a newer record exists that no
//! pointer confirmed (a run killed or failed before its pointer) — that record's.

mod io;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use io::{
    POINTER_ATTEMPTS, RecordError, list_records, new_nonce, read_history, read_pointer,
    record_keys, update_pointer, with_newer, with_newer_and_latest, write_record,
};

/// The `schema` of records this release writes and reads.
pub const RECORD_SCHEMA: &str = "mfe-deploy/record@1";
/// The `schema` of pointers this release writes and reads.
pub const POINTER_SCHEMA: &str = "mfe-deploy/pointer@1";

/// What a record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// A build was published.
    Deploy,
    /// An earlier version was made live again.
    Rollback,
    /// A pull request's build was published as its preview.
    Preview,
    /// A pull request's preview ended.
    PreviewClosed,
    /// A canary started, or its percentage moved.
    Canary,
    /// The canary became the stable version for everyone.
    Promote,
    /// The canary was removed: everyone gets the stable version.
    Abort,
    /// A version's files were copied to a fresh label, which went live.
    Republish,
}

/// Where a republished version's files came from, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Republished {
    /// The version whose files were copied.
    pub from: String,
    pub reason: String,
}

/// A rollout step, as its record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RecordedRollout {
    /// The rollout's id (the same while its percentage moves).
    pub id: String,
    /// The canary's share after the step: 100 promoted, 0 aborted.
    pub percent: u8,
}

/// Who and what started the deploy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Provenance {
    /// The commit built (`GITHUB_SHA`).
    pub commit: Option<String>,
    /// The ref (`GITHUB_REF`).
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// Who started the run (`GITHUB_ACTOR`).
    pub actor: Option<String>,
    /// The workflow run, down to the attempt.
    pub run_url: Option<String>,
}

impl Provenance {
    /// From the runner's variables; all `None` off a runner.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| get(name).filter(|v| !v.is_empty());
        let run_url = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(run)) => Some(format!(
                "{server}/{repo}/actions/runs/{run}/attempts/{}",
                var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".to_owned())
            )),
            _ => None,
        };
        Self {
            commit: var("GITHUB_SHA"),
            git_ref: var("GITHUB_REF"),
            actor: var("GITHUB_ACTOR"),
            run_url,
        }
    }
}

/// One key of a deployed version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RecordedFile {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    /// The ETag the store gave the object (absent in records of releases before
    /// 0.2): with the listing, it tells that the object is still the one recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// CloudFront paths a deploy needed invalidated (decoded, as chosen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Invalidation {
    pub distribution_id: String,
    pub paths: Vec<String>,
}

/// The record of one deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DeployRecord {
    pub schema: String,
    pub kind: RecordKind,
    /// The module's name (its prefix without the slash).
    pub module: String,
    pub prefix: String,
    pub environment: String,
    /// `in-place` or `versioned`.
    pub mode: String,
    pub version: String,
    /// The version live before this deploy, when a record said so.
    pub previous_version: Option<String>,
    #[serde(flatten)]
    pub provenance: Provenance,
    /// When the deploy wrote this record (RFC 3339, UTC).
    pub time: String,
    /// Every file of the version, by its path in the build: uploaded by this run or
    /// already there.
    pub files: BTreeMap<String, RecordedFile>,
    /// What this deploy was to invalidate, inherited owed paths included.
    pub invalidation: Option<Invalidation>,
    /// A rollout step: the canary's rollout and share after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RecordedRollout>,
    /// A republish: the source version and the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub republished: Option<Republished>,
}

impl DeployRecord {
    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }

    /// `None` for documents of another schema or unreadable ones.
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(bytes)
            .ok()
            .filter(|r| r.schema == RECORD_SCHEMA)
    }
}

/// The per-module pointer: the newest record, and what it still owes CloudFront.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pointer {
    pub schema: String,
    pub module: String,
    /// Key of the newest record this pointer accounts for.
    pub latest: String,
    /// Its version.
    pub version: String,
    /// Paths of `latest` (and before) that are not invalidated yet.
    pub owed: Option<Invalidation>,
}

impl Pointer {
    pub fn to_json(&self) -> Vec<u8> {
        to_json(self)
    }

    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(bytes)
            .ok()
            .filter(|p| p.schema == POINTER_SCHEMA)
    }

    /// Merges a pointer another run wrote meanwhile: the newer record wins, and
    /// nothing either still owes is forgotten.
    pub fn merge(mut self, theirs: &Pointer) -> Self {
        if theirs.latest > self.latest {
            self.latest = theirs.latest.clone();
            self.version = theirs.version.clone();
        }
        self.owed = union(self.owed, theirs.owed.clone());
        self
    }
}

/// Both sets of owed paths; paths owed to another distribution than the newest's
/// are dropped (the config moved the module).
fn union(ours: Option<Invalidation>, theirs: Option<Invalidation>) -> Option<Invalidation> {
    match (ours, theirs) {
        (Some(mut a), Some(b)) if a.distribution_id == b.distribution_id => {
            for path in b.paths {
                if !a.paths.contains(&path) {
                    a.paths.push(path);
                }
            }
            Some(a)
        }
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// What the bucket says about a module's past deploys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The pointer, when there is a readable one.
    pub pointer: Option<Pointer>,
    /// The pointer object's ETag, readable or not (the conditional update names it;
    /// `None`: there is no pointer object).
    pub pointer_etag: Option<String>,
    /// The newest record no pointer accounts for, with its key.
    pub unconfirmed: Option<(String, DeployRecord)>,
}

impl History {
    /// Key and version of the newest record.
    pub fn latest(&self) -> Option<(&str, &str)> {
        match (&self.unconfirmed, &self.pointer) {
            (Some((key, record)), _) => Some((key.as_str(), record.version.as_str())),
            (None, Some(pointer)) => Some((pointer.latest.as_str(), pointer.version.as_str())),
            (None, None) => None,
        }
    }

    /// Paths earlier deploys still owe `distribution_id`.
    pub fn owed(&self, distribution_id: &str) -> Vec<String> {
        let owed = match &self.unconfirmed {
            Some((_, record)) => record.invalidation.as_ref(),
            None => self.pointer.as_ref().and_then(|p| p.owed.as_ref()),
        };
        owed.filter(|o| o.distribution_id == distribution_id)
            .map(|o| o.paths.clone())
            .unwrap_or_default()
    }
}

/// A deploy record of the module `shop` for unit tests: `rels` under `shop/`, each
/// one byte, written at `time`.
#[cfg(test)]
pub fn sample(version: &str, time: crate::clock::Utc, rels: &[&str]) -> DeployRecord {
    DeployRecord {
        schema: RECORD_SCHEMA.to_owned(),
        kind: RecordKind::Deploy,
        module: "shop".to_owned(),
        prefix: "shop/".to_owned(),
        environment: "production".to_owned(),
        mode: "in-place".to_owned(),
        version: version.to_owned(),
        previous_version: None,
        provenance: Provenance::default(),
        time: time.rfc3339(),
        files: rels
            .iter()
            .map(|rel| {
                let file = RecordedFile {
                    key: format!("shop/{rel}"),
                    size: 1,
                    sha256: "ab".to_owned(),
                    etag: None,
                };
                ((*rel).to_owned(), file)
            })
            .collect(),
        invalidation: None,
        rollout: None,
        republished: None,
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests;
