//! The object store on the AWS SDK for Rust.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};

use super::counts::{Op, RequestCounts};
use super::{
    Body, Condition, DELETE_BATCH, Deleted, Fetched, HeadInfo, ObjectMeta, ObjectStore, Page,
    PendingUpload, RemoteObject, StoreError,
};
use crate::aws::timeouts::Bounds;
use crate::model::Headers;
use crate::scan::PART_SIZE;

/// S3 (or an S3-compatible server) for one bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    counts: std::sync::Arc<RequestCounts>,
    bounds: Bounds,
}

impl S3Store {
    /// `bounds` are the limits the client was built with; requests that carry a
    /// body get more time from them.
    pub fn new(client: Client, bucket: &str, bounds: Bounds) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
            counts: std::sync::Arc::default(),
            bounds,
        }
    }

    /// Per-request timeouts for a request that sends (or makes S3 copy or assemble)
    /// `bytes`.
    fn sized(&self, bytes: u64) -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::config::Builder::default().timeout_config(self.bounds.for_body(bytes))
    }

    /// Requests sent so far.
    pub fn counts(&self) -> &RequestCounts {
        &self.counts
    }

    fn error<E>(
        &self,
        operation: &'static str,
        key: &str,
        err: &SdkError<E, HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().unwrap_or_default();
        let message = crate::aws::error_message(err);
        if code == "PreconditionFailed" || status == Some(412) {
            StoreError::PreconditionFailed {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                operation,
            }
        } else if code == "ConditionalRequestConflict" || status == Some(409) {
            StoreError::ConditionalConflict {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                operation,
            }
        } else if code == "NoSuchBucket" {
            StoreError::NoSuchBucket {
                bucket: self.bucket.clone(),
            }
        } else if code == "AccessDenied"
            || code == "InvalidAccessKeyId"
            || code == "SignatureDoesNotMatch"
            || status == Some(403)
        {
            StoreError::AccessDenied {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                operation,
                message,
            }
        } else {
            StoreError::Service {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
                operation,
                message,
            }
        }
    }
}

mod copy;
mod wire;
use wire::{KnownPayload, byte_stream, condition_headers, metadata_map, unquote};

impl ObjectStore for S3Store {
    async fn list_page(&self, prefix: &str, start_after: Option<&str>) -> Result<Page, StoreError> {
        self.counts.record(Op::List, 0);
        let started = std::time::Instant::now();
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_start_after(start_after.map(str::to_owned))
            .send()
            .await
            .map_err(|e| self.error("ListObjectsV2", prefix, &e))?;
        let objects = page
            .contents()
            .iter()
            .map(|object| RemoteObject {
                key: object.key().unwrap_or_default().to_owned(),
                etag: unquote(object.e_tag()),
                last_modified: object.last_modified().map(|t| t.secs()),
                size: object
                    .size()
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(0),
            })
            .collect();
        let page = Page {
            objects,
            truncated: page.is_truncated().unwrap_or(false),
        };
        tracing::debug!(
            "LIST s3://{}/{prefix} after {start_after:?}: {} keys{} in {} ms",
            self.bucket,
            page.objects.len(),
            if page.truncated { ", more follow" } else { "" },
            started.elapsed().as_millis()
        );
        Ok(page)
    }

