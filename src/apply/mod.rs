//! Apply: execute a plan, phase by phase; the only stage that writes.
//!
//! Within a phase, requests run concurrently (bounded). A phase starts only after the
//! previous one fully succeeded: entries never go live before their chunks, nor HTML
//! before its entries. After a failure no new request starts; those in flight finish
//! so the report can say exactly which files made it.

mod progress;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, TryStreamExt, stream};

use crate::model::Phase;
use crate::plan::{Action, Plan, PlannedFile};
use crate::scan::PART_SIZE;
use crate::store::{Body, ObjectStore, StoreError};

pub use progress::{Progress, ProgressMode};

/// Requests in flight within a phase.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// Parts of one large file in flight.
const PART_CONCURRENCY: usize = 4;

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// ETag returned for every key written.
    pub etags: BTreeMap<String, String>,
    pub uploaded: usize,
    pub headers_updated: usize,
    pub bytes: u64,
}

/// A phase failed; later phases did not run.
#[derive(Debug, thiserror::Error)]
#[error("{} file(s) failed in the {} phase, first: {}", failures.len(), phase.as_str(), failures.first().map_or(String::new(), |(_, e)| e.to_string()))]
pub struct ApplyError {
    /// The phase that failed.
    pub phase: Phase,
    /// Each failed file with its error.
    pub failures: Vec<(String, StoreError)>,
    /// Files written before the run stopped (they are live).
    pub completed: Vec<String>,
    /// Phases that did not run.
    pub skipped: Vec<Phase>,
}

/// Executes `plan` against `store`.
pub async fn apply<S: ObjectStore>(
    store: &S,
    plan: &Plan,
    concurrency: usize,
    progress: &Progress,
) -> Result<Applied, ApplyError> {
    let mut applied = Applied::default();
    let mut completed = Vec::new();
    let counts = plan.counts();
    progress.start(counts.uploaded + counts.headers_only, counts.bytes);
    for (i, phase) in Phase::ALL.into_iter().enumerate() {
        let failed = AtomicBool::new(false);
        let results: Vec<_> = stream::iter(plan.work(phase))
            .map(|file| {
                let failed = &failed;
                async move {
                    if failed.load(Ordering::Relaxed) {
                        return (file, None);
                    }
                    let result = write(store, file).await;
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    } else {
                        progress.file_done(&file.rel_path, sent(file));
                    }
                    (file, Some(result))
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut failures = Vec::new();
        for (file, result) in results {
            match result {
                Some(Ok(etag)) => {
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
        if !failures.is_empty() {
            progress.finish();
            failures.sort_by(|a, b| a.0.cmp(&b.0));
            completed.sort();
            return Err(ApplyError {
                phase,
                failures,
                completed,
                skipped: Phase::ALL[i + 1..].to_vec(),
            });
        }
    }
    progress.finish();
    Ok(applied)
}

fn sent(file: &PlannedFile) -> u64 {
    match file.action {
        Action::Upload(_) => file.digest.size,
        _ => 0,
    }
}

async fn write<S: ObjectStore>(store: &S, file: &PlannedFile) -> Result<String, StoreError> {
    match file.action {
        Action::Unchanged => Ok(String::new()),
        Action::HeadersOnly { .. } => store.replace_headers(&file.key, &file.headers).await,
        Action::Upload(_) if file.digest.is_multipart() => upload_in_parts(store, file).await,
        Action::Upload(_) => {
            let body = Body::File {
                path: &file.abs_path,
                offset: 0,
                len: file.digest.size,
                md5: Some(file.digest.md5),
            };
            store.put(&file.key, body, &file.headers).await
        }
    }
}

/// Uploads in `PART_SIZE` parts, so the ETag is the one the scan predicted.
async fn upload_in_parts<S: ObjectStore>(
    store: &S,
    file: &PlannedFile,
) -> Result<String, StoreError> {
    let upload_id = store.create_multipart(&file.key, &file.headers).await?;
    let size = file.digest.size;
    let part_count = size.div_ceil(PART_SIZE);
    let upload_id = upload_id.as_str();
    let parts = stream::iter(0..part_count)
        .map(|n| async move {
            let offset = n * PART_SIZE;
            let body = Body::File {
                path: &file.abs_path,
                offset,
                len: PART_SIZE.min(size - offset),
                md5: usize::try_from(n)
                    .ok()
                    .and_then(|i| file.digest.part_md5s.get(i))
                    .copied(),
            };
            let number = i32::try_from(n + 1).unwrap_or(i32::MAX);
            store
                .upload_part(&file.key, upload_id, number, body)
                .await
                .map(|etag| (number, etag))
        })
        .buffered(PART_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await;
    let result = match parts {
        Ok(parts) => store.complete_multipart(&file.key, upload_id, &parts).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        // Best effort: an abandoned upload only costs storage until a lifecycle rule.
        let _ = store.abort_multipart(&file.key, upload_id).await;
    }
    result
}

#[cfg(test)]
mod tests;
