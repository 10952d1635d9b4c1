//! One run's manifest writes, merged into one per document. In a `packages` run every
//! module moves the one discovery manifest; written one by one they would race each
//! other through the conditional writes (a re-read and a retry each time they
//! collide). Here each module of the run holds a [`Ticket`]; a document is written
//! once every ticket has either brought its entry or left (the module failed before
//! its switch, changed nothing, or is done), in one conditional write naming every
//! entry brought: the run writes each document once and never collides with itself,
//! only with other runs. A module that fails is simply not in the write.
//!
//! NOTE: a module whose build is ready waits for the run's slowest module before its
//! manifest entry moves; the run as a whole takes no longer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, oneshot};

use super::{Format, LiveEntry, ManifestError, Updated, update_all};
use crate::store::ObjectStore;

struct Waiting {
    module: String,
    entry: LiveEntry,
    done: oneshot::Sender<Result<Updated, ManifestError>>,
}

#[derive(Default)]
struct Document {
    waiting: Vec<Waiting>,
    /// Tickets that brought an entry.
    arrived: usize,
    /// Written: later arrivals (none in a run) write on their own.
    written: bool,
}

#[derive(Default)]
struct State {
    documents: BTreeMap<String, Document>,
    /// For each ticket that left, the documents it had brought an entry to.
    left: Vec<BTreeSet<String>>,
}

/// The manifest documents of one run of `tickets` modules.
pub struct Queue {
    tickets: usize,
    state: Mutex<State>,
    changed: Notify,
    /// Conditional writes sent, for the run's log.
    writes: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("tickets", &self.tickets)
            .finish_non_exhaustive()
    }
}

/// One module's place in its run's manifest writes. [`Ticket::finish`] (or dropping
/// it) leaves every document it has not brought an entry to.
pub struct Ticket {
    queue: Arc<Queue>,
    arrived: Mutex<BTreeSet<String>>,
    finished: std::sync::atomic::AtomicBool,
}

