//! The fake store's operations, with S3's semantics.

use md5::{Digest as _, Md5};

use super::{MemoryStore, etag_of};
use crate::scan::hex;
use crate::store::{
    Body, Condition, DELETE_BATCH, Deleted, Fetched, HeadInfo, ObjectMeta, ObjectStore, Page,
    PendingUpload, RemoteObject, StoreError,
};

/// The bytes a body sends. Like S3, a wrong `Content-MD5` is refused (`BadDigest`),
/// and so is a body that differs from the SHA-256 it was signed with; stricter than
/// S3, so is a file sent with neither: every upload mfe-deploy makes from a file
/// carries one (a whole file its SHA-256, a part its MD5).
fn read(key: &str, body: Body<'_>) -> Result<Vec<u8>, StoreError> {
    match body {
        Body::Bytes(bytes) => Ok(bytes),
        Body::File {
            path,
            offset,
            len,
            md5,
            sha256,
        } => {
            let all = std::fs::read(path).map_err(|e| StoreError::LocalRead {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
            let end = start
                .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                .min(all.len());
            let bytes = all[start..end].to_vec();
            if sha256.is_some_and(|sha| sha != <[u8; 32]>::from(sha2::Sha256::digest(&bytes))) {
                return Err(no_such(
                    "put",
                    key,
                    "XAmzContentSHA256Mismatch: the signed SHA-256 does not match",
                ));
            }
            match (md5, sha256) {
                (Some(md5), _) if md5 != <[u8; 16]>::from(Md5::digest(&bytes)) => Err(no_such(
                    "put",
                    key,
                    "BadDigest: the Content-MD5 does not match",
                )),
                (None, None) => Err(no_such(
                    "put",
                    key,
                    "a file was sent without its Content-MD5 or SHA-256",
                )),
                _ => Ok(bytes),
            }
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
    async fn list_page(&self, prefix: &str, start_after: Option<&str>) -> Result<Page, StoreError> {
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
        self.in_flight("list", async {
            self.enter("list", prefix).map(|inner| {
                let mut objects: Vec<RemoteObject> = inner
                    .objects
                    .range(prefix.to_owned()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .filter(|(k, _)| start_after.is_none_or(|after| k.as_str() > after))
                    .take(inner.page_size + 1)
                    .map(|(key, o)| RemoteObject {
                        key: key.clone(),
                        etag: if inner.unlisted_etags {
                            String::new()
                        } else {
                            o.etag.clone()
                        },
                        size: o.bytes.len() as u64,
                        last_modified: Some(o.last_modified),
                    })
                    .collect();
                let truncated = objects.len() > inner.page_size;
                objects.truncate(inner.page_size);
                Page { objects, truncated }
            })
        })
        .await
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
            last_modified: Some(o.last_modified),
        }))
    }

    async fn put(
        &self,
        key: &str,
        body: Body<'_>,
        meta: &ObjectMeta,
        condition: &Condition,
    ) -> Result<String, StoreError> {
        self.in_flight("put", async {
            drop(self.enter("put", key)?);
            let bytes = read(key, body)?;
            let mut inner = self.lock();
            let etag = if inner.opaque_etags {
                format!("kms-{}", etag_of(&bytes))
            } else {
                etag_of(&bytes)
            };
            inner.check("PutObject", key, condition)?;
            inner.store(key, bytes, etag.clone(), meta.clone());
            Ok(etag)
        })
        .await
    }

    async fn replace_headers(
        &self,
        key: &str,
        _size: u64,
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

    async fn copy(
        &self,
        source: &str,
        source_etag: &str,
        key: &str,
        _size: u64,
        meta: &ObjectMeta,
        condition: &Condition,
    ) -> Result<String, StoreError> {
        let mut inner = self.enter("copy", key)?;
        inner.check(
            "CopyObject",
            source,
            &Condition::Matches(source_etag.to_owned()),
        )?;
        let object = inner
            .objects
            .get(source)
            .ok_or_else(|| no_such("CopyObject", source, "NoSuchKey"))?;
        let (bytes, etag) = (object.bytes.clone(), object.etag.clone());
        inner.check("CopyObject", key, condition)?;
        inner.store(key, bytes, etag.clone(), meta.clone());
        Ok(etag)
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
        let bytes = read(key, body)?;
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
