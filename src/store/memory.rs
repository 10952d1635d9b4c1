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

use super::{Condition, Metadata, ObjectMeta, PAGE_SIZE, StoreError};
use crate::model::Headers;
use crate::scan::hex;

fn now_secs() -> i64 {
    crate::clock::Utc::now().millis / 1000
}

#[derive(Debug, Clone)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub etag: String,
    pub headers: Headers,
    pub metadata: Metadata,
    /// Seconds since the epoch when it was written (what a listing reports).
    pub last_modified: i64,
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
    fail_under: Option<(&'static str, String)>,
    /// Writes succeed whatever their condition (a store without conditional writes).
    ignore_conditions: bool,
    /// PUT answers with ETags that are not the body's MD5 (SSE-KMS, some
    /// S3-compatible stores).
    opaque_etags: bool,
    /// Listings carry no ETags (as s3s-fs lists).
    unlisted_etags: bool,
    injected: BTreeMap<(&'static str, String), VecDeque<Injected>>,
    hooks: Vec<(&'static str, String, Hook)>,
    hold_list_until_get: bool,
    refuse_delete: Vec<String>,
    page_size: usize,
    /// Per operation ("list", "put"): how many are in flight now and at most, and
    /// the yields each makes before it answers, so that calls sent together are in
    /// flight together.
    in_flight: BTreeMap<&'static str, InFlight>,
}

#[derive(Default, Clone, Copy)]
struct InFlight {
    yields: usize,
    now: usize,
    most: usize,
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
                last_modified: now_secs(),
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
        let holds = self.ignore_conditions
            || match condition {
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
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                page_size: PAGE_SIZE,
                ..Inner::default()
            }),
        }
    }
}

pub fn etag_of(bytes: &[u8]) -> String {
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

    /// From now on writes succeed whatever their condition, as on an S3-compatible
    /// store that ignores `If-None-Match` and `If-Match`.
    pub fn ignore_conditions(&self) {
        self.lock().ignore_conditions = true;
    }

    /// Every call of `operation` on a key starting with `prefix` fails (a 500).
    pub fn fail_under(&self, operation: &'static str, prefix: &str) {
        self.lock().fail_under = Some((operation, prefix.to_owned()));
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

    /// Lists at most `size` keys a page (S3: [`PAGE_SIZE`]).
    pub fn set_page_size(&self, size: usize) {
        self.lock().page_size = size.max(1);
    }

    /// Makes each `operation` ("list" or "put") yield before it answers, so that
    /// calls sent together overlap; [`most_at_once`](Self::most_at_once) then tells
    /// how many were sent together.
    pub fn overlap(&self, operation: &'static str) {
        self.lock().in_flight.entry(operation).or_default().yields = 64;
    }

    /// The most calls of `operation` that were in flight at one time.
    pub fn most_at_once(&self, operation: &'static str) -> usize {
        self.lock().in_flight.get(operation).map_or(0, |f| f.most)
    }

    /// A call of `operation` is in flight until the future ends; it first yields as
    /// [`overlap`](Self::overlap) set.
    async fn in_flight<T>(&self, operation: &'static str, call: impl Future<Output = T>) -> T {
        let yields = {
            let mut inner = self.lock();
            let f = inner.in_flight.entry(operation).or_default();
            f.now += 1;
            f.most = f.most.max(f.now);
            f.yields
        };
        for _ in 0..yields {
            tokio::task::yield_now().await;
        }
        let result = call.await;
        if let Some(f) = self.lock().in_flight.get_mut(operation) {
            f.now -= 1;
        }
        result
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
                last_modified: now_secs(),
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

    /// Makes every object look written `days` ago (what a listing reports).
    pub fn age_all(&self, days: i64) {
        for object in self.lock().objects.values_mut() {
            object.last_modified -= days * 86_400;
        }
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

    /// From now on, PUT gives ETags that are not the body's MD5 (as SSE-KMS does).
    pub fn opaque_etags(&self) {
        self.lock().opaque_etags = true;
    }

    /// From now on, listings carry no ETags (as s3s-fs lists).
    pub fn unlisted_etags(&self) {
        self.lock().unlisted_etags = true;
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
            .is_some_and(|(op, k)| *op == operation && k == key)
            || inner
                .fail_under
                .as_ref()
                .is_some_and(|(op, p)| *op == operation && key.starts_with(p.as_str()));
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

mod ops;

#[cfg(test)]
mod tests;
