//! Files an apply is watched for: a run can read a file back as soon as it is in
//! the bucket, while the rest of the apply is still going.

use std::collections::BTreeSet;

use tokio::sync::watch;

/// Keys still to land, and whether the apply has ended.
#[derive(Debug, Default)]
struct Waiting {
    keys: BTreeSet<String>,
    ended: bool,
}

/// Keys an apply reports as they land (written, copied, or found already holding
/// the file's bytes).
#[derive(Debug)]
pub struct Landed(watch::Sender<Waiting>);

impl Landed {
    /// Watches `keys`; an empty set has landed already.
    pub fn watching(keys: impl IntoIterator<Item = String>) -> Self {
        let waiting = Waiting {
            keys: keys.into_iter().collect(),
            ended: false,
        };
        Self(watch::Sender::new(waiting))
    }

    /// `key` is in the bucket with the file's bytes.
    pub(super) fn mark(&self, key: &str) {
        self.0.send_if_modified(|w| w.keys.remove(key));
    }

    /// The apply ended, whether or not every key landed.
    pub(super) fn end(&self) {
        self.0.send_modify(|w| w.ended = true);
    }

    /// Waits until every watched key has landed (`true`) or the apply ended without
    /// some of them (`false`).
    pub async fn all(&self) -> bool {
        let mut rx = self.0.subscribe();
        // NOTE: the sender lives in `self`, so the channel cannot close meanwhile.
        match rx.wait_for(|w| w.keys.is_empty() || w.ended).await {
            Ok(w) => w.keys.is_empty(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_every_key_and_not_for_an_ended_apply() {
        let landed = Landed::watching(["a".to_owned(), "b".to_owned()]);
        let waiting = landed.all();
        tokio::pin!(waiting);
        landed.mark("a");
        landed.mark("c");
        assert!(futures::poll!(&mut waiting).is_pending());
        landed.mark("b");
        assert!(waiting.await);

        let failed = Landed::watching(["a".to_owned()]);
        failed.end();
        assert!(!failed.all().await);
        assert!(Landed::watching([]).all().await);
    }
}
