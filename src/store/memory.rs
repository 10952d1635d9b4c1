//! In-memory object store for unit tests: counts calls per operation and can fail a
//! chosen operation on a chosen key.

use std::collections::BTreeMap;
use std::sync::Mutex;

use md5::{Digest as _, Md5};

use super::{Body, Fetched, HeadInfo, ObjectStore, RemoteObject, StoreError};
use crate::model::Headers;
use crate::scan::hex;

#[derive(Debug, Clone)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub etag: String,
    pub headers: Headers,
}

/// An upload in progress: key, headers, parts by number.
type Upload = (String, Headers, BTreeMap<i32, Vec<u8>>);

#[derive(Debug, Default)]
struct Inner {
    objects: BTreeMap<String, StoredObject>,
    uploads: BTreeMap<String, Upload>,
    calls: BTreeMap<&'static str, usize>,
    writes: Vec<String>,
    fail_on: Option<(&'static str, String)>,
    hold_list_until_get: bool,
}

impl Inner {
    /// Records a write that leaves `bytes` at `key`.
    fn store(&mut self, key: &str, bytes: Vec<u8>, etag: String, headers: Headers) {
        self.writes.push(key.to_owned());
        self.objects.insert(
            key.to_owned(),
            StoredObject {
                bytes,
                etag,
                headers,
            },
        );
    }
}

/// The fake store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `operation` fail for `key` from now on.
    pub fn fail_on(&self, operation: &'static str, key: &str) {
        self.lock().fail_on = Some((operation, key.to_owned()));
    }

    /// Makes `list` wait (yielding, never sleeping) until `get` has been called, and
    /// fail when it never is: proves that a caller sends the two together.
    pub fn hold_list_until_get(&self) {
        self.lock().hold_list_until_get = true;
    }

    pub fn insert(&self, key: &str, bytes: &[u8], headers: Headers) {
        let etag = hex(&Md5::digest(bytes));
        self.lock().objects.insert(
            key.to_owned(),
            StoredObject {
                bytes: bytes.to_vec(),
                etag,
                headers,
            },
        );
    }

    pub fn object(&self, key: &str) -> Option<StoredObject> {
        self.lock().objects.get(key).cloned()
    }

    /// How many times `operation` was called.
    pub fn calls(&self, operation: &str) -> usize {
        self.lock().calls.get(operation).copied().unwrap_or(0)
    }

    /// Keys written (put, copy, complete), in order.
    pub fn writes(&self) -> Vec<String> {
        self.lock().writes.clone()
    }

    pub fn reset_counts(&self) {
        let mut inner = self.lock();
        inner.calls.clear();
        inner.writes.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(
        &self,
        operation: &'static str,
        key: &str,
    ) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        let mut inner = self.lock();
        *inner.calls.entry(operation).or_default() += 1;
        if inner
            .fail_on
            .as_ref()
            .is_some_and(|(op, k)| *op == operation && k == key)
        {
            return Err(StoreError::Service {
                bucket: "memory".to_owned(),
                key: key.to_owned(),
                operation,
                message: "injected failure".to_owned(),
            });
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

impl ObjectStore for MemoryStore {
    async fn list(&self, prefix: &str) -> Result<Vec<RemoteObject>, StoreError> {
        if self.lock().hold_list_until_get {
            for _ in 0..1_000 {
                if self.calls("get") > 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            if self.calls("get") == 0 {
                return Err(StoreError::Service {
                    bucket: "memory".to_owned(),
                    key: prefix.to_owned(),
                    operation: "list",
                    message: "the listing was awaited before the GET was sent".to_owned(),
                });
            }
        }
        let inner = self.enter("list", prefix)?;
        Ok(inner
            .objects
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
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
        }))
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        let inner = self.enter("get", key)?;
        Ok(inner.objects.get(key).map(|o| Fetched {
            bytes: o.bytes.clone(),
            last_modified: None,
        }))
    }

    async fn put(
        &self,
        key: &str,
        body: Body<'_>,
        headers: &Headers,
    ) -> Result<String, StoreError> {
        drop(self.enter("put", key)?);
        let bytes = read(body)?;
        let etag = hex(&Md5::digest(&bytes));
        self.lock().store(key, bytes, etag.clone(), headers.clone());
        Ok(etag)
    }

    async fn replace_headers(&self, key: &str, headers: &Headers) -> Result<String, StoreError> {
        let mut inner = self.enter("copy", key)?;
        inner.writes.push(key.to_owned());
        let object = inner
            .objects
            .get_mut(key)
            .ok_or_else(|| StoreError::Service {
                bucket: "memory".to_owned(),
                key: key.to_owned(),
                operation: "CopyObject",
                message: "NoSuchKey".to_owned(),
            })?;
        object.headers = headers.clone();
        Ok(object.etag.clone())
    }

    async fn create_multipart(&self, key: &str, headers: &Headers) -> Result<String, StoreError> {
        let mut inner = self.enter("create_multipart", key)?;
        let id = format!("upload-{}", inner.uploads.len() + 1);
        inner.uploads.insert(
            id.clone(),
            (key.to_owned(), headers.clone(), BTreeMap::new()),
        );
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
        let etag = hex(&Md5::digest(&bytes));
        if let Some(upload) = self.lock().uploads.get_mut(upload_id) {
            upload.2.insert(part_number, bytes);
        }
        Ok(etag)
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> Result<String, StoreError> {
        let mut inner = self.enter("complete_multipart", key)?;
        let (_, headers, stored) =
            inner
                .uploads
                .remove(upload_id)
                .ok_or_else(|| StoreError::Service {
                    bucket: "memory".to_owned(),
                    key: key.to_owned(),
                    operation: "CompleteMultipartUpload",
                    message: "NoSuchUpload".to_owned(),
                })?;
        let mut bytes = Vec::new();
        let mut outer = Md5::new();
        for (n, _) in parts {
            let part = stored.get(n).cloned().unwrap_or_default();
            outer.update(Md5::digest(&part));
            bytes.extend_from_slice(&part);
        }
        let etag = format!("{}-{}", hex(&outer.finalize()), parts.len());
        inner.store(key, bytes, etag.clone(), headers);
        Ok(etag)
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        let mut inner = self.enter("abort_multipart", key)?;
        inner.uploads.remove(upload_id);
        Ok(())
    }
}
