//! Read: what the bucket holds under a module's prefix, as far as the plan needs to
//! know — one listing, the deploy state cache, and only the requests the cache
//! cannot spare.

use futures::{StreamExt, stream};
use sha2::Digest as _;

use crate::layout::Layout;
use crate::plan::RemoteView;
use crate::scan::{LocalFile, hex};
use crate::state::DeployState;
use crate::store::{Fetched, HeadInfo, ObjectStore, StoreError, listing};

/// Reads to learn object headers, in flight at once (only before the state exists).
const HEAD_CONCURRENCY: usize = 32;
/// Objects read whole to learn their SHA-256, in flight at once (rare: see
/// [`complete`]).
const READ_CONCURRENCY: usize = 4;

/// The listing and the state, and whether the state still has to move from where
/// earlier releases kept it.
#[derive(Debug)]
pub struct Listed {
    pub view: RemoteView,
    /// How the state was read, for the conditional write that replaces it.
    pub state: StateRead,
}

/// How the deploy state was read: the object's ETag (`None`: there was none), and
/// the legacy key it was read from instead, if so.
#[derive(Debug, Clone, Default)]
pub struct StateRead {
    pub etag: Option<String>,
    pub legacy: Option<String>,
}

/// Lists the module prefix and reads the deploy state; independent of the build, so
/// it runs while the build is scanned. The first LIST page and the GET go out
/// together: a rebuild waits for one round trip, not two. When the state knows more
/// keys than a page holds, the rest of the prefix is listed while the first page is
/// still on its way, in ranges split where the state says its keys are, all at once:
/// a module of 6,000 files waits for about one page, not six. A stale or missing
/// state changes only how many pages go out together, never what is listed. The
/// tool's own keys never count as part of the module (for a module at the bucket
/// root, the reserved prefix is inside its listing).
pub async fn list_with_state<S: ObjectStore>(
    store: &S,
    layout: &Layout,
) -> Result<Listed, StoreError> {
    let key = layout.state_key();
    let prefix = layout.prefix();
    let state_then_ahead = async {
        let fetched = store.get(&key).await?;
        let etag = fetched.as_ref().map(|f| f.etag.clone());
        let state = fetched.map(|f| (read_state(&f.bytes, &key), f.last_modified));
        let expected: Vec<String> = state
            .as_ref()
            .and_then(|(s, _)| s.as_ref())
            .map(|s| s.files.keys().map(|rel| format!("{prefix}{rel}")).collect())
            .unwrap_or_default();
        let ahead = listing::ahead(store, prefix, &expected).await?;
        Ok::<_, StoreError>((etag, state, ahead))
    };
    let (first, read) = futures::join!(store.list_page(prefix, None), state_then_ahead);
    // The listing's error first: it names the permission a denied run lacks.
    let first = first?;
    let (etag, mut state, ahead) = read?;
    let mut listing = listing::join(store, prefix, first, ahead).await?;
    let legacy_key = layout.legacy_state_key();
    let legacy_listed = listing.iter().any(|o| o.key == legacy_key);
    listing.retain(|o| !layout.is_reserved(&o.key));
    let mut legacy_state = None;
    if legacy_listed {
        legacy_state = Some(legacy_key.clone());
        if state.is_none() {
            state = store
                .get(&legacy_key)
                .await?
                .map(|f| (read_state(&f.bytes, &legacy_key), f.last_modified));
        }
    }
    let (state, modified) = state.unwrap_or((None, None));
    Ok(Listed {
        view: RemoteView::new(prefix, listing, state).with_state_modified(modified),
        state: StateRead {
            etag,
            legacy: legacy_state,
        },
    })
}

/// A stored deploy state, or `None` (with a warning) when it cannot be read.
fn read_state(bytes: &[u8], key: &str) -> Option<DeployState> {
    let state = DeployState::from_json(bytes);
    if state.is_none() {
        tracing::warn!("ignoring unreadable deploy state at {key}; it will be rewritten");
    }
    state
}

/// Completes the view with what the state cannot vouch for: a HEAD per object whose
/// headers or content are unknown, and — for objects neither an MD5 ETag, nor the
/// state, nor SHA-256 metadata can vouch for (another tool's multipart upload under
/// SSE-KMS) — one read of the bytes, rather than refusing or re-sending them.
pub async fn complete<S: ObjectStore>(
    store: &S,
    view: RemoteView,
    files: &[LocalFile],
) -> Result<RemoteView, StoreError> {
    let missing = view.keys_needing_head(files);
    complete_keys(store, view, files, missing).await
}

/// Like [`complete`] for a version, which is never rewritten: only the content of
/// objects the listing cannot vouch for is checked, never their headers, so a
/// re-run of the same build costs one listing.
pub async fn complete_content<S: ObjectStore>(
    store: &S,
    view: RemoteView,
    files: &[LocalFile],
) -> Result<RemoteView, StoreError> {
    let missing = view.keys_needing_content_head(files);
    complete_keys(store, view, files, missing).await
}

