//! Apply: execute a plan, phase by phase; the only stage that writes.
//!
//! Within a phase, requests run concurrently (bounded). A phase starts only after the
//! previous one fully succeeded: entries never go live before their chunks, nor HTML
//! before its entries. After a failure no new request starts; those in flight finish
//! so the report can say exactly which files made it.

mod confirm;
mod landed;
mod progress;
mod send;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, stream};

use crate::model::Phase;
use crate::plan::{Action, Plan, PlannedFile, UploadReason};
use crate::store::{Condition, ObjectStore, StoreError};

use send::{already_there, copied_already, meta, send};

pub use landed::Landed;
pub use progress::{Progress, ProgressMode};

/// Files in flight for one module deploying alone: as many requests as `rclone copy
/// --transfers 32 --checkers 32` keeps in flight (each of its uploads is followed by
/// a HEAD; ours is one request), which at a 20 ms round trip halves the rounds a
/// 200-file module waits for (docs/performance.md).
const MODULE_UPLOADS: usize = 64;
/// Files in flight for all the modules of a `packages` run together. Thirty modules
/// with 32 each put close to a thousand uploads on one client and one server at once;
/// capped at 64, a cold run of the benchmark's 31 modules was faster in most rounds,
/// by a few percent (docs/performance.md).
const RUN_UPLOADS: usize = 64;
/// Server-side copies in flight, besides the uploads: a copy sends no body, so
/// many go at once (a new version of a 200-file module copies its unchanged files
/// in two round trips rather than seven). Not more: S3 takes about 3,500 writes a
/// second per prefix, and 256 at once gained 8 ms in 280 on the benchmark's one
/// change at +20 ms, where the server's CPU was the limit (docs/performance.md).
const COPIES: usize = 128;

/// Files being written at once: one module's own, or shared by the modules of a
/// `packages` run (fairly: a waiting upload gets the next free slot, whichever
/// module it is from).
#[derive(Debug)]
pub struct Slots {
    permits: tokio::sync::Semaphore,
    /// For server-side copies.
    copies: tokio::sync::Semaphore,
    total: usize,
}

impl Slots {
    pub fn new(total: usize) -> Self {
        let total = total.max(1);
        Self {
            permits: tokio::sync::Semaphore::new(total),
            copies: tokio::sync::Semaphore::new(COPIES),
            total,
        }
    }

    /// For one module deploying alone.
    pub fn one_module() -> Self {
        Self::new(MODULE_UPLOADS)
    }

    /// Shared by every module of a `packages` run.
    pub fn one_run() -> Self {
        Self::new(RUN_UPLOADS)
    }
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// ETag returned for every key written.
    pub etags: BTreeMap<String, String>,
    pub uploaded: usize,
    pub headers_updated: usize,
    /// Written by a server-side copy: no byte sent.
    pub copied: usize,
    pub bytes: u64,
    /// Files a concurrent writer had already stored with the same bytes.
    pub already_there: Vec<String>,
}

/// A phase failed; later phases did not run.
#[derive(Debug, thiserror::Error)]
#[error("{} file(s) failed in the {} phase, first: {}", failures.len(), phase.as_str(), failures.first().map_or(String::new(), |(_, e)| e.to_string()))]
pub struct ApplyError {
    /// The phase that failed.
    pub phase: Phase,
    /// Each failed file with its error.
    pub failures: Vec<(String, FileError)>,
    /// Files written before the run stopped (they are live).
    pub completed: Vec<String>,
    /// Phases that did not run.
    pub skipped: Vec<Phase>,
    /// What was done before the run stopped.
    pub applied: Applied,
}

/// Executes `plan` against `store`; `landed`, when given, hears of each file as it
/// lands, and of the end.
pub async fn apply<S: ObjectStore>(
    store: &S,
    plan: &Plan,
    slots: &Slots,
    progress: &Progress,
    landed: Option<&Landed>,
) -> Result<Applied, ApplyError> {
    let result = phases(store, plan, slots, progress, landed).await;
    if let Some(landed) = landed {
        landed.end();
    }
    result
}

