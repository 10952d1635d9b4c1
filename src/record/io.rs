//! Reading and writing records and the pointer, conditionally.

use super::{DeployRecord, History, Pointer};
use crate::clock::{Utc, random_hex};
use crate::layout::Layout;
use crate::store::{Body, Condition, ObjectMeta, ObjectStore, StoreError};

/// Conditional pointer updates tried before giving up (each lost race re-reads).
pub const POINTER_ATTEMPTS: u32 = 5;

/// Why a record or the pointer could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Other writers kept changing the pointer.
    #[error(
        "the deploy pointer `{key}` changed under every one of {POINTER_ATTEMPTS} conditional writes (other deploys of this module are running): the deploy itself is complete and recorded; the next deploy repairs the pointer"
    )]
    Contended { key: String },
}

/// Reads the pointer, then lists the records after the one it names and reads the
/// newest of them: two round trips, whatever the history's length, while the
/// pointer exists. Unreadable documents are ignored (and rewritten later).
pub async fn read_history<S: ObjectStore>(
    store: &S,
    layout: &Layout,
) -> Result<History, StoreError> {
    let pointer = read_pointer(store, layout).await?;
    with_newer(store, layout, pointer, None).await
}

/// Completes the history `read_pointer` returned, with its newest record: the record
/// the pointer names is read while the records after it are listed, so this costs
/// one round trip (two when the newest is unconfirmed). When `confirmed` (the deploy
/// state's `record`) is the pointer's record, nothing is read and no record is
/// returned: that state was written by the run that wrote the record, or knew it as
/// the newest, and describes its files (see [`with_newer`]).
pub async fn with_newer_and_latest<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    pointer: History,
    confirmed: Option<&str>,
) -> Result<(History, Option<DeployRecord>), StoreError> {
    let named = pointer.pointer.as_ref().map(|p| p.latest.clone());
    if named.is_some() && named.as_deref() == confirmed {
        return Ok((pointer, None));
    }
    let read_named = async {
        match &named {
            Some(key) => Ok(store
                .get(key)
                .await?
                .and_then(|f| DeployRecord::from_json(&f.bytes))),
            None => Ok(None),
        }
    };
    let (history, named) = tokio::join!(with_newer(store, layout, pointer, None), read_named);
    let history = history?;
    let latest = match &history.unconfirmed {
        Some((_, record)) => Some(record.clone()),
        None => named?,
    };
    Ok((history, latest))
}

/// The pointer alone (`unconfirmed` is `None`): one GET.
pub async fn read_pointer<S: ObjectStore>(
    store: &S,
    layout: &Layout,
) -> Result<History, StoreError> {
    let key = layout.pointer_key();
    let fetched = store.get(&key).await?;
    let pointer_etag = fetched.as_ref().map(|f| f.etag.clone());
    let pointer = fetched.and_then(|f| {
        let pointer = Pointer::from_json(&f.bytes);
        if pointer.is_none() {
            tracing::warn!("ignoring an unreadable deploy pointer at {key}; it will be rewritten");
        }
        pointer
    });
    Ok(History {
        pointer,
        pointer_etag,
        unconfirmed: None,
    })
}

/// Completes the history `read_pointer` returned with the newest record after the
/// one the pointer names: the records after it are listed and the newest is read.
/// The listing is skipped when `confirmed` (the deploy state's `record`) is the
/// record the pointer names: the run that wrote the state wrote or knew that record
/// last, and its pointer update confirms that nothing came after it (docs/records.md).
pub async fn with_newer<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    mut history: History,
    confirmed: Option<&str>,
) -> Result<History, StoreError> {
    let after = history.pointer.as_ref().map(|p| p.latest.as_str());
    if after.is_some() && after == confirmed {
        return Ok(history);
    }
    let newer = store.list_from(&layout.records_dir(), after).await?;
    let newest = newer
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| layout.is_record_key(k))
        .max();
    history.unconfirmed = match newest {
        Some(key) => store
            .get(key)
            .await?
            .and_then(|f| DeployRecord::from_json(&f.bytes))
            .map(|record| (key.to_owned(), record)),
        None => None,
    };
    Ok(history)
}

