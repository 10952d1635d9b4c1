//! The object store behind a small trait: the real S3 client, and an in-memory fake
//! that counts calls and injects failures for unit tests.

pub mod counts;
pub mod listing;
#[cfg(test)]
pub mod memory;
pub mod probe;
pub mod s3;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};

pub use listing::{PAGE_SIZE, Page};

use crate::model::Headers;

/// One object from a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    pub key: String,
    /// ETag without quotes; empty when the store lists none (some S3-compatible
    /// servers omit it from ListObjectsV2).
    pub etag: String,
    pub size: u64,
    /// Seconds since the epoch, as the store reports it.
    pub last_modified: Option<i64>,
}

/// A small object's bytes, as a GET returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// ETag without quotes: what a conditional write of this key names in `If-Match`.
    pub etag: String,
    /// Seconds since the epoch, as the store reports it.
    pub last_modified: Option<i64>,
}

/// User metadata (`x-amz-meta-<name>`), names in lower case.
pub type Metadata = BTreeMap<String, String>;

/// The user-metadata name under which every object mfe-deploy writes carries the
/// SHA-256 of its bytes (hex): the content's identity whatever its ETag is.
pub const SHA256_METADATA: &str = "sha256";

/// What a HEAD tells about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadInfo {
    pub headers: Headers,
    /// ETag without quotes.
    pub etag: String,
    pub size: u64,
    pub metadata: Metadata,
}

impl HeadInfo {
    /// The SHA-256 of the bytes, when the writer recorded it.
    pub fn sha256(&self) -> Option<&str> {
        self.metadata.get(SHA256_METADATA).map(String::as_str)
    }
}

/// What an object is written with: its headers and user metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub headers: Headers,
    pub metadata: Metadata,
}

impl ObjectMeta {
    /// Headers plus the SHA-256 of the bytes as metadata.
    pub fn with_sha256(headers: Headers, sha256: &str) -> Self {
        Self {
            headers,
            metadata: Metadata::from([(SHA256_METADATA.to_owned(), sha256.to_owned())]),
        }
    }

    pub fn plain(headers: Headers) -> Self {
        Self {
            headers,
            metadata: Metadata::new(),
        }
    }

    /// The tool's own JSON documents (records, the pointer, the state): never cached.
    pub fn private_json() -> Self {
        Self::plain(Headers {
            cache_control: "no-store".to_owned(),
            content_type: "application/json".to_owned(),
        })
    }
}

/// When a write may happen (S3 conditional writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Always.
    None,
    /// Only when the key does not exist (`If-None-Match: *`).
    Absent,
    /// Only when the key holds the object with this ETag (`If-Match`; for a copy,
    /// `x-amz-copy-source-if-match`).
    Matches(String),
}

impl Condition {
    /// Replaces the object as it was read: `If-Match` its ETag, or `If-None-Match: *`
    /// when there was none.
    pub fn replacing(read_etag: Option<&str>) -> Self {
        match read_etag {
            Some(etag) => Self::Matches(etag.to_owned()),
            None => Self::Absent,
        }
    }
}

/// A multipart upload that was started and neither completed nor aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    pub key: String,
    pub upload_id: String,
    /// Seconds since the epoch.
    pub initiated: Option<i64>,
}

/// What a batch delete did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    pub deleted: Vec<String>,
    /// Keys the store refused to delete, each with its reason.
    pub failed: Vec<(String, String)>,
}

/// Keys one `DeleteObjects` request may name.
pub const DELETE_BATCH: usize = 1_000;

/// What to send as an object's (or a part's) bytes.
#[derive(Debug, Clone)]
pub enum Body<'a> {
    /// A byte range of a local file.
    File {
        path: &'a Path,
        offset: u64,
        len: u64,
        /// MD5 of the range, sent as `Content-MD5` so the store verifies the bytes.
        md5: Option<[u8; 16]>,
        /// SHA-256 of the range when known (a whole file's, from the scan): the
        /// request is signed with it, so the store refuses bytes that differ, and
        /// the client need not hash the body again.
        sha256: Option<[u8; 32]>,
    },
    /// Small generated content.
    Bytes(Vec<u8>),
}

