//! The listing of a `packages` run: every module's state read at once, then the
//! modules' keys listed together under the folder their prefixes share, in ranges of
//! a page cut where the states say the keys are, all at once. Thirty modules of 200
//! files cost six pages instead of thirty. Keys under none of the run's prefixes
//! (another app's folder, the tool's records) are jumped over, not paged through.
//! Should the shared listing fail (a role that may list only each module's own
//! prefix), every module lists its own, as alone.

use std::collections::BTreeMap;

use futures::{StreamExt, stream};
use tokio::sync::OnceCell;

use super::StoredState;
use crate::layout::{Layout, common_folder};
use crate::store::listing::{self, Within};
use crate::store::{ObjectStore, RemoteObject, StoreError};

/// State GETs in flight at once.
const STATE_CONCURRENCY: usize = 32;

/// The run's one listing of its modules' prefixes.
pub struct SharedListing {
    folder: String,
    /// Sorted, without repeats.
    prefixes: Vec<String>,
    /// Each module's prefix, by its state's key.
    modules: BTreeMap<String, String>,
    listed: OnceCell<Option<Shared>>,
}

struct Shared {
    /// Sorted: the keys under the run's prefixes.
    objects: Vec<RemoteObject>,
    /// By state key.
    states: BTreeMap<String, Result<StoredState, StoreError>>,
}

impl SharedListing {
    /// For the modules laid out as `layouts`; `None` for fewer than two, which gain
    /// nothing from listing together.
    pub fn new(layouts: impl IntoIterator<Item = Layout>) -> Option<Self> {
        let modules: BTreeMap<String, String> = layouts
            .into_iter()
            .map(|l| (l.state_key(), l.prefix().to_owned()))
            .collect();
        if modules.len() < 2 {
            return None;
        }
        let mut prefixes: Vec<String> = modules.values().cloned().collect();
        prefixes.sort();
        prefixes.dedup();
        Some(Self {
            folder: common_folder(prefixes.iter().map(String::as_str)),
            prefixes,
            modules,
            listed: OnceCell::new(),
        })
    }

    /// This module's listing and state, from the run's one listing (made when the
    /// first module asks); `None` when the module is not part of it or the shared
    /// listing failed: the module lists on its own.
    pub(super) async fn module<S: ObjectStore>(
        &self,
        store: &S,
        layout: &Layout,
    ) -> Option<Result<(Vec<RemoteObject>, StoredState), StoreError>> {
        let state_key = layout.state_key();
        if self.modules.get(&state_key).map(String::as_str) != Some(layout.prefix()) {
            return None;
        }
        let shared = self
            .listed
            .get_or_init(|| self.list(store))
            .await
            .as_ref()?;
        let state = shared.states.get(&state_key)?.clone();
        let prefix = layout.prefix();
        let from = shared.objects.partition_point(|o| o.key.as_str() < prefix);
        let objects = shared.objects[from..]
            .iter()
            .take_while(|o| o.key.starts_with(prefix))
            .cloned()
            .collect();
        Some(state.map(|state| (objects, state)))
    }

