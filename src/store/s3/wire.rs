//! What the S3 client sends: bodies (in memory when small, streamed from disk when
//! large), conditional-write headers, copy sources and user metadata.

use aws_runtime::auth::PayloadSigningOverride;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::{ByteStream, Length};

use crate::store::{Body, Condition, ObjectMeta, StoreError};

/// Bodies up to this size are read into memory: one read, a plain request with a
/// Content-Length. Larger ones stream from disk. In flight at once: at most the
/// upload concurrency times this.
const IN_MEMORY_BODY: u64 = 256 * 1024;

pub(super) async fn byte_stream(body: Body<'_>) -> Result<ByteStream, StoreError> {
    match body {
        Body::Bytes(bytes) => Ok(ByteStream::from(bytes)),
        Body::File {
            path,
            offset: 0,
            len,
            ..
        } if len <= IN_MEMORY_BODY => {
            // NOTE: a plain read on the runtime's thread, not `tokio::fs` (a hop to
            // the blocking pool and back, per file: 7% of a cold deploy's CPU). The
            // MD5 pass read this file moments ago, so it comes from the page cache.
            let bytes = std::fs::read(path).map_err(|e| StoreError::LocalRead {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            if bytes.len() as u64 != len {
                return Err(StoreError::LocalRead {
                    path: path.to_owned(),
                    message: format!(
                        "it changed since it was scanned ({len} bytes then, {} now)",
                        bytes.len()
                    ),
                });
            }
            Ok(ByteStream::from(bytes))
        }
        Body::File {
            path, offset, len, ..
        } => ByteStream::read_from()
            .path(path)
            .offset(offset)
            .length(Length::Exact(len))
            .build()
            .await
            .map_err(|e| StoreError::LocalRead {
                path: path.to_owned(),
                message: e.to_string(),
            }),
    }
}

/// Signs a request with a body's SHA-256 known beforehand (hex), instead of the
/// client hashing an in-memory body again or sending a streamed one unsigned.
#[derive(Debug)]
pub(super) struct KnownPayload(pub String);

impl Intercept for KnownPayload {
    fn name(&self) -> &'static str {
        "KnownPayload"
    }

    fn modify_before_signing(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(PayloadSigningOverride::Precomputed(self.0.clone()));
        Ok(())
    }
}

pub(super) fn unquote(etag: Option<&str>) -> String {
    etag.unwrap_or_default().trim_matches('"').to_owned()
}

/// `CopySource` is `bucket/key` with the key URL-encoded (slashes kept).
pub(super) fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = format!("{bucket}/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `(If-Match, If-None-Match)` for a condition.
pub(super) fn condition_headers(condition: &Condition) -> (Option<String>, Option<String>) {
    match condition {
        Condition::None => (None, None),
        Condition::Absent => (None, Some("*".to_owned())),
        Condition::Matches(etag) => (Some(format!("\"{etag}\"")), None),
    }
}

pub(super) fn metadata_map(meta: &ObjectMeta) -> Option<std::collections::HashMap<String, String>> {
    (!meta.metadata.is_empty()).then(|| meta.metadata.clone().into_iter().collect())
}