/// The nonce of a new record's key (eight hex digits).
pub fn new_nonce() -> String {
    random_hex()[..8].to_owned()
}

/// Writes `record` under a key no other record has (`If-None-Match: *`), named by
/// `time` and first by `nonce` (a clash is retried with a new one); returns the key.
pub async fn write_record<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    record: &DeployRecord,
    time: Utc,
    nonce: &str,
) -> Result<String, StoreError> {
    let body = record.to_json();
    let mut attempt = 0;
    let mut nonce = nonce.to_owned();
    loop {
        attempt += 1;
        if attempt > 1 {
            nonce = new_nonce();
        }
        let key = layout.record_key(&time.compact(), &record.version, &nonce);
        match store
            .put(
                &key,
                Body::Bytes(body.clone()),
                &ObjectMeta::private_json(),
                &Condition::Absent,
            )
            .await
        {
            Ok(_) => {
                tracing::info!("deploy record {key}");
                return Ok(key);
            }
            // A key is unique by its nonce; a clash is another run's record.
            Err(e) if e.is_precondition() && attempt < 3 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Writes `pointer` if the pointer is still the one read (`If-Match` its ETag, or
/// `If-None-Match: *` when there was none). When another run wrote it meanwhile, its
/// version is re-read and merged ([`Pointer::merge`]), and the write retried with
/// jittered backoff, at most [`POINTER_ATTEMPTS`] times.
pub async fn update_pointer<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    read_etag: Option<&str>,
    pointer: Pointer,
) -> Result<(), RecordError> {
    let key = layout.pointer_key();
    let mut etag = read_etag.map(str::to_owned);
    let mut pointer = pointer;
    for attempt in 1..=POINTER_ATTEMPTS {
        let condition = Condition::replacing(etag.as_deref());
        match store
            .put(
                &key,
                Body::Bytes(pointer.to_json()),
                &ObjectMeta::private_json(),
                &condition,
            )
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.is_precondition() => {
                tokio::time::sleep(crate::clock::jitter(attempt)).await;
                let current = store.get(&key).await?;
                etag = current.as_ref().map(|f| f.etag.clone());
                if let Some(theirs) = current.and_then(|f| Pointer::from_json(&f.bytes)) {
                    pointer = pointer.merge(&theirs);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(RecordError::Contended { key })
}

/// The keys of the module's records, newest first.
pub async fn record_keys<S: ObjectStore>(
    store: &S,
    layout: &Layout,
) -> Result<Vec<String>, StoreError> {
    let mut keys: Vec<String> = store
        .list(&layout.records_dir())
        .await?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| layout.is_record_key(k))
        .collect();
    keys.sort_unstable_by(|a, b| b.cmp(a));
    Ok(keys)
}

/// The module's records, newest first, at most `limit` of them (each with its key).
/// Unreadable ones are skipped with a warning.
pub async fn list_records<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    limit: usize,
) -> Result<Vec<(String, DeployRecord)>, StoreError> {
    use futures::{StreamExt, TryStreamExt, stream};
    let mut keys = record_keys(store, layout).await?;
    keys.truncate(limit);
    let fetched: Vec<(String, Option<DeployRecord>)> = stream::iter(keys)
        .map(|key| async move {
            let record = store
                .get(&key)
                .await?
                .and_then(|f| DeployRecord::from_json(&f.bytes));
            Ok::<_, StoreError>((key, record))
        })
        .buffered(8)
        .try_collect()
        .await?;
    Ok(fetched
        .into_iter()
        .filter_map(|(key, record)| {
            if record.is_none() {
                tracing::warn!("skipping the unreadable deploy record {key}");
            }
            record.map(|r| (key, r))
        })
        .collect())
}
