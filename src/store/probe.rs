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

/// Writes a scratch key under `records_prefix` three times (create, create again,
/// replace a wrong ETag) and removes it.
pub async fn conditional_writes<S: ObjectStore>(
    store: &S,
    records_prefix: &str,
) -> Result<Support, StoreError> {
    let key = format!(
        "{records_prefix}probe/conditional-write-{}.json",
        crate::clock::random_hex()
    );
    let meta = ObjectMeta::private_json();
    let body = || Body::Bytes(b"{\"probe\":\"conditional writes\"}\n".to_vec());
    store.put(&key, body(), &meta, &Condition::Absent).await?;
    let refused = |result: Result<String, StoreError>| match result {
        Ok(_) => Ok(false),
        Err(e) if e.is_precondition() => Ok(true),
        Err(e) => Err(e),
    };
    let probed = async {
        let if_none_match = refused(store.put(&key, body(), &meta, &Condition::Absent).await)?;
        let wrong = Condition::Matches("00000000000000000000000000000000".to_owned());
        let if_match = refused(store.put(&key, body(), &meta, &wrong).await)?;
        Ok(Support {
            if_none_match,
            if_match,
        })
    }
    .await;
    if let Err(e) = store.delete(std::slice::from_ref(&key)).await {
        tracing::info!("could not remove the probe object {key}: {e}");
    }
    probed
}

/// The run's one probe, shared by its modules.
#[derive(Debug, Default)]
pub struct Probe(OnceCell<Result<Support, StoreError>>);

impl Probe {
    pub async fn support<S: ObjectStore>(
        &self,
        store: &S,
        records_prefix: &str,
    ) -> Result<Support, StoreError> {
        self.0
            .get_or_init(|| conditional_writes(store, records_prefix))
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
}
