//! Clean-up of what interrupted runs left: multipart uploads that were started under
//! the module's prefix and never completed (a runner killed mid-upload). Their parts
//! cost storage and nothing removes them; the next deploy of the module aborts those
//! older than the config's `requests.abort-incomplete-after`. Best effort: a role
//! that may not list them (`s3:ListBucketMultipartUploads`) only gets a warning, and
//! the bucket's `AbortIncompleteMultipartUpload` lifecycle rule is the belt to these
//! braces (docs/reliability.md).

use crate::clock::Utc;
use crate::store::{ObjectStore, PendingUpload};

/// The uploads under `prefix` started `older_than_secs` or more before `now`.
pub async fn find<S: ObjectStore>(
    store: &S,
    prefix: &str,
    now: Utc,
    older_than_secs: u64,
) -> Vec<PendingUpload> {
    let cutoff = now.millis / 1_000 - i64::try_from(older_than_secs).unwrap_or(i64::MAX);
    match store.list_uploads(prefix).await {
        Ok(uploads) => uploads
            .into_iter()
            .filter(|u| u.initiated.is_some_and(|t| t <= cutoff))
            .collect(),
        Err(e) => {
            tracing::warn!(
                "could not list incomplete multipart uploads under {prefix} ({e}); interrupted runs' parts are left to the bucket's lifecycle rule"
            );
            Vec::new()
        }
    }
}

/// Aborts `uploads`; returns how many were aborted.
pub async fn abort<S: ObjectStore>(store: &S, uploads: &[PendingUpload]) -> usize {
    let mut aborted = 0;
    for upload in uploads {
        match store.abort_multipart(&upload.key, &upload.upload_id).await {
            Ok(()) => aborted += 1,
            Err(e) => tracing::warn!(
                "could not abort the incomplete multipart upload of {} ({e})",
                upload.key
            ),
        }
    }
    if aborted > 0 {
        tracing::info!("aborted {aborted} incomplete multipart upload(s) left by interrupted runs");
    }
    aborted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn only_uploads_older_than_the_bound_and_under_the_prefix_are_aborted() {
        let store = MemoryStore::new();
        let now = Utc::from_millis(10_000_000);
        store.insert_upload("shop/big.bin", 10_000 - 7_200);
        store.insert_upload("shop/fresh.bin", 10_000 - 60);
        store.insert_upload("other/big.bin", 10_000 - 7_200);
        let found = find(&store, "shop/", now, 3_600).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "shop/big.bin");
        assert_eq!(abort(&store, &found).await, 1);
        assert_eq!(
            store.uploads().len(),
            2,
            "the fresh one and the other module's stay"
        );
    }

    #[tokio::test]
    async fn a_listing_that_fails_is_only_a_warning() {
        let store = MemoryStore::new();
        store.fail_on("list_uploads", "shop/");
        assert!(
            find(&store, "shop/", Utc::from_millis(0), 0)
                .await
                .is_empty()
        );
    }
}
