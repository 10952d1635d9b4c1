//! How one file's bytes reach the store: in one request or in parts, and what a
//! refused create or copy means when the key turns out to hold the same bytes.

use futures::{StreamExt, TryStreamExt, stream};

use super::{FileError, Written};
use crate::plan::PlannedFile;
use crate::scan::{EtagMatch, PART_SIZE};
use crate::store::{Body, Condition, ObjectMeta, ObjectStore, StoreError};

/// Parts of one large file in flight.
const PART_CONCURRENCY: usize = 4;

/// A copy that cannot fall back to sending failed: a refused condition is fine when
/// the key already holds exactly the file's bytes (a retried copy that had landed).
pub(super) async fn copied_already<S: ObjectStore>(
    store: &S,
    file: &PlannedFile,
    error: StoreError,
) -> Result<Written, FileError> {
    if error.is_precondition()
        && let Some(head) = store.head(&file.key).await?
        && head.size == file.digest.size
        && head.sha256() == Some(file.digest.sha256_hex().as_str())
    {
        return Ok(Written::AlreadyThere(head.etag));
    }
    Err(error.into())
}

/// Sends a file's bytes: in one request, or in parts when it is large.
pub(super) async fn send<S: ObjectStore>(
    store: &S,
    file: &PlannedFile,
    condition: &Condition,
) -> Result<String, StoreError> {
    if file.digest.is_multipart() {
        upload_in_parts(store, file, condition).await
    } else {
        store
            .put(&file.key, whole(file), &meta(file), condition)
            .await
    }
}

/// The write's metadata: the file's headers and the SHA-256 of its bytes, so the
/// object stays verifiable whatever its ETag.
pub(super) fn meta(file: &PlannedFile) -> ObjectMeta {
    ObjectMeta::with_sha256(file.headers.clone(), &file.digest.sha256_hex())
}

/// A conditional create found the key taken: identical bytes are fine, other bytes
/// are a refusal.
pub(super) async fn already_there<S: ObjectStore>(
    store: &S,
    bucket: &str,
    file: &PlannedFile,
) -> Result<Written, FileError> {
    let taken = || FileError::ImmutableTaken {
        bucket: bucket.to_owned(),
        key: file.key.clone(),
    };
    let Some(head) = store.head(&file.key).await? else {
        // Deleted again since: a retry creates it.
        return match store
            .put(&file.key, whole(file), &meta(file), &Condition::Absent)
            .await
        {
            Ok(etag) => Ok(Written::Now(etag)),
            Err(e) if e.is_precondition() => Err(taken()),
            Err(e) => Err(e.into()),
        };
    };
    let same = head.size == file.digest.size
        && match head.sha256() {
            Some(sha) => sha == file.digest.sha256_hex(),
            None => with_md5(file).await?.compare_etag(&head.etag) == EtagMatch::Same,
        };
    if same {
        Ok(Written::AlreadyThere(head.etag))
    } else {
        Err(taken())
    }
}

/// The file's digest with its MD5s, to compare with an ETag: a new file's plan had
/// no need of them, so they are computed here.
async fn with_md5(file: &PlannedFile) -> Result<crate::scan::Digest, StoreError> {
    if file.digest.has_md5() {
        return Ok(file.digest.clone());
    }
    let (path, scanned) = (file.abs_path.clone(), file.digest.clone());
    let read_error = |message: String| StoreError::LocalRead {
        path: file.abs_path.clone(),
        message,
    };
    tokio::task::spawn_blocking(move || crate::scan::md5_of(&path, &scanned))
        .await
        .map_err(|e| read_error(e.to_string()))?
        .map_err(|e| read_error(e.to_string()))
}

/// The whole file as one body, with the digests the scan and the MD5 pass computed.
fn whole(file: &PlannedFile) -> Body<'_> {
    Body::File {
        path: &file.abs_path,
        offset: 0,
        len: file.digest.size,
        md5: file.digest.md5(),
        sha256: Some(file.digest.sha256),
    }
}

/// Uploads in `PART_SIZE` parts, so the ETag is the one the scan predicted. The
/// upload is aborted on every error path.
async fn upload_in_parts<S: ObjectStore>(
    store: &S,
    file: &PlannedFile,
    condition: &Condition,
) -> Result<String, StoreError> {
    let upload_id = store.create_multipart(&file.key, &meta(file)).await?;
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
                    .and_then(|i| file.digest.part_md5(i)),
                sha256: None,
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
        Ok(parts) => {
            store
                .complete_multipart(&file.key, upload_id, &parts, condition)
                .await
        }
        Err(e) => Err(e),
    };
    if result.is_err() {
        // Best effort: an abandoned upload only costs storage until the next run's
        // clean-up or a lifecycle rule removes it.
        let _ = store.abort_multipart(&file.key, upload_id).await;
    }
    result
}