async fn complete_keys<S: ObjectStore>(
    store: &S,
    mut view: RemoteView,
    files: &[LocalFile],
    missing: Vec<String>,
) -> Result<RemoteView, StoreError> {
    if !missing.is_empty() {
        tracing::info!(
            "reading {} object(s) not yet recorded in the deploy state (HEAD)",
            missing.len()
        );
    }
    let heads: Vec<(String, Result<Option<HeadInfo>, StoreError>)> = stream::iter(missing)
        .map(|key| async move {
            let head = store.head(&key).await;
            (key, head)
        })
        .buffer_unordered(HEAD_CONCURRENCY)
        .collect()
        .await;
    for (key, head) in heads {
        if let Some(head) = head? {
            view.set_head(key, head);
        }
    }
    let unknown = view.keys_needing_read(files);
    if !unknown.is_empty() {
        tracing::info!(
            "reading {} object(s) whose content nothing else can vouch for (GET)",
            unknown.len()
        );
    }
    let read: Vec<(String, Result<Option<Fetched>, StoreError>)> = stream::iter(unknown)
        .map(|key| async move {
            let fetched = store.get(&key).await;
            (key, fetched)
        })
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await;
    for (key, fetched) in read {
        if let Some(fetched) = fetched? {
            view.set_sha256(key, hex(&sha2::Sha256::digest(&fetched.bytes)));
        }
    }
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::DEFAULT_RECORDS_PREFIX;
    use crate::model::Headers;
    use crate::state::FORMAT;
    use crate::store::memory::MemoryStore;

    fn headers() -> Headers {
        Headers {
            cache_control: "no-cache".to_owned(),
            content_type: "application/json".to_owned(),
        }
    }

    fn state() -> DeployState {
        DeployState {
            format: FORMAT,
            version: "v1".to_owned(),
            ..DeployState::default()
        }
    }

    #[tokio::test]
    async fn state_get_goes_out_with_the_listing_not_after_it() {
        let store = MemoryStore::new();
        let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "shop/").unwrap();
        store.insert(&layout.state_key(), &state().to_json(), headers());
        store.insert("shop/remoteEntry.js", b"entry", headers());
        store.hold_list_until_get();

        let listed = list_with_state(&store, &layout).await.unwrap();

        assert_eq!(listed.view.state(), &state());
        assert_eq!(listed.state.legacy, None);
        let keys: Vec<_> = listed.view.keys().collect();
        assert_eq!(keys, ["shop/remoteEntry.js"]);
        assert_eq!((store.calls("list"), store.calls("get")), (1, 1));
    }

    #[tokio::test]
    async fn a_state_left_inside_the_module_prefix_is_read_and_marked_for_moving() {
        let store = MemoryStore::new();
        let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "shop/").unwrap();
        store.insert("shop/.mfe-deploy/state.json", &state().to_json(), headers());
        store.insert("shop/remoteEntry.js", b"entry", headers());

        let listed = list_with_state(&store, &layout).await.unwrap();

        assert_eq!(listed.view.state(), &state());
        assert_eq!(
            listed.state.legacy.as_deref(),
            Some("shop/.mfe-deploy/state.json")
        );
        let keys: Vec<_> = listed.view.keys().collect();
        assert_eq!(
            keys,
            ["shop/remoteEntry.js"],
            "the state is not a deployed file"
        );
    }

    #[tokio::test]
    async fn a_module_at_the_root_never_lists_the_tools_own_keys() {
        let store = MemoryStore::new();
        let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "").unwrap();
        store.insert("_mfe-deploy/modules/~root/latest.json", b"{}", headers());
        store.insert("index.html", b"<html>", headers());
        let listed = list_with_state(&store, &layout).await.unwrap();
        let keys: Vec<_> = listed.view.keys().collect();
        assert_eq!(keys, ["index.html"]);
    }

    fn sorted_keys(listed: &Listed) -> Vec<String> {
        let mut keys: Vec<String> = listed.view.keys().map(str::to_owned).collect();
        keys.sort();
        keys
    }

    /// A bucket holding `n` files under `shop/`, and a state that knows them.
    fn big_module(n: usize) -> (MemoryStore, Layout, Vec<String>) {
        let store = MemoryStore::new();
        let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "shop/").unwrap();
        let mut state = state();
        let mut keys = Vec::new();
        for i in 0..n {
            let rel = format!("assets/{i:05}.js");
            store.insert(&format!("shop/{rel}"), b"x", headers());
            keys.push(format!("shop/{rel}"));
            state.files.insert(
                rel,
                crate::state::FileRecord {
                    etag: String::new(),
                    sha256: String::new(),
                    size: 1,
                    headers: headers(),
                    last_version: "v1".to_owned(),
                },
            );
        }
        store.insert(&layout.state_key(), &state.to_json(), headers());
        store.overlap("list");
        (store, layout, keys)
    }

    #[tokio::test]
    async fn a_prefix_longer_than_a_page_is_listed_in_ranges_the_state_foresees_all_at_once() {
        let (store, layout, keys) = big_module(4_500);

        let listed = list_with_state(&store, &layout).await.unwrap();

        assert!(sorted_keys(&listed) == keys, "every key, once");
        assert_eq!(store.calls("list"), 5, "one page per 1,000 objects");
        assert_eq!(
            store.most_at_once("list"),
            5,
            "the other four pages went out with the first, once the state was read"
        );
    }

    #[tokio::test]
    async fn without_a_state_a_long_prefix_is_listed_page_after_page_and_completely() {
        let (store, layout, keys) = big_module(2_500);
        store.remove(&layout.state_key());
        store.insert("shop/assets/00001.js.map", b"x", headers());

        let listed = list_with_state(&store, &layout).await.unwrap();

        let mut expected = keys;
        expected.push("shop/assets/00001.js.map".to_owned());
        expected.sort();
        assert!(sorted_keys(&listed) == expected, "every key, once");
        assert_eq!((store.calls("list"), store.most_at_once("list")), (3, 1));
    }

    #[tokio::test]
    async fn missing_state_is_an_empty_view() {
        let store = MemoryStore::new();
        let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "shop/").unwrap();
        store.insert("shop/remoteEntry.js", b"entry", headers());
        let listed = list_with_state(&store, &layout).await.unwrap();
        assert_eq!(listed.view.state(), &DeployState::default());
        assert_eq!(listed.view.keys().count(), 1);
    }
}
