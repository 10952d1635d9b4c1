//! After the uploads: the state cache, the deploy record, the invalidation and the
//! pointer that confirms it.

use std::collections::BTreeMap;

use crate::clock::Utc;
use crate::layout::Layout;
use crate::plan::{Plan, RemoteView};
use crate::read::StateRead;
use crate::record::{
    self, DeployRecord, History, Invalidation, Pointer, Provenance, RECORD_SCHEMA, RecordKind,
    RecordedFile,
};
use crate::state::DeployState;
use crate::store::{Body, Condition, Fetched, ObjectMeta, ObjectStore};

/// Writes the deploy state when it changed (or moves it out of the module prefix),
/// naming `record` (the record this run writes next, or the newest it knew); see
/// [`write_state`]. A failure here does not fail the deploy (everything is live):
/// the state is a cache, and the next run re-reads what it does not cover.
pub async fn save_state<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    plan: &Plan,
    etags: &BTreeMap<String, String>,
    remote: &RemoteView,
    read: &StateRead,
    record: Option<&str>,
) {
    let mut next = plan.next_state(etags, remote);
    next.record = record.map(str::to_owned);
    if (next != plan.previous_state || read.legacy.is_some())
        && !write_state(store, layout, next, read.etag.as_deref()).await
    {
        return;
    }
    if let Some(legacy) = &read.legacy {
        match store.delete(std::slice::from_ref(legacy)).await {
            Ok(outcome) if outcome.failed.is_empty() => {
                tracing::info!(
                    "moved the deploy state from {legacy} to {}",
                    layout.state_key()
                );
            }
            Ok(outcome) => tracing::warn!(
                "could not remove the old deploy state at {legacy} ({}); it is ignored, remove it by hand",
                outcome.failed[0].1
            ),
            Err(e) => tracing::warn!(
                "could not remove the old deploy state at {legacy} ({e}); it is ignored, remove it by hand"
            ),
        }
    }
}

/// Writes `next` as the module's deploy state, conditional on the state read (its
/// ETag `read`; `None`: there was none). When another run wrote the state meanwhile,
/// `next` is written without its record, so the next deploy lists the records
/// rather than trust either run's; when it cannot be written, the state is removed
/// (a state left as it was could name the pointer's record while this run goes on
/// to write a newer one). Returns whether `next` was written.
pub async fn write_state<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    mut next: DeployState,
    read: Option<&str>,
) -> bool {
    let key = layout.state_key();
    let condition = Condition::replacing(read);
    let written = match store
        .put(
            &key,
            Body::Bytes(next.to_json()),
            &ObjectMeta::private_json(),
            &condition,
        )
        .await
    {
        Err(e) if e.is_precondition() => {
            tracing::info!(
                "another deploy of this module wrote {key} meanwhile; writing it without a record, so the next deploy lists the records"
            );
            next.record = None;
            store
                .put(
                    &key,
                    Body::Bytes(next.to_json()),
                    &ObjectMeta::private_json(),
                    &Condition::None,
                )
                .await
        }
        written => written,
    };
    match written {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(
                "could not write the deploy state cache at {key}: {e}; the next deploy lists the records and reads what the state would have vouched for"
            );
            forget_state(store, layout).await;
            false
        }
    }
}

/// Takes the record out of the deploy state (best effort) when it could not be
/// rewritten as this run wanted: left as it was, it could name the pointer's record
/// while this run goes on to write a newer one, and the next deploy would not list
/// the records. An empty state (which names no record) is written over it; when even
/// that fails, it is deleted.
async fn forget_state<S: ObjectStore>(store: &S, layout: &Layout) {
    let key = layout.state_key();
    let empty = Body::Bytes(empty_state_doc().to_json());
    let emptied = store
        .put(&key, empty, &ObjectMeta::private_json(), &Condition::None)
        .await;
    if emptied.is_ok() {
        return;
    }
    let failed = match store.delete(std::slice::from_ref(&key)).await {
        Ok(outcome) => outcome.failed.into_iter().next().map(|(_, why)| why),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = failed {
        tracing::warn!(
            "could not empty or remove the deploy state {key} ({why}); should this run stop before the pointer names its record, the next deploy may not see that record"
        );
    }
}

/// A deploy state that names no file and no record.
fn empty_state_doc() -> DeployState {
    DeployState {
        format: crate::state::FORMAT,
        ..DeployState::default()
    }
}

/// Before a run that keeps no state (a rollback, a rollout step, a republish) writes
/// its record: the state an earlier deploy of the module left (`left`, as read with
/// the history) could name the pointer's record, and the next deploy would then not
/// list the records, and miss this one if the run stopped before its pointer. Such a
/// state is rewritten without its record; nothing is sent otherwise.
pub async fn unmark_state<S: ObjectStore>(store: &S, layout: &Layout, left: Option<&Fetched>) {
    let Some(read) = left else {
        return;
    };
    let Some(mut state) = DeployState::from_json(&read.bytes) else {
        return;
    };
    if state.record.take().is_some() {
        replace_state(store, layout, read, &state).await;
    }
}

/// Before a preview's close writes its record: the preview's state names files the
/// close deleted, and could name the record its pointer names, which the close's
/// record comes after. It is emptied (no files, no record); nothing is sent when it
/// is already empty or absent.
pub async fn empty_state<S: ObjectStore>(store: &S, layout: &Layout) {
    let key = layout.state_key();
    let read = match store.get(&key).await {
        Ok(read) => read,
        Err(e) => {
            tracing::warn!("could not read the deploy state {key} ({e})");
            forget_state(store, layout).await;
            return;
        }
    };
    let Some(read) = read else {
        return;
    };
    let empty = empty_state_doc();
    if DeployState::from_json(&read.bytes).as_ref() != Some(&empty) {
        replace_state(store, layout, &read, &empty).await;
    }
}

/// Writes `next` over the state `read`, if it is still that one (`If-Match`);
/// otherwise, or when the write fails, the state is removed (best effort), so that
/// the next deploy lists the records.
async fn replace_state<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    read: &Fetched,
    next: &DeployState,
) {
    let key = layout.state_key();
    let body = Body::Bytes(next.to_json());
    let condition = Condition::replacing(Some(read.etag.as_str()));
    match store
        .put(&key, body, &ObjectMeta::private_json(), &condition)
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_precondition() => {
            tracing::info!(
                "another deploy of this module wrote {key} meanwhile; it is removed, so the next deploy lists the records"
            );
            forget_state(store, layout).await;
        }
        Err(e) => {
            tracing::warn!("could not rewrite the deploy state {key} ({e})");
            forget_state(store, layout).await;
        }
    }
}

