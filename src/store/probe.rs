//! Whether an S3-compatible store honours conditional writes. Versioned mode (the
//! manifest's compare-and-swap) and retention (records, intents) rely on
//! `If-None-Match: *` and `If-Match`; a store that ignores them turns every
//! compare-and-swap into last-writer-wins, and concurrent deploys lose each other's
//! updates without an error. AWS S3 honours both; with `endpoint-url` the store is
//! asked once per run, on a scratch key under the reserved prefix.

use tokio::sync::OnceCell;

use super::{Body, Condition, ObjectMeta, ObjectStore, StoreError};

/// What the store did with a conditional write that must fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Support {
    /// `If-None-Match: *` on an existing key was refused.
    pub if_none_match: bool,
    /// `If-Match` with another ETag was refused.
    pub if_match: bool,
}

impl Support {
    pub fn complete(self) -> bool {
        self.if_none_match && self.if_match
    }

    /// The headers the store ignores, for messages.
    pub fn ignored(self) -> Vec<&'static str> {
        let mut ignored = Vec::new();
        if !self.if_none_match {
            ignored.push("If-None-Match");
        }
        if !self.if_match {
            ignored.push("If-Match");
        }
        ignored
    }
}

/// Writes a scratch key under `records_prefix`, asks on it (see [`asked_on`]) and
/// removes it.
pub async fn conditional_writes<S: ObjectStore>(
    store: &S,
    records_prefix: &str,
) -> Result<Support, StoreError> {
    let key = format!(
        "{records_prefix}probe/conditional-write-{}.json",
        crate::clock::random_hex()
    );
    let body = b"{\"probe\":\"conditional writes\"}\n";
    store
        .put(
            &key,
            Body::Bytes(body.to_vec()),
            &ObjectMeta::private_json(),
            &Condition::Absent,
        )
        .await?;
    let probed = asked_on(store, &key, body).await;
    if let Err(e) = store.delete(std::slice::from_ref(&key)).await {
        tracing::info!("could not remove the probe object {key}: {e}");
    }
    probed
}

/// Asks on `key`, a private JSON object this run has just created with `body`:
/// creating it again and replacing another ETag must both be refused. The two
/// writes go together (one round trip); a store that ignores them writes `body`
/// again, which leaves the object as it was.
pub async fn asked_on<S: ObjectStore>(
    store: &S,
    key: &str,
    body: &[u8],
) -> Result<Support, StoreError> {
    let meta = ObjectMeta::private_json();
    let write = |condition: Condition| {
        let meta = &meta;
        async move {
            let written = store
                .put(key, Body::Bytes(body.to_vec()), meta, &condition)
                .await;
            match written {
                Ok(_) => Ok(false),
                Err(e) if e.is_precondition() => Ok(true),
                Err(e) => Err(e),
            }
        }
    };
    let wrong = Condition::Matches("00000000000000000000000000000000".to_owned());
    let (if_none_match, if_match) = tokio::join!(write(Condition::Absent), write(wrong));
    Ok(Support {
        if_none_match: if_none_match?,
        if_match: if_match?,
    })
}

/// The run's one probe, shared by its modules.
#[derive(Debug, Default)]
pub struct Probe(OnceCell<Result<Support, StoreError>>);

impl Probe {
    /// Asks on `on` (a key this run has just created, and its bytes) when given,
    /// else on a scratch key under `records_prefix`; once per run.
    pub async fn support<S: ObjectStore>(
        &self,
        store: &S,
        records_prefix: &str,
        on: Option<(&str, &[u8])>,
    ) -> Result<Support, StoreError> {
        self.0
            .get_or_init(|| async {
                match on {
                    Some((key, body)) => asked_on(store, key, body).await,
                    None => conditional_writes(store, records_prefix).await,
                }
            })
            .await
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn a_store_that_honours_conditions_passes_and_keeps_no_probe() {
        let store = MemoryStore::new();
        let support = conditional_writes(&store, "_mfe-deploy/").await.unwrap();
        assert!(support.complete());
        assert!(store.keys().is_empty(), "{:?}", store.keys());
    }

    #[tokio::test]
    async fn a_store_that_ignores_conditions_is_found_out() {
        let store = MemoryStore::new();
        store.ignore_conditions();
        let support = conditional_writes(&store, "_mfe-deploy/").await.unwrap();
        assert_eq!(support.ignored(), ["If-None-Match", "If-Match"]);
        assert!(store.keys().is_empty());
    }

    #[tokio::test]
    async fn asking_on_a_run_s_own_object_leaves_it_as_it_was() {
        for ignoring in [false, true] {
            let store = MemoryStore::new();
            if ignoring {
                store.ignore_conditions();
            }
            let body = b"{\"intent\":1}";
            let meta = ObjectMeta::private_json();
            let bytes = Body::Bytes(body.to_vec());
            store
                .put("k", bytes, &meta, &Condition::Absent)
                .await
                .unwrap();
            let support = asked_on(&store, "k", body).await.unwrap();
            assert_eq!(support.complete(), !ignoring);
            assert_eq!(store.keys(), ["k"]);
            assert_eq!(store.object("k").unwrap().bytes, body);
        }
    }
}
