//! The conditional update loop: read with the ETag, merge this module's entry, write
//! with `If-Match` (or `If-None-Match: *` when absent), and on a lost race re-read
//! and merge again. S3 is the only coordination point: no server, no lock table.

use super::{Format, LiveEntry, Unmergeable, merge};
use crate::clock::Utc;
use crate::model::Headers;
use crate::store::{Body, Condition, Fetched, ObjectMeta, ObjectStore, StoreError};

/// Writes tried per document before the deploy gives up: each lost race costs one
/// GET and one conditional PUT, with a jittered wait of up to 50 ms × 2^attempt
/// (capped at 3.2 s) before it. Ten attempts wait at most about 17 s in all.
pub const MAX_ATTEMPTS: u32 = 10;

/// Why a manifest could not be updated; it is unchanged (this run wrote nothing).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The document exists but is not one this format can merge into.
    #[error(
        "the {format} manifest s3://{bucket}/{key} cannot take this module's entry: {why}. Fix or remove that object (or name another key), then re-run"
    )]
    Unmergeable {
        format: &'static str,
        bucket: String,
        key: String,
        why: String,
    },
    /// Other deploys kept changing it.
    #[error(
        "the manifest s3://{bucket}/{key} changed under every one of {MAX_ATTEMPTS} conditional writes (other deploys are updating it), so this run left it unchanged; re-run the deploy"
    )]
    Contended { bucket: String, key: String },
}

/// A document as this run left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The document this run merged into (the last one read); `None` when absent.
    pub before: Option<Vec<u8>>,
    /// What this run wrote.
    pub written: Vec<u8>,
    /// Conditional writes it took (1 when nobody else wrote meanwhile; 0 when the
    /// document already named the entry and was left as it was).
    pub attempts: u32,
}

impl Updated {
    /// Whether this run wrote the document.
    pub fn moved(&self) -> bool {
        self.attempts > 0
    }
}

fn meta() -> ObjectMeta {
    ObjectMeta::plain(Headers {
        cache_control: "no-cache".to_owned(),
        content_type: "application/json; charset=utf-8".to_owned(),
    })
}

/// Merges `entry` as `module` into the `format` document at `key`. `read` is the
/// document as the caller already read it (`Some(None)`: absent), which the first
/// attempt merges into instead of reading it again.
pub async fn update<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
    format: Format,
    (module, entry): (&str, &LiveEntry),
    read: Option<Option<Fetched>>,
) -> Result<Updated, ManifestError> {
    let entries = [(module.to_owned(), entry.clone())];
    let mut results = update_all(store, bucket, key, format, &entries, read).await;
    results.pop().unwrap_or(Err(ManifestError::Contended {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    }))
}

/// Merges every `(module, entry)` into the `format` document at `key` in one
/// conditional write (re-read and merged again on a lost race); one result per
/// entry, in order. An entry the document cannot take fails alone: the others are
/// written without it. Entries the document already names cost no write. `read` as
/// for [`update`]: a stale one costs a refused write and a read, never a lost entry.
pub async fn update_all<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
    format: Format,
    entries: &[(String, LiveEntry)],
    read: Option<Option<Fetched>>,
) -> Vec<Result<Updated, ManifestError>> {
    let mut read = read;
    let refused = |why: String| ManifestError::Unmergeable {
        format: format.as_str(),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        why,
    };
    for attempt in 1..=MAX_ATTEMPTS {
        let current = match read.take() {
            Some(known) => Ok(known),
            None => store.get(key).await,
        };
        let current = match current {
            Ok(current) => current,
            Err(e) => return entries.iter().map(|_| Err(e.clone().into())).collect(),
        };
        let (before, condition) = match current {
            Some(fetched) => (Some(fetched.bytes), Condition::Matches(fetched.etag)),
            None => (None, Condition::Absent),
        };
        let now = Utc::now().rfc3339();
        let mut document = before.clone();
        // Per entry: Some(Ok(moved)) once merged, Some(Err) when refused.
        let mut merged: Vec<Result<bool, ManifestError>> = Vec::with_capacity(entries.len());
        for (module, entry) in entries {
            if super::holds(format, document.as_deref(), module, entry) {
                merged.push(Ok(false));
                continue;
            }
            match merge(format, document.as_deref(), module, entry, &now) {
                Ok(next) => {
                    document = Some(next);
                    merged.push(Ok(true));
                }
                Err(Unmergeable(why)) => merged.push(Err(refused(why))),
            }
        }
        let finish = |merged: Vec<Result<bool, ManifestError>>, written: &[u8], attempts: u32| {
            merged
                .into_iter()
                .map(|m| {
                    m.map(|moved| Updated {
                        before: before.clone(),
                        written: written.to_vec(),
                        attempts: if moved { attempts } else { 0 },
                    })
                })
                .collect()
        };
        if !merged.iter().any(|m| matches!(m, Ok(true))) {
            let unchanged = before.clone().unwrap_or_default();
            return finish(merged, &unchanged, 0);
        }
        let written = document.unwrap_or_default();
        match store
            .put(key, Body::Bytes(written.clone()), &meta(), &condition)
            .await
        {
            Ok(_) => return finish(merged, &written, attempt),
            Err(e) if e.is_precondition() => {
                tracing::info!(
                    "{key} changed since it was read (another deploy); merging again (attempt {attempt} of {MAX_ATTEMPTS})"
                );
                tokio::time::sleep(crate::clock::jitter(attempt)).await;
            }
            Err(e) => return entries.iter().map(|_| Err(e.clone().into())).collect(),
        }
    }
    entries
        .iter()
        .map(|_| {
            Err(ManifestError::Contended {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            })
        })
        .collect()
}

/// Keeps a revision of the manifest, immutably, at `key`.
pub async fn write_history<S: ObjectStore>(
    store: &S,
    key: &str,
    revision: &[u8],
) -> Result<(), StoreError> {
    let meta = ObjectMeta::plain(Headers {
        cache_control: "no-store".to_owned(),
        content_type: "application/json; charset=utf-8".to_owned(),
    });
    store
        .put(
            key,
            Body::Bytes(revision.to_vec()),
            &meta,
            &Condition::Absent,
        )
        .await
        .map(|_| ())
}

/// A revision of the native manifest a run wrote, to keep in its history.
#[derive(Debug)]
pub struct Revision {
    key: String,
    bytes: Vec<u8>,
}

impl Revision {
    pub fn new(key: String, bytes: Vec<u8>) -> Self {
        Self { key, bytes }
    }

    /// Writes it (once, immutably); a failure only warns: the manifest moved.
    pub async fn keep<S: ObjectStore>(self, store: &S) {
        if let Err(e) = write_history(store, &self.key, &self.bytes).await {
            tracing::warn!(
                "the manifest moved, but its revision could not be kept at {}: {e}",
                self.key
            );
        }
    }
}