async fn phases<S: ObjectStore>(
    store: &S,
    plan: &Plan,
    slots: &Slots,
    progress: &Progress,
    landed: Option<&Landed>,
) -> Result<Applied, ApplyError> {
    let mut applied = Applied::default();
    let mut completed = Vec::new();
    let counts = plan.counts();
    progress.start(
        counts.uploaded + counts.headers_only + counts.copied,
        counts.bytes,
    );
    let copying = AtomicBool::new(true);
    for (i, phase) in Phase::ALL.into_iter().enumerate() {
        let references = plan.guards_of(phase);
        if !references.is_empty() {
            let failures = confirm::missing(store, plan, references).await;
            if !failures.is_empty() {
                progress.finish();
                completed.sort();
                return Err(ApplyError {
                    phase,
                    failures,
                    completed,
                    skipped: Phase::ALL[i..].to_vec(),
                    applied,
                });
            }
        }
        for wave in plan.waves(phase) {
            let writing = Writing {
                store,
                plan,
                slots,
                progress,
                copying: &copying,
                landed,
            };
            let failures = writing.wave(wave, &mut applied, &mut completed).await;
            if !failures.is_empty() {
                progress.finish();
                completed.sort();
                return Err(ApplyError {
                    phase,
                    failures,
                    completed,
                    skipped: Phase::ALL[i + 1..].to_vec(),
                    applied,
                });
            }
        }
    }
    progress.finish();
    Ok(applied)
}

/// What every write of an apply shares.
struct Writing<'a, S> {
    store: &'a S,
    plan: &'a Plan,
    slots: &'a Slots,
    progress: &'a Progress,
    /// Cleared when the store fails a copy for another reason than a precondition:
    /// the rest are sent from the runner.
    copying: &'a AtomicBool,
    landed: Option<&'a Landed>,
}