impl Body<'_> {
    /// Bytes this body sends.
    pub fn len(&self) -> u64 {
        match self {
            Self::File { len, .. } => *len,
            Self::Bytes(bytes) => bytes.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The SHA-256 (hex) the request is signed with, when it is known beforehand.
    pub fn sha256_hex(&self) -> Option<String> {
        match self {
            Self::File { sha256, .. } => sha256.as_ref().map(|s| crate::scan::hex(s)),
            Self::Bytes(_) => None,
        }
    }

    /// `x-amz-checksum-sha256` (base64) when the body's SHA-256 is known: the store
    /// verifies the bytes against it, and it is the checksum S3 Object Lock accepts
    /// in place of `Content-MD5`, so a new file needs no MD5 at all.
    pub fn checksum_sha256(&self) -> Option<String> {
        match self {
            Self::File { sha256, .. } => sha256.map(aws_smithy_types::base64::encode),
            Self::Bytes(_) => None,
        }
    }

    /// `Content-MD5` (base64) when the body's MD5 is known.
    pub fn content_md5(&self) -> Option<String> {
        match self {
            Self::File { md5, .. } => md5.map(aws_smithy_types::base64::encode),
            Self::Bytes(bytes) => {
                use md5::Digest as _;
                Some(aws_smithy_types::base64::encode(md5::Md5::digest(bytes)))
            }
        }
    }
}

/// Operations the deploy needs, named as S3 names them.
pub trait ObjectStore: Sync {
    /// One page of the objects under `prefix` whose keys sort after `start_after`
    /// (from the first when `None`): at most [`PAGE_SIZE`], in key order.
    fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;
    /// Every object under `prefix` whose key sorts after `start_after` (all of them
    /// when `None`), all pages.
    fn list_from(
        &self,
        prefix: &str,
        start_after: Option<&str>,
    ) -> impl Future<Output = Result<Vec<RemoteObject>, StoreError>> + Send {
        listing::all_after(self, prefix, start_after)
    }
    /// Every object under `prefix`, all pages.
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<RemoteObject>, StoreError>> + Send {
        self.list_from(prefix, None)
    }
    /// An object's headers, ETag and metadata, or `None` when it does not exist.
    fn head(&self, key: &str) -> impl Future<Output = Result<Option<HeadInfo>, StoreError>> + Send;
    /// A small object's bytes, or `None` when it does not exist.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Fetched>, StoreError>> + Send;
    /// Writes an object in one request when `condition` holds; returns its ETag.
    fn put(
        &self,
        key: &str,
        body: Body<'_>,
        meta: &ObjectMeta,
        condition: &Condition,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Rewrites an object's headers and metadata without sending its bytes (a copy
    /// onto itself, bounded in time by the object's `size`); `source_etag` makes it
    /// conditional on the object being the one listed. Returns the new ETag.
    fn replace_headers(
        &self,
        key: &str,
        size: u64,
        meta: &ObjectMeta,
        source_etag: Option<&str>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Copies `source` (when its ETag is `source_etag`) to `key` inside the bucket,
    /// with `meta` instead of the source's headers and metadata, when `condition`
    /// holds for `key`: no byte passes through the runner; `size` (the source's)
    /// bounds how long the store may take. Returns the new ETag.
    fn copy(
        &self,
        source: &str,
        source_etag: &str,
        key: &str,
        size: u64,
        meta: &ObjectMeta,
        condition: &Condition,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Starts a multipart upload; returns its id.
    fn create_multipart(
        &self,
        key: &str,
        meta: &ObjectMeta,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Uploads one part (numbered from 1); returns its ETag.
    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        body: Body<'_>,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Completes a multipart upload from `(part number, ETag)` pairs when
    /// `condition` holds; returns the ETag.
    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
        condition: &Condition,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Abandons a multipart upload so its parts stop costing storage.
    fn abort_multipart(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Multipart uploads in progress under `prefix`.
    fn list_uploads(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<PendingUpload>, StoreError>> + Send;
    /// Deletes `keys` (any number: sent [`DELETE_BATCH`] a request); per-key
    /// refusals are reported, not raised.
    fn delete(&self, keys: &[String]) -> impl Future<Output = Result<Deleted, StoreError>> + Send;
}

/// An object-store request that failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The bucket does not exist.
    #[error(
        "bucket `{bucket}` does not exist (S3 answered NoSuchBucket): check the `bucket` input or the environment's `bucket` in the config, and the region"
    )]
    NoSuchBucket { bucket: String },
    /// The credentials may not perform this operation.
    #[error(
        "access denied: {operation} on s3://{bucket}/{key} ({message}); the credentials in use lack permission — check the role or keys and the bucket policy (the least-privilege policy is in docs/environments.md)"
    )]
    AccessDenied {
        bucket: String,
        key: String,
        operation: &'static str,
        message: String,
    },
    /// S3 answered with another error.
    #[error("{operation} on s3://{bucket}/{key} failed: {message}")]
    Service {
        bucket: String,
        key: String,
        operation: &'static str,
        message: String,
    },
    /// A conditional write found the key not as required: it exists (`Absent`) or
    /// holds another object (`Matches`). Another writer got there first.
    #[error(
        "{operation} on s3://{bucket}/{key}: the precondition failed (412): another writer changed this key since it was read"
    )]
    PreconditionFailed {
        bucket: String,
        key: String,
        operation: &'static str,
    },
    /// A conditional write raced another write of the same key (409); retry.
    #[error(
        "{operation} on s3://{bucket}/{key}: a concurrent write of the same key is in progress (409 ConditionalRequestConflict)"
    )]
    ConditionalConflict {
        bucket: String,
        key: String,
        operation: &'static str,
    },
    /// A local file could not be read for upload.
    #[error("cannot read {path} for upload: {message}")]
    LocalRead { path: PathBuf, message: String },
}

impl StoreError {
    /// Errors the user fixes with input or configuration rather than a retry.
    pub fn is_setup_problem(&self) -> bool {
        matches!(self, Self::NoSuchBucket { .. } | Self::AccessDenied { .. })
    }

    /// A conditional write lost a race: re-read and decide again.
    pub fn is_precondition(&self) -> bool {
        matches!(
            self,
            Self::PreconditionFailed { .. } | Self::ConditionalConflict { .. }
        )
    }
}
