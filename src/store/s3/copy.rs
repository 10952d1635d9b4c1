//! CopyObject: a header rewrite (a copy onto itself) and a copy to another key.

use aws_sdk_s3::types::MetadataDirective;

use super::S3Store;
use super::wire::{condition_headers, copy_source, metadata_map, unquote};
use crate::store::counts::Op;
use crate::store::{Condition, ObjectMeta, StoreError};

impl S3Store {
    /// Copies `source` to `key` with `meta` (`REPLACE`), when the source's ETag is
    /// `source_etag` (if given) and `condition` holds for `key`; its attempts are
    /// bounded as a request sending `size` bytes (the object's). Returns the new ETag.
    pub(super) async fn copy_object(
        &self,
        source: &str,
        source_etag: Option<&str>,
        key: &str,
        size: u64,
        meta: &ObjectMeta,
        condition: &Condition,
    ) -> Result<String, StoreError> {
        self.counts.record(Op::Copy, 0);
        let (if_match, if_none_match) = condition_headers(condition);
        // NOTE: with `REPLACE`, S3 keeps none of the old user metadata: the SHA-256
        // must be sent again or the object loses it.
        let out = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(copy_source(&self.bucket, source))
            .set_copy_source_if_match(source_etag.map(|e| format!("\"{e}\"")))
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .metadata_directive(MetadataDirective::Replace)
            .cache_control(&meta.headers.cache_control)
            .content_type(&meta.headers.content_type)
            .set_metadata(metadata_map(meta))
            .customize()
            .config_override(self.sized(size))
            .send()
            .await
            .map_err(|e| self.error("CopyObject", key, &e))?;
        Ok(unquote(out.copy_object_result().and_then(|r| r.e_tag())))
    }
}
