//! One run's manifest writes, merged. In a `packages` run every module moves the one
//! discovery manifest; written one by one they race each other through the
//! conditional writes (a re-read and a retry each time they collide). Here the
//! modules of a run take turns per document, and each turn writes every entry that
//! arrived meanwhile in one conditional write: the run never collides with itself,
//! only with other runs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{Format, LiveEntry, ManifestError, Updated, update_all};
use crate::store::ObjectStore;

struct Waiting {
    module: String,
    entry: LiveEntry,
    done: oneshot::Sender<Result<Updated, ManifestError>>,
}

#[derive(Default)]
struct Document {
    /// Taken by the module whose turn it is.
    turn: Arc<tokio::sync::Mutex<()>>,
    waiting: Vec<Waiting>,
}

/// The manifest documents of one run.
#[derive(Default)]
pub struct Queue {
    documents: Mutex<BTreeMap<String, Document>>,
    /// Conditional writes sent, for the run's log.
    writes: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

impl Queue {
    /// Merges `entry` as `module` into the `format` document at `key`, together with
    /// whatever other modules of the run are waiting to.
    pub async fn update<S: ObjectStore>(
        &self,
        store: &S,
        bucket: &str,
        key: &str,
        format: Format,
        module: &str,
        entry: &LiveEntry,
    ) -> Result<Updated, ManifestError> {
        let (done, mut result) = oneshot::channel();
        let turn = {
            let mut documents = self.lock();
            let document = documents.entry(key.to_owned()).or_default();
            document.waiting.push(Waiting {
                module: module.to_owned(),
                entry: entry.clone(),
                done,
            });
            Arc::clone(&document.turn)
        };
        let _turn = turn.lock().await;
        // An earlier turn may have written this entry with its own.
        if let Ok(written) = result.try_recv() {
            return written;
        }
        let batch = std::mem::take(
            &mut self
                .lock()
                .get_mut(key)
                .map(|d| std::mem::take(&mut d.waiting))
                .unwrap_or_default(),
        );
        let entries: Vec<(String, LiveEntry)> = batch
            .iter()
            .map(|w| (w.module.clone(), w.entry.clone()))
            .collect();
        let results = update_all(store, bucket, key, format, &entries).await;
        let sent: u32 = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|u| u.attempts)
            .max()
            .unwrap_or(0);
        self.writes
            .fetch_add(sent as usize, std::sync::atomic::Ordering::Relaxed);
        if batch.len() > 1 {
            tracing::info!("{key}: {} modules' entries in one write", batch.len());
        }
        for (waiting, written) in batch.into_iter().zip(results) {
            let _ = waiting.done.send(written);
        }
        result.try_recv().unwrap_or_else(|_| {
            Err(ManifestError::Contended {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            })
        })
    }

    /// Conditional writes the run sent to manifest documents.
    pub fn writes(&self) -> usize {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Document>> {
        self.documents.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn entry(module: &str) -> LiveEntry {
        LiveEntry {
            name: module.to_owned(),
            entry: format!("https://cdn.example.com/{module}/v1/remoteEntry.js"),
            mf_manifest: None,
            version: "v1".to_owned(),
            integrity: "sha384-abc".to_owned(),
            deployed: "2026-12-02T01:00:00.000Z".to_owned(),
            commit: None,
            previous: None,
            canary: None,
        }
    }

    #[tokio::test]
    async fn thirty_modules_at_once_take_few_writes_and_never_race_each_other() {
        let store = MemoryStore::new();
        store.overlap("put");
        let queue = Queue::default();
        let modules: Vec<String> = (0..30).map(|i| format!("m{i:02}")).collect();
        let results = futures::future::join_all(modules.iter().map(|m| {
            let (store, queue) = (&store, &queue);
            async move {
                queue
                    .update(
                        store,
                        "b",
                        "mfe-manifest.json",
                        Format::Native,
                        m,
                        &entry(m),
                    )
                    .await
            }
        }))
        .await;
        assert!(results.iter().all(Result::is_ok));
        let native: crate::manifest::Native =
            serde_json::from_slice(&store.object("mfe-manifest.json").unwrap().bytes).unwrap();
        assert_eq!(native.modules.len(), 30, "no module lost");
        assert!(queue.writes() <= 2, "{} writes", queue.writes());
        assert_eq!(
            store.calls("put"),
            queue.writes(),
            "no write was lost to a collision"
        );
    }
}
