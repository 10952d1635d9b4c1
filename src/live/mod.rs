//! What is live or in flight, decided in one place. Every deletion the tool makes
//! (retention, `prune`) asks [`Live::protects`] first, whatever its own policy says.
//!
//! Live, for a module:
//! - every file its newest deploy record names (in place that is the build users
//!   load; versioned it is the newest version, live or about to be);
//! - versioned: every file under a version the live manifest names, its canary's
//!   included;
//! - every file under a version a live preview (a pull request's overlay beside the
//!   manifest) names;
//! - in a dry run, the record the deploy would write counts as the newest;
//! - in flight: every key or version folder an unexpired intent names, of this
//!   module or of one nested in it or around it, and an intent of this module that
//!   no newer record supersedes yet, expired or not ([`intent`]).

pub mod intent;

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::layout::Layout;
use crate::manifest;
use crate::record::DeployRecord;
use crate::store::{ObjectStore, StoreError};

pub use intent::Intent;

/// Why a key must stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The module's newest deploy record names it.
    NewestRecord { version: String },
    /// It is under a version the live manifest names.
    Manifest { version: String },
    /// A deploy still uploading will publish it.
    InFlight { module: String, version: String },
    /// It is under the version the live manifest names as the module's canary.
    Canary { version: String },
    /// It is under a version a pull request's live preview names.
    Preview { number: u64, version: String },
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NewestRecord { version } => write!(f, "{version}, the newest deploy record"),
            Self::Manifest { version } => write!(f, "{version}, live in the manifest"),
            Self::Canary { version } => write!(f, "{version}, the live canary"),
            Self::Preview { number, version } => {
                write!(f, "{version}, live in pull request {number}'s preview")
            }
            Self::InFlight { module, version } if version.is_empty() => {
                write!(f, "a deploy of {module} still in flight")
            }
            Self::InFlight { module, version } => {
                write!(f, "{version} of {module}, still in flight")
            }
        }
    }
}

/// The keys and version folders that must stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    keys: BTreeMap<String, Why>,
    prefixes: BTreeMap<String, Why>,
}

impl Live {
    /// Why `key` must stay, if it must.
    pub fn protects(&self, key: &str) -> Option<&Why> {
        self.keys.get(key).or_else(|| {
            self.prefixes
                .range::<str, _>((Bound::Unbounded, Bound::Included(key)))
                .rev()
                .find(|(p, _)| key.starts_with(p.as_str()))
                .map(|(_, why)| why)
        })
    }

    /// Every file `record` names stays, for `why`.
    pub fn add_record(&mut self, record: &DeployRecord, why: Why) {
        for file in record.files.values() {
            self.keys
                .entry(file.key.clone())
                .or_insert_with(|| why.clone());
        }
    }

    /// Everything under `prefix` stays, for `why`.
    pub fn add_prefix(&mut self, prefix: String, why: Why) {
        self.prefixes.entry(prefix).or_insert(why);
    }

    /// What an in-flight deploy names stays.
    pub fn add_intent(&mut self, intent: &Intent) {
        let why = Why::InFlight {
            module: intent.module.clone(),
            version: intent.version.clone(),
        };
        for key in &intent.keys {
            self.keys.entry(key.clone()).or_insert_with(|| why.clone());
        }
        for prefix in &intent.prefixes {
            self.add_prefix(prefix.clone(), why.clone());
        }
    }

    /// The versions that keep files live, for messages (sorted, once each).
    pub fn versions(&self) -> Vec<String> {
        let mut versions: Vec<String> = self
            .keys
            .values()
            .chain(self.prefixes.values())
            .filter_map(|why| match why {
                Why::NewestRecord { version }
                | Why::Manifest { version }
                | Why::Canary { version }
                | Why::Preview { version, .. } => Some(version.clone()),
                Why::InFlight { .. } => None,
            })
            .collect();
        versions.sort();
        versions.dedup();
        versions
    }
}

/// The newest of `records` by record time (ties: the later in the list).
pub fn newest(records: &[DeployRecord]) -> Option<&DeployRecord> {
    records
        .iter()
        .max_by_key(|r| crate::clock::Utc::parse_rfc3339(&r.time).map(|t| t.millis))
}

/// What must stay under `layout`'s prefix: from its records (any order; a dry run's
/// unwritten record among them counts as the newest, as it will be), the live native
/// manifest at `manifest` when the module is `versioned` (the caller decides: the
/// request says so, or a record does), and the intents that still protect, which a
/// written record newer than them (`newest_written`) supersedes.
pub async fn read<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    manifest: &str,
    records: &[DeployRecord],
    newest_written: Option<crate::clock::Utc>,
    versioned: bool,
) -> Result<Live, StoreError> {
    let now = crate::clock::Utc::now();
    // NOTE: the intents first, the documents after. A run moves the manifest before
    // it removes its intent, so an intent gone by the time it is listed means its
    // switch is in the manifest read next; read the other way round, a run could
    // switch and leave between the two reads and its live version be seen nowhere.
    let intents = intent::read_protecting(store, layout, now, newest_written).await?;
    let mut live = Live::default();
    if let Some(record) = newest(records) {
        let why = Why::NewestRecord {
            version: record.version.clone(),
        };
        live.add_record(record, why);
    }
    if versioned
        && let Some(entry) = store
            .get(manifest)
            .await?
            .and_then(|f| manifest::live(&f.bytes, layout.module()))
    {
        if let Some(canary) = entry.canary {
            let version = canary.version;
            live.add_prefix(layout.version_prefix(&version), Why::Canary { version });
        }
        live.add_prefix(
            layout.version_prefix(&entry.version),
            Why::Manifest {
                version: entry.version,
            },
        );
    }
    // NOTE: also for an in-place module: a preview publishes the versioned layout.
    {
        for (number, version) in previews(store, manifest, layout.module()).await? {
            live.add_prefix(
                layout.version_prefix(&version),
                Why::Preview { number, version },
            );
        }
    }
    for intent in &intents {
        live.add_intent(intent);
    }
    Ok(live)
}

/// The live previews of `module`: (pull request, version) for every overlay beside
/// the native manifest at `manifest` that names it.
pub async fn previews<S: ObjectStore>(
    store: &S,
    manifest: &str,
    module: &str,
) -> Result<Vec<(u64, String)>, StoreError> {
    let mut found = Vec::new();
    for (number, overlay) in overlays(store, manifest).await? {
        if let Some(entry) = store
            .get(&overlay.key)
            .await?
            .and_then(|f| manifest::live(&f.bytes, module))
        {
            found.push((number, entry.version));
        }
    }
    Ok(found)
}

/// Every pull request's overlay beside the native manifest at `manifest`, as listed,
/// with its pull request's number.
pub async fn overlays<S: ObjectStore>(
    store: &S,
    manifest: &str,
) -> Result<Vec<(u64, crate::store::RemoteObject)>, StoreError> {
    let stem = manifest.strip_suffix(".json").unwrap_or(manifest);
    let listed = store.list(&format!("{stem}.pr-")).await?;
    Ok(listed
        .into_iter()
        .filter_map(|o| manifest::overlay_number(manifest, &o.key).map(|n| (n, o)))
        .collect())
}

#[cfg(test)]
mod tests;
