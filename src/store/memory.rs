//! In-memory object store for unit tests, with S3's semantics where the deploy
//! depends on them: conditional writes (412 `PreconditionFailed`), user metadata that
//! a `REPLACE` copy drops unless re-sent, batch deletes with per-key errors, listings
//! from a start key, multipart uploads in progress. It counts calls per operation and
//! injects failures: one error for good (`fail_on`), a sequence of errors consumed one
//! call at a time (`inject`), and a concurrent writer that acts just before a call
//! (`before`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use md5::{Digest as _, Md5};

use super::{
    Body, Condition, DELETE_BATCH, Deleted, Fetched, HeadInfo, Metadata, ObjectMeta, ObjectStore,
    PendingUpload, RemoteObject, StoreError,
};
use crate::model::Headers;
use crate::scan::hex;

#[derive(Debug, Clone)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub etag: String,
    pub headers: Headers,
    pub metadata: Metadata,
}

/// An upload in progress.
#[derive(Debug, Clone)]
struct Upload {
    key: String,
    meta: ObjectMeta,
    parts: BTreeMap<i32, Vec<u8>>,
    initiated: i64,
}

/// An error to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// 412: the precondition failed.
    PreconditionFailed,
    /// 409: a concurrent conditional write.
    Conflict,
    /// Any other service error (a 500).
    ServiceError,
}

/// A change another writer makes right before a call.
type Hook = Box<dyn FnOnce(&MemoryStore) + Send>;

