//! Clean-up of what interrupted runs left: multipart uploads that were started under
//! the module's prefix and never completed (a runner killed mid-upload). Their parts
//! cost storage and nothing removes them; the next deploy of the module aborts those
//! older than the config's `requests.abort-incomplete-after`. Best effort: a role
//! that may not list them (`s3:ListBucketMultipartUploads`) only gets a warning, and
//! the bucket's `AbortIncompleteMultipartUpload` lifecycle rule is the belt to these
//! braces (docs/reliability.md).

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::OnceCell;

use crate::clock::Utc;
use crate::store::{ObjectStore, PendingUpload, StoreError};

/// The incomplete uploads of a `packages` run: listed once, under the folder every
/// module's prefix shares (the bucket root, usually), when the first module asks;
/// each module then takes those under its own prefix. One `ListMultipartUploads`
/// for the run instead of one per module.
pub struct SharedUploads {
    prefix: String,
    listed: OnceCell<Result<Vec<PendingUpload>, StoreError>>,
    /// The listing's failure was handed to a module, which warned of it.
    reported: AtomicBool,
}

impl SharedUploads {
    /// For the modules at `prefixes` (each empty or ending with `/`).
    pub fn new<'p>(prefixes: impl IntoIterator<Item = &'p str>) -> Self {
        let mut common: Option<&str> = None;
        for prefix in prefixes {
            common = Some(match common {
                None => prefix,
                Some(c) => {
                    let same = c
                        .char_indices()
                        .zip(prefix.chars())
                        .find(|((_, a), b)| a != b)
                        .map_or(c.len().min(prefix.len()), |((i, _), _)| i);
                    &c[..same]
                }
            });
        }
        let common = common.unwrap_or_default();
        let folder = common.rfind('/').map_or("", |i| &common[..=i]);
        Self {
            prefix: folder.to_owned(),
            listed: OnceCell::new(),
            reported: AtomicBool::new(false),
        }
    }

    /// The folder listed.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    async fn under<S: ObjectStore>(
        &self,
        store: &S,
        prefix: &str,
    ) -> Result<Vec<PendingUpload>, StoreError> {
        let listed = self
            .listed
            .get_or_init(|| store.list_uploads(&self.prefix))
            .await;
        match listed {
            Ok(uploads) => Ok(uploads
                .iter()
                .filter(|u| u.key.starts_with(prefix))
                .cloned()
                .collect()),
            // One failure of the run's one listing: the first module warns of it.
            Err(e) if !self.reported.swap(true, Ordering::Relaxed) => Err(e.clone()),
            Err(_) => Ok(Vec::new()),
        }
    }
}

/// The uploads under `prefix` started `older_than_secs` or more before `now`; from
/// the run's `shared` listing when there is one.
pub async fn find<S: ObjectStore>(
    store: &S,
    shared: Option<&SharedUploads>,
    prefix: &str,
    now: Utc,
    older_than_secs: u64,
) -> Vec<PendingUpload> {
    let cutoff = now.millis / 1_000 - i64::try_from(older_than_secs).unwrap_or(i64::MAX);
    let listed = match shared {
        Some(shared) => shared.under(store, prefix).await,
        None => store.list_uploads(prefix).await,
    };
    match listed {
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
        let found = find(&store, None, "shop/", now, 3_600).await;
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
            find(&store, None, "shop/", Utc::from_millis(0), 0)
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_shared_listing_is_one_request_for_every_module() {
        let store = MemoryStore::new();
        let now = Utc::from_millis(10_000_000);
        store.insert_upload("shop/big.bin", 10_000 - 7_200);
        store.insert_upload("shopping/big.bin", 10_000 - 7_200);
        store.insert_upload("cart/big.bin", 10_000 - 7_200);
        let shared = SharedUploads::new(["shop/", "shopping/", "cart/"]);
        assert_eq!(shared.prefix(), "");
        let shop = find(&store, Some(&shared), "shop/", now, 3_600).await;
        let cart = find(&store, Some(&shared), "cart/", now, 3_600).await;
        assert_eq!(shop.len(), 1, "not the uploads of shopping/");
        assert_eq!(shop[0].key, "shop/big.bin");
        assert_eq!(cart[0].key, "cart/big.bin");
        assert_eq!(store.calls("list_uploads"), 1);
    }

    #[tokio::test]
    async fn a_shared_listing_that_fails_is_reported_to_one_module_only() {
        let store = MemoryStore::new();
        store.fail_on("list_uploads", "");
        let shared = SharedUploads::new(["shop/", "cart/"]);
        assert!(shared.under(&store, "shop/").await.is_err());
        assert!(shared.under(&store, "cart/").await.unwrap().is_empty());
        assert_eq!(store.calls("list_uploads"), 1);
    }

    #[test]
    fn the_shared_listing_is_of_the_folder_the_prefixes_share() {
        assert_eq!(
            SharedUploads::new(["apps/a/", "apps/ab/"]).prefix(),
            "apps/"
        );
        assert_eq!(SharedUploads::new(["apps/a/"]).prefix(), "apps/a/");
        assert_eq!(SharedUploads::new(["apps/a/", ""]).prefix(), "");
        assert_eq!(SharedUploads::new(["é/a/", "é/b/"]).prefix(), "é/");
    }
}