impl Queue {
    /// The queue of a run whose modules will each take one [`Ticket`].
    pub fn new(tickets: usize) -> Arc<Self> {
        Arc::new(Self {
            tickets,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            writes: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// A module's ticket.
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        Ticket {
            queue: Arc::clone(self),
            arrived: Mutex::new(BTreeSet::new()),
            finished: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Conditional writes the run sent to manifest documents.
    pub fn writes(&self) -> usize {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entries of `key` when every ticket has brought one or left: taken once.
    fn take_if_complete(&self, key: &str) -> Option<Vec<Waiting>> {
        let mut state = self.lock();
        let gone = state.left.iter().filter(|a| !a.contains(key)).count();
        let document = state.documents.get_mut(key)?;
        if document.written || document.arrived + gone < self.tickets {
            return None;
        }
        document.written = true;
        Some(std::mem::take(&mut document.waiting))
    }
}

impl Ticket {
    /// Merges `entry` as `module` into the `format` document at `key`, in the run's one
    /// write of that document.
    pub async fn update<S: ObjectStore>(
        &self,
        store: &S,
        bucket: &str,
        key: &str,
        format: Format,
        module: &str,
        entry: &LiveEntry,
    ) -> Result<Updated, ManifestError> {
        let queue = &self.queue;
        let (done, mut result) = oneshot::channel();
        let late = {
            let mut state = queue.lock();
            let document = state.documents.entry(key.to_owned()).or_default();
            document.arrived += 1;
            let late = document.written;
            if !late {
                document.waiting.push(Waiting {
                    module: module.to_owned(),
                    entry: entry.clone(),
                    done,
                });
            }
            late
        };
        self.arrived
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned());
        if late {
            let entries = [(module.to_owned(), entry.clone())];
            let mut results = update_all(store, bucket, key, format, &entries, None).await;
            return results.pop().unwrap_or_else(|| contended(bucket, key));
        }
        queue.changed.notify_waiters();
        loop {
            let notified = queue.changed.notified();
            match result.try_recv() {
                Ok(written) => return written,
                // The module writing the batch stopped (a panic) before it answered.
                Err(oneshot::error::TryRecvError::Closed) => return contended(bucket, key),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            if let Some(batch) = queue.take_if_complete(key) {
                write(queue, store, bucket, key, format, batch).await;
                return result.try_recv().unwrap_or_else(|_| contended(bucket, key));
            }
            notified.await;
        }
    }
}

impl Ticket {
    /// The module writes no more documents: the run need not wait for it. Called as
    /// soon as its publish step is over (its invalidation waits for the other
    /// modules, which may be waiting here for it), and on drop.
    pub fn finish(&self) {
        if self
            .finished
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let arrived = self
            .arrived
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        self.queue.lock().left.push(arrived);
        self.queue.changed.notify_waiters();
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Writes `batch` to `key` in one conditional write and tells each waiting module.
async fn write<S: ObjectStore>(
    queue: &Queue,
    store: &S,
    bucket: &str,
    key: &str,
    format: Format,
    batch: Vec<Waiting>,
) {
    let entries: Vec<(String, LiveEntry)> = batch
        .iter()
        .map(|w| (w.module.clone(), w.entry.clone()))
        .collect();
    let results = update_all(store, bucket, key, format, &entries, None).await;
    let sent: u32 = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|u| u.attempts)
        .max()
        .unwrap_or(0);
    queue
        .writes
        .fetch_add(sent as usize, std::sync::atomic::Ordering::Relaxed);
    if batch.len() > 1 {
        tracing::info!("{key}: {} modules' entries in one write", batch.len());
    }
    for (waiting, written) in batch.into_iter().zip(results) {
        let _ = waiting.done.send(written);
    }
    queue.changed.notify_waiters();
}

fn contended(bucket: &str, key: &str) -> Result<Updated, ManifestError> {
    Err(ManifestError::Contended {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    })
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

    async fn update(
        ticket: &Ticket,
        store: &MemoryStore,
        module: &str,
    ) -> Result<Updated, ManifestError> {
        let entry = entry(module);
        ticket
            .update(
                store,
                "b",
                "mfe-manifest.json",
                Format::Native,
                module,
                &entry,
            )
            .await
    }

    fn native(store: &MemoryStore) -> crate::manifest::Native {
        serde_json::from_slice(&store.object("mfe-manifest.json").unwrap().bytes).unwrap()
    }

    #[tokio::test]
    async fn thirty_modules_at_once_write_the_document_once() {
        let store = MemoryStore::new();
        store.overlap("put");
        let queue = Queue::new(30);
        let modules: Vec<String> = (0..30).map(|i| format!("m{i:02}")).collect();
        let results = futures::future::join_all(modules.iter().map(|m| {
            let (store, queue) = (&store, &queue);
            async move {
                let ticket = queue.ticket();
                // Modules arrive at different times.
                for _ in 0..m.len() * (m.as_bytes()[2] as usize % 7) {
                    tokio::task::yield_now().await;
                }
                update(&ticket, store, m).await
            }
        }))
        .await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(native(&store).modules.len(), 30, "no module lost");
        assert_eq!(queue.writes(), 1);
        assert_eq!(store.calls("put"), 1);
    }

    #[tokio::test]
    async fn a_module_that_writes_nothing_or_fails_is_not_waited_for_nor_in_the_write() {
        let store = MemoryStore::new();
        let queue = Queue::new(3);
        let (a, b, c) = (queue.ticket(), queue.ticket(), queue.ticket());
        let wrote = async {
            let written = update(&a, &store, "a").await;
            a.finish();
            written
        };
        let unchanged = async {
            tokio::task::yield_now().await;
            b.finish();
        };
        let failed = async {
            tokio::task::yield_now().await;
            drop(c);
        };
        let (written, (), ()) = tokio::join!(wrote, unchanged, failed);
        assert!(written.unwrap().moved());
        let modules = native(&store).modules;
        assert_eq!(modules.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(queue.writes(), 1);
    }
}