    async fn list<S: ObjectStore>(&self, store: &S) -> Option<Shared> {
        let states: BTreeMap<String, Result<StoredState, StoreError>> =
            stream::iter(self.modules.keys())
                .map(|key| async move { (key.clone(), StoredState::fetch(store, key).await) })
                .buffer_unordered(STATE_CONCURRENCY)
                .collect()
                .await;
        let mut expected: Vec<String> = states
            .iter()
            .filter_map(|(key, state)| Some(state.as_ref().ok()?.expected_keys(&self.modules[key])))
            .flatten()
            .collect();
        expected.sort();
        expected.dedup();
        let within = Within::new(&self.prefixes);
        let start = within.start();
        let cut = listing::splits(&expected, start.as_deref().unwrap_or_default());
        match listing::in_ranges_within(store, &self.folder, start.as_deref(), &cut, within).await {
            Ok(objects) => Some(Shared { objects, states }),
            Err(e) => {
                tracing::info!(
                    "listing the run's modules together under `{}` failed ({e}); each module lists its own prefix",
                    self.folder
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::DEFAULT_RECORDS_PREFIX;
    use crate::model::Headers;
    use crate::read::{Listed, list_with_state};
    use crate::state::{DeployState, FORMAT, FileRecord};
    use crate::store::memory::MemoryStore;

    fn headers() -> Headers {
        Headers {
            cache_control: "no-cache".to_owned(),
            content_type: "application/javascript".to_owned(),
        }
    }

    /// Modules `m0/`, `m1/`…, each with `files` objects its state knows.
    fn run(modules: usize, files: usize) -> (MemoryStore, Vec<Layout>) {
        let store = MemoryStore::new();
        let mut layouts = Vec::new();
        for m in 0..modules {
            let layout = Layout::new(DEFAULT_RECORDS_PREFIX, &format!("m{m}/")).unwrap();
            let mut state = DeployState {
                format: FORMAT,
                version: "v1".to_owned(),
                ..DeployState::default()
            };
            for i in 0..files {
                let rel = format!("chunk-{i:04}.js");
                store.insert(&format!("m{m}/{rel}"), b"x", headers());
                state.files.insert(
                    rel,
                    FileRecord {
                        etag: String::new(),
                        sha256: String::new(),
                        size: 1,
                        headers: headers(),
                        last_version: "v1".to_owned(),
                    },
                );
            }
            store.insert(&layout.state_key(), &state.to_json(), headers());
            layouts.push(layout);
        }
        (store, layouts)
    }

    fn keys(listed: &Listed) -> Vec<String> {
        let mut keys: Vec<String> = listed.view.keys().map(str::to_owned).collect();
        keys.sort();
        keys
    }

    async fn each_alone(store: &MemoryStore, layouts: &[Layout]) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for layout in layouts {
            out.push(keys(&list_with_state(store, layout, None).await.unwrap()));
        }
        out
    }

    async fn each_shared(
        store: &MemoryStore,
        layouts: &[Layout],
        shared: &SharedListing,
    ) -> Vec<Result<Listed, StoreError>> {
        let reads = layouts
            .iter()
            .map(|layout| list_with_state(store, layout, Some(shared)));
        futures::future::join_all(reads).await
    }

    #[tokio::test]
    async fn modules_side_by_side_share_pages_and_each_sees_what_it_would_alone() {
        let (store, layouts) = run(10, 150);
        // Another app's 3,000 keys between `m2/` and `m3/` (`-` sorts before `/`), and
        // a stray key the states do not know.
        for i in 0..3_000 {
            store.insert(&format!("m3-legacy/{i:05}"), b"x", headers());
        }
        store.insert("m7/stray.js", b"x", headers());
        let alone = each_alone(&store, &layouts).await;
        assert_eq!(store.calls("list"), 10);
        store.reset_counts();
        let shared = SharedListing::new(layouts.clone()).unwrap();

        let reads = each_shared(&store, &layouts, &shared).await;

        let together: Vec<Vec<String>> = reads.iter().map(|r| keys(r.as_ref().unwrap())).collect();
        assert!(together == alone, "every module sees what it saw alone");
        assert_eq!(store.calls("get"), 10, "one state GET per module");
        assert_eq!(
            store.calls("list"),
            4,
            "1,500 keys in two ranges; the first ran into the other app's keys, listed `m3/` on its own and went on after it"
        );
    }

    #[tokio::test]
    async fn a_shared_listing_that_fails_leaves_each_module_to_list_its_own_prefix() {
        let (store, layouts) = run(3, 20);
        let alone = each_alone(&store, &layouts).await;
        store.fail_on("list", "");
        let shared = SharedListing::new(layouts.clone()).unwrap();

        let reads = each_shared(&store, &layouts, &shared).await;

        let together: Vec<Vec<String>> = reads.iter().map(|r| keys(r.as_ref().unwrap())).collect();
        assert!(together == alone);
    }

    #[tokio::test]
    async fn a_state_that_cannot_be_read_fails_its_module_only() {
        let (store, layouts) = run(3, 20);
        store.fail_on("get", &layouts[1].state_key());
        let shared = SharedListing::new(layouts.clone()).unwrap();

        let reads = each_shared(&store, &layouts, &shared).await;

        assert!(reads[0].is_ok() && reads[2].is_ok());
        assert!(reads[1].is_err());
    }

    #[test]
    fn one_module_lists_alone() {
        let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "m/").unwrap();
        assert!(SharedListing::new([layout]).is_none());
    }
}