/// Whether this run must write a record: it changed something, or the newest record
/// does not name this version (a run that stopped after its uploads, or a bucket
/// deployed before records existed).
pub fn needs_record(changed: bool, history: &History, version: &str) -> bool {
    changed || history.latest().map(|(_, v)| v) != Some(version)
}

/// The time a new record is stamped with: now, or just after the newest record when
/// that one is stamped later (another runner's clock runs ahead, or the same
/// millisecond): records must sort in the order they were written.
pub fn record_time(layout: &Layout, history: &History, now: Utc) -> Utc {
    let newest = history
        .latest()
        .and_then(|(key, _)| layout.record_time(key));
    match newest {
        Some(t) if t >= now => Utc::from_millis(t.millis + 1),
        _ => now,
    }
}

/// The ETag of a key: the upload's (`written`), else the listing's (`remote`).
pub fn known_etag<'a>(
    written: &'a BTreeMap<String, String>,
    remote: &'a RemoteView,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |key| {
        let uploaded = written.get(key).map(String::as_str);
        uploaded.or_else(|| remote.etag(key)).map(str::to_owned)
    }
}

/// The record of `plan` as deployed: every file of the version, uploaded now or
/// already there, with the ETag `etag` knows for its key ([`known_etag`]), and what
/// it owes CloudFront.
pub fn record_of(
    plan: &Plan,
    job: &super::Job<'_>,
    provenance: &Provenance,
    history: &History,
    time: Utc,
    invalidation: Option<Invalidation>,
    etag: impl Fn(&str) -> Option<String>,
) -> DeployRecord {
    let layout = job.layout;
    DeployRecord {
        schema: RECORD_SCHEMA.to_owned(),
        kind: RecordKind::Deploy,
        module: layout.module().to_owned(),
        prefix: layout.prefix().to_owned(),
        environment: job.request.environment.clone(),
        mode: if plan.write_once {
            "versioned"
        } else {
            "in-place"
        }
        .to_owned(),
        version: plan.version.clone(),
        previous_version: history.latest().map(|(_, v)| v.to_owned()),
        provenance: provenance.clone(),
        time: time.rfc3339(),
        files: plan
            .files
            .iter()
            .map(|f| {
                (
                    f.rel_path.clone(),
                    RecordedFile {
                        key: f.key.clone(),
                        size: f.digest.size,
                        sha256: f.digest.sha256_hex(),
                        etag: etag(&f.key),
                    },
                )
            })
            .collect(),
        invalidation: invalidation.filter(|i| !i.paths.is_empty()),
        rollout: None,
        republished: None,
    }
}

/// Confirms the newest record and what is still owed, when that differs from what
/// the pointer said. The pointer is a cache: failing to write it is a warning.
pub async fn confirm<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    history: &History,
    written: Option<(&str, &str)>,
    owed_after: Option<Invalidation>,
) {
    let Some((latest, version)) = written.or_else(|| history.latest()) else {
        return;
    };
    let next = Pointer {
        schema: record::POINTER_SCHEMA.to_owned(),
        module: layout.module().to_owned(),
        latest: latest.to_owned(),
        version: version.to_owned(),
        owed: owed_after.filter(|o| !o.paths.is_empty()),
    };
    if history.pointer.as_ref() == Some(&next) {
        return;
    }
    if let Err(e) =
        record::update_pointer(store, layout, history.pointer_etag.as_deref(), next).await
    {
        tracing::warn!(
            "could not update the deploy pointer {}: {e}; the next deploy finds the newest record by listing",
            layout.pointer_key()
        );
    }
}