#[derive(Default)]
struct Inner {
    objects: BTreeMap<String, StoredObject>,
    uploads: BTreeMap<String, Upload>,
    next_upload: usize,
    calls: BTreeMap<&'static str, usize>,
    writes: Vec<String>,
    deletes: Vec<String>,
    fail_on: Option<(&'static str, String)>,
    injected: BTreeMap<(&'static str, String), VecDeque<Injected>>,
    hooks: Vec<(&'static str, String, Hook)>,
    hold_list_until_get: bool,
    refuse_delete: Vec<String>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("objects", &self.objects.keys().collect::<Vec<_>>())
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Records a write that leaves `bytes` at `key`.
    fn store(&mut self, key: &str, bytes: Vec<u8>, etag: String, meta: ObjectMeta) {
        self.writes.push(key.to_owned());
        self.objects.insert(
            key.to_owned(),
            StoredObject {
                bytes,
                etag,
                headers: meta.headers,
                metadata: meta.metadata,
            },
        );
    }

    /// 412 unless `condition` holds for `key` now.
    fn check(
        &self,
        operation: &'static str,
        key: &str,
        condition: &Condition,
    ) -> Result<(), StoreError> {
        let current = self.objects.get(key).map(|o| o.etag.as_str());
        let holds = match condition {
            Condition::None => true,
            Condition::Absent => current.is_none(),
            Condition::Matches(etag) => current == Some(etag.trim_matches('"')),
        };
        if holds {
            Ok(())
        } else {
            Err(StoreError::PreconditionFailed {
                bucket: "memory".to_owned(),
                key: key.to_owned(),
                operation,
            })
        }
    }
}

/// The fake store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

fn etag_of(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `operation` fail for `key` from now on.
    pub fn fail_on(&self, operation: &'static str, key: &str) {
        self.lock().fail_on = Some((operation, key.to_owned()));
    }

    /// The next calls of `operation` on `key` fail with these errors, one per call,
    /// in order; later calls succeed again.
    pub fn inject(&self, operation: &'static str, key: &str, errors: &[Injected]) {
        self.lock()
            .injected
            .entry((operation, key.to_owned()))
            .or_default()
            .extend(errors.iter().copied());
    }

    /// Runs `hook` (another writer) right before the next call of `operation` on
    /// `key`, then lets the call proceed against what the hook left.
    pub fn before(
        &self,
        operation: &'static str,
        key: &str,
        hook: impl FnOnce(&MemoryStore) + Send + 'static,
    ) {
        self.lock()
            .hooks
            .push((operation, key.to_owned(), Box::new(hook)));
    }

    /// Makes batch deletes refuse `key` (reported per key, as S3 does).
    pub fn refuse_delete(&self, key: &str) {
        self.lock().refuse_delete.push(key.to_owned());
    }

    /// Makes `list` wait (yielding, never sleeping) until `get` has been called, and
    /// fail when it never is: proves that a caller sends the two together.
    pub fn hold_list_until_get(&self) {
        self.lock().hold_list_until_get = true;
    }

    pub fn insert(&self, key: &str, bytes: &[u8], headers: Headers) {
        self.insert_with(key, bytes, ObjectMeta::plain(headers), &etag_of(bytes));
    }

    /// Inserts an object as another tool (or SSE-KMS) leaves it: any ETag, any
    /// metadata.
    pub fn insert_with(&self, key: &str, bytes: &[u8], meta: ObjectMeta, etag: &str) {
        self.lock().objects.insert(
            key.to_owned(),
            StoredObject {
                bytes: bytes.to_vec(),
                etag: etag.to_owned(),
                headers: meta.headers,
                metadata: meta.metadata,
            },
        );
    }

    /// Starts an upload as a killed run leaves it, `initiated` seconds since the epoch.
    pub fn insert_upload(&self, key: &str, initiated: i64) -> String {
        let mut inner = self.lock();
        inner.next_upload += 1;
        let id = format!("upload-{}", inner.next_upload);
        inner.uploads.insert(
            id.clone(),
            Upload {
                key: key.to_owned(),
                meta: ObjectMeta::plain(Headers {
                    cache_control: String::new(),
                    content_type: String::new(),
                }),
                parts: BTreeMap::new(),
                initiated,
            },
        );
        id
    }

    pub fn remove(&self, key: &str) {
        self.lock().objects.remove(key);
    }

    pub fn object(&self, key: &str) -> Option<StoredObject> {
        self.lock().objects.get(key).cloned()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.lock().objects.keys().cloned().collect()
    }

    /// Ids of the uploads in progress.
    pub fn uploads(&self) -> Vec<String> {
        self.lock().uploads.keys().cloned().collect()
    }

    /// How many times `operation` was called.
    pub fn calls(&self, operation: &str) -> usize {
        self.lock().calls.get(operation).copied().unwrap_or(0)
    }

    /// Keys written (put, copy, complete), in order.
    pub fn writes(&self) -> Vec<String> {
        self.lock().writes.clone()
    }

    /// Keys deleted, in order.
    pub fn deletes(&self) -> Vec<String> {
        self.lock().deletes.clone()
    }

    pub fn reset_counts(&self) {
        let mut inner = self.lock();
        inner.calls.clear();
        inner.writes.clear();
        inner.deletes.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(
        &self,
        operation: &'static str,
        key: &str,
    ) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        let hook = {
            let mut inner = self.lock();
            inner
                .hooks
                .iter()
                .position(|(op, k, _)| *op == operation && k == key)
                .map(|i| inner.hooks.remove(i).2)
        };
        if let Some(hook) = hook {
            hook(self);
        }
        let mut inner = self.lock();
        *inner.calls.entry(operation).or_default() += 1;
        let injected = inner
            .injected
            .get_mut(&(operation, key.to_owned()))
            .and_then(VecDeque::pop_front);
        let failing = inner
            .fail_on
            .as_ref()
            .is_some_and(|(op, k)| *op == operation && k == key);
        let error = |injected| {
            let (bucket, key) = ("memory".to_owned(), key.to_owned());
            match injected {
                Injected::PreconditionFailed => StoreError::PreconditionFailed {
                    bucket,
                    key,
                    operation,
                },
                Injected::Conflict => StoreError::ConditionalConflict {
                    bucket,
                    key,
                    operation,
                },
                Injected::ServiceError => StoreError::Service {
                    bucket,
                    key,
                    operation,
                    message: "injected failure".to_owned(),
                },
            }
        };
        if let Some(injected) = injected {
            return Err(error(injected));
        }
        if failing {
            return Err(error(Injected::ServiceError));
        }
        Ok(inner)
    }
}

fn read(body: Body<'_>) -> Result<Vec<u8>, StoreError> {
    match body {
        Body::Bytes(bytes) => Ok(bytes),
        Body::File {
            path, offset, len, ..
        } => {
            let all = std::fs::read(path).map_err(|e| StoreError::LocalRead {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
            let end = start
                .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                .min(all.len());
            Ok(all[start..end].to_vec())
        }
    }
}

fn no_such(operation: &'static str, key: &str, what: &str) -> StoreError {
    StoreError::Service {
        bucket: "memory".to_owned(),
        key: key.to_owned(),
        operation,
        message: what.to_owned(),
    }
}

impl ObjectStore for MemoryStore {
    async fn list_from(
        &self,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<RemoteObject>, StoreError> {
        if self.lock().hold_list_until_get {
            for _ in 0..1_000 {
                if self.calls("get") > 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            if self.calls("get") == 0 {
                return Err(no_such(
                    "list",
                    prefix,
                    "the listing was awaited before the GET was sent",
                ));
            }
        }
        let inner = self.enter("list", prefix)?;
        Ok(inner
            .objects
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| start_after.is_none_or(|after| k.as_str() > after))
            .map(|(key, o)| RemoteObject {
                key: key.clone(),
                etag: o.etag.clone(),
                size: o.bytes.len() as u64,
                last_modified: None,
            })
            .collect())
    }

    async fn head(&self, key: &str) -> Result<Option<HeadInfo>, StoreError> {
        let inner = self.enter("head", key)?;
        Ok(inner.objects.get(key).map(|o| HeadInfo {
            headers: o.headers.clone(),
            etag: o.etag.clone(),
            size: o.bytes.len() as u64,
            metadata: o.metadata.clone(),
        }))
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        let inner = self.enter("get", key)?;
        Ok(inner.objects.get(key).map(|o| Fetched {
            bytes: o.bytes.clone(),
            etag: o.etag.clone(),
            last_modified: None,
        }))
    }

    async fn put(
        &self,
        key: &str,
        body: Body<'_>,
        meta: &ObjectMeta,
        condition: &Condition,
    ) -> Result<String, StoreError> {
        drop(self.enter("put", key)?);
        let bytes = read(body)?;
        let etag = etag_of(&bytes);
        let mut inner = self.lock();
        inner.check("PutObject", key, condition)?;
        inner.store(key, bytes, etag.clone(), meta.clone());
        Ok(etag)
    }

    async fn replace_headers(
        &self,
        key: &str,
        meta: &ObjectMeta,
        source_etag: Option<&str>,
    ) -> Result<String, StoreError> {
        let mut inner = self.enter("copy", key)?;
        if let Some(etag) = source_etag {
            inner.check("CopyObject", key, &Condition::Matches(etag.to_owned()))?;
        }
        inner.writes.push(key.to_owned());
        let object = inner
            .objects
            .get_mut(key)
            .ok_or_else(|| no_such("CopyObject", key, "NoSuchKey"))?;
        object.headers = meta.headers.clone();
        // `REPLACE`: the old metadata is gone; only what was sent remains.
        object.metadata = meta.metadata.clone();
        Ok(object.etag.clone())
    }

    async fn create_multipart(&self, key: &str, meta: &ObjectMeta) -> Result<String, StoreError> {
        drop(self.enter("create_multipart", key)?);
        let id = self.insert_upload(key, 0);
        if let Some(upload) = self.lock().uploads.get_mut(&id) {
            upload.meta = meta.clone();
        }
        Ok(id)
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Body<'_>,
    ) -> Result<String, StoreError> {
        drop(self.enter("upload_part", key)?);
        let bytes = read(body)?;
        let etag = etag_of(&bytes);
        if let Some(upload) = self.lock().uploads.get_mut(upload_id) {
            upload.parts.insert(part_number, bytes);
        }
        Ok(etag)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
        condition: &Condition,
    ) -> Result<String, StoreError> {
        let mut inner = self.enter("complete_multipart", key)?;
        inner.check("CompleteMultipartUpload", key, condition)?;
        let upload = inner
            .uploads
            .remove(upload_id)
            .ok_or_else(|| no_such("CompleteMultipartUpload", key, "NoSuchUpload"))?;
        let mut bytes = Vec::new();
        let mut outer = Md5::new();
        for (n, _) in parts {
            let part = upload.parts.get(n).cloned().unwrap_or_default();
            outer.update(Md5::digest(&part));
            bytes.extend_from_slice(&part);
        }
        let etag = format!("{}-{}", hex(&outer.finalize()), parts.len());
        inner.store(key, bytes, etag.clone(), upload.meta);
        Ok(etag)
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        let mut inner = self.enter("abort_multipart", key)?;
        inner.uploads.remove(upload_id);
        Ok(())
    }

    async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StoreError> {
        let inner = self.enter("list_uploads", prefix)?;
        Ok(inner
            .uploads
            .iter()
            .filter(|(_, u)| u.key.starts_with(prefix))
            .map(|(id, u)| PendingUpload {
                key: u.key.clone(),
                upload_id: id.clone(),
                initiated: Some(u.initiated),
            })
            .collect())
    }

    async fn delete(&self, keys: &[String]) -> Result<Deleted, StoreError> {
        let mut outcome = Deleted::default();
        for batch in keys.chunks(DELETE_BATCH) {
            let mut inner = self.enter("delete", &batch[0])?;
            for key in batch {
                if inner.refuse_delete.contains(key) {
                    outcome
                        .failed
                        .push((key.clone(), "AccessDenied".to_owned()));
                } else {
                    // Deleting a key that does not exist succeeds, as on S3.
                    inner.objects.remove(key);
                    inner.deletes.push(key.clone());
                    outcome.deleted.push(key.clone());
                }
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests;