impl<S: ObjectStore> Writing<'_, S> {
    /// Writes one wave concurrently; after a failure no new request starts, and those
    /// in flight finish. Returns the failures, sorted by path.
    async fn wave(
        &self,
        wave: Vec<&PlannedFile>,
        applied: &mut Applied,
        completed: &mut Vec<String>,
    ) -> Vec<(String, FileError)> {
        let Self {
            slots, progress, ..
        } = *self;
        let failed = AtomicBool::new(false);
        let results: Vec<_> = stream::iter(wave)
            .map(|file| {
                let failed = &failed;
                async move {
                    // NOTE: the semaphore is never closed, so acquiring only waits.
                    let copy = matches!(file.action, Action::Copy { .. })
                        && self.copying.load(Ordering::Relaxed);
                    let _slot = match copy {
                        true => slots.copies.acquire().await,
                        false => slots.permits.acquire().await,
                    };
                    if failed.load(Ordering::Relaxed) {
                        return (file, None);
                    }
                    let result = self.write(file).await;
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    } else {
                        if let Some(landed) = self.landed {
                            landed.mark(&file.key);
                        }
                        progress.file_done(&file.rel_path, sent(file));
                    }
                    (file, Some(result))
                }
            })
            .buffer_unordered(slots.total + COPIES)
            .collect()
            .await;
        let mut failures = Vec::new();
        for (file, result) in results {
            match result {
                Some(Ok(Written::AlreadyThere(etag))) => {
                    // Another writer stored the same bytes first: nothing was sent.
                    applied.etags.insert(file.key.clone(), etag);
                    applied.already_there.push(file.rel_path.clone());
                }
                Some(Ok(Written::Copied(etag))) => {
                    completed.push(file.rel_path.clone());
                    applied.etags.insert(file.key.clone(), etag);
                    applied.copied += 1;
                }
                Some(Ok(Written::Now(etag))) => {
                    completed.push(file.rel_path.clone());
                    applied.etags.insert(file.key.clone(), etag);
                    match file.action {
                        Action::HeadersOnly { .. } => applied.headers_updated += 1,
                        _ => {
                            applied.uploaded += 1;
                            applied.bytes += file.digest.size;
                        }
                    }
                }
                Some(Err(e)) => failures.push((file.rel_path.clone(), e)),
                None => {}
            }
        }
        failures.sort_by(|a, b| a.0.cmp(&b.0));
        failures
    }

    /// Writes one file as planned. A copy the store fails is sent from the runner.
    async fn write(&self, file: &PlannedFile) -> Result<Written, FileError> {
        let (store, plan) = (self.store, self.plan);
        let bucket = plan.bucket.as_str();
        let condition = condition(plan, file);
        let result = match &file.action {
            Action::Unchanged => return Ok(Written::Now(String::new())),
            Action::HeadersOnly { .. } => {
                return match store
                    .replace_headers(
                        &file.key,
                        file.digest.size,
                        &meta(file),
                        file.remote_etag.as_deref(),
                    )
                    .await
                {
                    Ok(etag) => Ok(Written::Now(etag)),
                    Err(e) if e.is_precondition() => Err(FileError::ChangedSinceListing {
                        bucket: bucket.to_owned(),
                        key: file.key.clone(),
                    }),
                    Err(e) => Err(e.into()),
                };
            }
            Action::Copy {
                source,
                source_etag,
            } if self.copying.load(Ordering::Relaxed) => {
                let copied = store
                    .copy(
                        source,
                        source_etag,
                        &file.key,
                        file.digest.size,
                        &meta(file),
                        &condition,
                    )
                    .await;
                match copied {
                    Ok(etag) => return Ok(Written::Copied(etag)),
                    Err(e) if !plan.from_runner => return copied_already(store, file, e).await,
                    Err(e) => {
                        if !e.is_precondition() {
                            self.copying.store(false, Ordering::Relaxed);
                        }
                        tracing::info!(
                            "copying {source} to {} failed ({e}); sending the file instead",
                            file.key
                        );
                        // Sent like any upload: within the uploads' slots.
                        let _slot = self.slots.permits.acquire().await;
                        send(store, file, &condition).await
                    }
                }
            }
            Action::Copy { .. } | Action::Upload(_) => send(store, file, &condition).await,
        };
        match result {
            Ok(etag) => Ok(Written::Now(etag)),
            Err(e) if e.is_precondition() && condition == Condition::Absent => {
                already_there(store, bucket, file).await
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn sent(file: &PlannedFile) -> u64 {
    match file.action {
        Action::Upload(_) => file.digest.size,
        _ => 0,
    }
}

/// Why one file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A content-hashed key this deploy was to create appeared, with other bytes,
    /// between the plan and the write: another writer's build uses the same hashed
    /// name for other content.
    #[error(
        "s3://{bucket}/{key} appeared with other bytes while this deploy ran (another writer); a content-hashed key is never overwritten"
    )]
    ImmutableTaken { bucket: String, key: String },
    /// A file the phase would publish names a key that is no longer in the bucket.
    #[error(
        "s3://{bucket}/{key}, which {named_by} names, is no longer in the bucket (removed since the listing by another writer); nothing of this phase was published. Re-run the deploy: it plans against what is there now"
    )]
    MissingReference {
        bucket: String,
        key: String,
        named_by: String,
    },
    /// The object a header-only rewrite was planned for changed since the listing.
    #[error(
        "s3://{bucket}/{key} changed since it was listed (another writer); re-run the deploy to plan against what is there now"
    )]
    ChangedSinceListing { bucket: String, key: String },
}

/// How a key ended up right.
enum Written {
    /// This run wrote it; the new ETag.
    Now(String),
    /// This run copied it server-side; the new ETag.
    Copied(String),
    /// Another writer had already stored exactly these bytes; their ETag.
    AlreadyThere(String),
}

/// A new content-hashed key (in versioned mode: any new key) is created only if it
/// is still absent: a concurrent writer between plan and write cannot be overwritten.
fn condition(plan: &Plan, file: &PlannedFile) -> Condition {
    let write_once = plan.write_once || file.immutable;
    let creates = matches!(
        file.action,
        Action::Upload(UploadReason::New) | Action::Copy { .. }
    );
    if write_once && creates {
        Condition::Absent
    } else {
        Condition::None
    }
}

#[cfg(test)]
mod copy_tests;
#[cfg(test)]
mod tests;
