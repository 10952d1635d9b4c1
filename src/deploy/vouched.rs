//! What a versioned run knows of the module without asking about each file: the deploy
//! state and the pointer, read together, and the newest record when the state does
//! not stand for it. They vouch for the objects listed in the version's folder (a
//! rebuild then hashes nothing for its MD5 and asks nothing per file), and name the
//! objects a new version can copy instead of sending.

use crate::clock::Utc;
use crate::layout::Layout;
use crate::plan::{CopySources, RemoteView};
use crate::record::{self, DeployRecord, History};
use crate::state::DeployState;
use crate::store::{Fetched, ObjectStore, StoreError};

/// The module's deploy state, history and newest record, as read.
pub struct Known {
    /// The state object as read (its ETag conditions the state this run writes).
    pub state: Option<Fetched>,
    /// That state, parsed (`None`: absent or unreadable).
    kept: Option<DeployState>,
    pub history: History,
    /// The newest record, when the state does not stand for it.
    latest: Option<DeployRecord>,
}

/// Reads the deploy state and the pointer together; when the state names the
/// pointer's record, no record is listed or read: the state describes it (see
/// [`record::with_newer_and_latest`]).
pub async fn read<S: ObjectStore>(store: &S, layout: &Layout) -> Result<Known, StoreError> {
    let state_key = layout.state_key();
    let (pointer, state) = tokio::join!(record::read_pointer(store, layout), store.get(&state_key));
    let state = state?;
    let kept = state
        .as_ref()
        .and_then(|f| DeployState::from_json(&f.bytes));
    let confirmed = kept.as_ref().and_then(|s| s.record.as_deref());
    let (history, latest) =
        record::with_newer_and_latest(store, layout, pointer?, confirmed).await?;
    Ok(Known {
        state,
        kept,
        history,
        latest,
    })
}

impl Known {
    /// Vouches in `listed` (the folder `version_prefix` of `version`) for the objects
    /// the state or the newest record names with the listed size and ETag; returns the
    /// objects of other versions a new version may copy (only when `write_once`: the
    /// copies can be made to create their key only).
    pub fn vouch(
        &self,
        layout: &Layout,
        version: &str,
        version_prefix: &str,
        write_once: bool,
        listed: &mut RemoteView,
    ) -> CopySources {
        let mut sources = CopySources::default();
        if let (Some(kept), Some(fetched)) = (&self.kept, &self.state) {
            // NOTE: where the store lists no ETags, the state's own time vouches only
            // when it is this version's state, naming its record: written just after
            // the version's files were checked, and not rewritten since.
            let own = format!("{version}/");
            let this_version = kept.version == version
                && kept.record.is_some()
                && kept.files.keys().all(|k| k.starts_with(&own));
            let written = fetched.last_modified.filter(|_| this_version);
            for (rel, file) in &kept.files {
                let key = format!("{}{rel}", layout.prefix());
                if key.starts_with(version_prefix) {
                    let etag = Some(file.etag.as_str());
                    listed.vouch(&key, file.size, etag, &file.sha256, written);
                } else if write_once && !file.etag.is_empty() {
                    sources.insert(file.size, &file.sha256, &key, &file.etag);
                }
            }
        }
        match &self.latest {
            Some(record) if record.version == version => {
                let recorded = Utc::parse_rfc3339(&record.time).map(|t| t.millis.div_euclid(1000));
                for file in record.files.values() {
                    let etag = file.etag.as_deref();
                    listed.vouch(&file.key, file.size, etag, &file.sha256, recorded);
                }
            }
            Some(record) if write_once => {
                for file in record.files.values() {
                    if let Some(etag) = file.etag.as_deref().filter(|e| !e.is_empty()) {
                        sources.insert(file.size, &file.sha256, &file.key, etag);
                    }
                }
            }
            _ => {}
        }
        sources
    }
}