    async fn head(&self, key: &str) -> Result<Option<HeadInfo>, StoreError> {
        self.counts.record(Op::Head, 0);
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(HeadInfo {
                headers: Headers {
                    cache_control: out.cache_control().unwrap_or_default().to_owned(),
                    content_type: out.content_type().unwrap_or_default().to_owned(),
                },
                etag: unquote(out.e_tag()),
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                metadata: out
                    .metadata()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) => Err(self.error("HeadObject", key, &e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        // NOTE: the SDK's timeouts and retries end when the answer's headers arrive;
        // the body is read afterwards, so a body that stalls is bounded and retried
        // here.
        let mut attempt = 1;
        loop {
            self.counts.record(Op::Get, 0);
            let out = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => out,
                Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
                Err(e) => return Err(self.error("GetObject", key, &e)),
            };
            let last_modified = out.last_modified().map(|t| t.secs());
            let etag = unquote(out.e_tag());
            let size = out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0);
            let limit = self.bounds.attempt(size);
            let message = match tokio::time::timeout(limit, out.body.collect()).await {
                Ok(Ok(bytes)) => {
                    return Ok(Some(Fetched {
                        bytes: bytes.to_vec(),
                        etag,
                        last_modified,
                    }));
                }
                Ok(Err(e)) => format!("reading the body failed: {e}"),
                Err(_) => format!("the body did not arrive within {}s", limit.as_secs()),
            };
            if attempt >= self.bounds.max_attempts() {
                return Err(StoreError::Service {
                    bucket: self.bucket.clone(),
                    key: key.to_owned(),
                    operation: "GetObject",
                    message: format!("{message} (attempt {attempt} of {attempt})"),
                });
            }
            tracing::warn!("GetObject s3://{}/{key}: {message}; retrying", self.bucket);
            tokio::time::sleep(self.bounds.backoff(attempt)).await;
            attempt += 1;
        }
    }

    async fn put(
        &self,
        key: &str,
        body: Body<'_>,
        meta: &ObjectMeta,
        condition: &Condition,
    ) -> Result<String, StoreError> {
        self.counts.record(Op::Put, body.len());
        let content_md5 = body.content_md5();
        let checksum = body.checksum_sha256();
        let payload = body.sha256_hex();
        let sized = self.sized(body.len());
        let (if_match, if_none_match) = condition_headers(condition);
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_content_md5(content_md5)
            .set_checksum_algorithm(
                checksum
                    .is_some()
                    .then_some(aws_sdk_s3::types::ChecksumAlgorithm::Sha256),
            )
            .set_checksum_sha256(checksum)
            .body(byte_stream(body).await?)
            .cache_control(&meta.headers.cache_control)
            .content_type(&meta.headers.content_type)
            .set_metadata(metadata_map(meta))
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .customize()
            .config_override(sized);
        if let Some(sha256) = payload {
            request = request.interceptor(KnownPayload(sha256));
        }
        let out = request
            .send()
            .await
            .map_err(|e| self.error("PutObject", key, &e))?;
        Ok(unquote(out.e_tag()))
    }

    async fn replace_headers(
        &self,
        key: &str,
        size: u64,
        meta: &ObjectMeta,
        source_etag: Option<&str>,
    ) -> Result<String, StoreError> {
        (self.copy_object(key, source_etag, key, size, meta, &Condition::None)).await
    }

    async fn copy(
        &self,
        source: &str,
        source_etag: &str,
        key: &str,
        size: u64,
        meta: &ObjectMeta,
        condition: &Condition,
    ) -> Result<String, StoreError> {
        (self.copy_object(source, Some(source_etag), key, size, meta, condition)).await
    }

    async fn create_multipart(&self, key: &str, meta: &ObjectMeta) -> Result<String, StoreError> {
        self.counts.record(Op::Multipart, 0);
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .cache_control(&meta.headers.cache_control)
            .content_type(&meta.headers.content_type)
            .set_metadata(metadata_map(meta))
            .send()
            .await
            .map_err(|e| self.error("CreateMultipartUpload", key, &e))?;
        Ok(out.upload_id().unwrap_or_default().to_owned())
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Body<'_>,
    ) -> Result<String, StoreError> {
        self.counts.record(Op::Multipart, body.len());
        let content_md5 = body.content_md5();
        let sized = self.sized(body.len());
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .set_content_md5(content_md5)
            .body(byte_stream(body).await?)
            .customize()
            .config_override(sized)
            .send()
            .await
            .map_err(|e| self.error("UploadPart", key, &e))?;
        Ok(unquote(out.e_tag()))
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
        condition: &Condition,
    ) -> Result<String, StoreError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(n, etag)| {
                        CompletedPart::builder()
                            .part_number(*n)
                            .e_tag(format!("\"{etag}\""))
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.counts.record(Op::Multipart, 0);
        let (if_match, if_none_match) = condition_headers(condition);
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .customize()
            .config_override(self.sized(PART_SIZE * parts.len() as u64))
            .send()
            .await
            .map_err(|e| self.error("CompleteMultipartUpload", key, &e))?;
        Ok(unquote(out.e_tag()))
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.counts.record(Op::Multipart, 0);
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| self.error("AbortMultipartUpload", key, &e))?;
        Ok(())
    }

    async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StoreError> {
        let mut uploads = Vec::new();
        let (mut key_marker, mut id_marker) = (None, None);
        loop {
            self.counts.record(Op::List, 0);
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| self.error("ListMultipartUploads", prefix, &e))?;
            for upload in page.uploads() {
                uploads.push(PendingUpload {
                    key: upload.key().unwrap_or_default().to_owned(),
                    upload_id: upload.upload_id().unwrap_or_default().to_owned(),
                    initiated: upload.initiated().map(|t| t.secs()),
                });
            }
            if page.is_truncated() != Some(true) {
                return Ok(uploads);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            id_marker = page.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() && id_marker.is_none() {
                return Ok(uploads);
            }
        }
    }

    async fn delete(&self, keys: &[String]) -> Result<Deleted, StoreError> {
        let mut outcome = Deleted::default();
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Service {
                    bucket: self.bucket.clone(),
                    key: batch[0].clone(),
                    operation: "DeleteObjects",
                    message: e.to_string(),
                })?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| StoreError::Service {
                    bucket: self.bucket.clone(),
                    key: batch[0].clone(),
                    operation: "DeleteObjects",
                    message: e.to_string(),
                })?;
            self.counts.record(Op::Delete, 0);
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.error("DeleteObjects", &batch[0], &e))?;
            let failed: Vec<(String, String)> = out
                .errors()
                .iter()
                .map(|e| {
                    let key = e.key().unwrap_or_default().to_owned();
                    let why = format!(
                        "{}: {}",
                        e.code().unwrap_or("Error"),
                        e.message().unwrap_or_default()
                    );
                    (key, why)
                })
                .collect();
            outcome.deleted.extend(
                batch
                    .iter()
                    .filter(|k| !failed.iter().any(|(f, _)| f == *k))
                    .cloned(),
            );
            outcome.failed.extend(failed);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::wire::copy_source;

    #[test]
    fn copy_source_encodes_everything_but_unreserved_and_slash() {
        assert_eq!(
            copy_source("b", "m/a b+(1)ü.png"),
            "b/m/a%20b%2B%281%29%C3%BC.png"
        );
    }
}
