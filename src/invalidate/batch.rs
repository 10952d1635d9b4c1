//! One invalidation per distribution for every module of a `packages` run.
//!
//! Each module deploys on its own and reaches its invalidation on its own. A module
//! that has paths to invalidate submits them and waits; one that has none (or
//! stopped earlier) leaves. When every module has done one or the other, the last
//! to arrive sends one invalidation per distribution with the union of the paths
//! (split only where CloudFront's per-request limits force it), and every
//! submitter gets the result for its distribution.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::{
    InvalidateError, Invalidated, InvalidationPlan, RetryPolicy, caller_reference, invalidate,
};
use crate::cdn::Cdn;
use crate::cdn::limits::{MAX_PATHS, MAX_WILDCARDS};

/// What each distribution's invalidations came to, by distribution id.
type Outcome = BTreeMap<String, Vec<Result<Invalidated, Arc<InvalidateError>>>>;

/// The modules' meeting point.
pub struct Batch {
    state: Mutex<State>,
    outcome: watch::Sender<Option<Arc<Outcome>>>,
}

struct State {
    /// Modules that have neither submitted nor left.
    pending: usize,
    submissions: Vec<Submission>,
}

struct Submission {
    distribution: String,
    plan: InvalidationPlan,
    prefix: String,
}

/// What the sender needs, the same for every module of the run.
#[derive(Debug, Clone)]
pub struct Sending {
    pub run_identity: String,
    pub policy: RetryPolicy,
    pub wait: Option<Duration>,
}

impl Sending {
    /// The standard retry policy; `wait` (the `wait` input) for `wait_timeout`
    /// seconds (config `invalidation.wait-timeout`).
    pub fn new(run_identity: String, wait: bool, wait_timeout: u64) -> Self {
        Self {
            run_identity,
            policy: RetryPolicy::default(),
            wait: wait.then(|| Duration::from_secs(wait_timeout)),
        }
    }
}

impl Batch {
    /// A batch for `modules` participants.
    pub fn new(modules: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                pending: modules,
                submissions: Vec::new(),
            }),
            outcome: watch::channel(None).0,
        })
    }

    /// A participant's place in the batch.
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        Ticket {
            batch: Arc::clone(self),
            done: Mutex::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes the submissions when `arrived` made the batch complete.
    fn arrive(&self, submission: Option<Submission>) -> Option<Vec<Submission>> {
        let mut state = self.lock();
        state.submissions.extend(submission);
        state.pending = state.pending.saturating_sub(1);
        (state.pending == 0).then(|| std::mem::take(&mut state.submissions))
    }

    async fn send<C: Cdn>(&self, cdn: &C, submissions: Vec<Submission>, sending: &Sending) {
        let mut by_distribution: BTreeMap<String, Vec<Submission>> = BTreeMap::new();
        for s in submissions {
            by_distribution
                .entry(s.distribution.clone())
                .or_default()
                .push(s);
        }
        let mut outcome = Outcome::new();
        for (distribution, submissions) in by_distribution {
            let mut results = Vec::new();
            for group in groups(submissions) {
                let plan = merged(group.iter().map(|s| &s.plan));
                let prefixes: Vec<&str> = group.iter().map(|s| s.prefix.as_str()).collect();
                let reference =
                    caller_reference(&sending.run_identity, &prefixes.join(" "), &plan.encoded());
                let result = invalidate(
                    cdn,
                    &distribution,
                    &plan,
                    &reference,
                    sending.policy,
                    sending.wait,
                )
                .await
                .map_err(Arc::new);
                results.push(result);
            }
            outcome.insert(distribution, results);
        }
        self.outcome.send_replace(Some(Arc::new(outcome)));
    }
}

/// One module's part in a batch. Dropped without submitting, it leaves.
pub struct Ticket {
    batch: Arc<Batch>,
    done: Mutex<bool>,
}

impl Ticket {
    fn take(&self) -> bool {
        let mut done = self
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        !std::mem::replace(&mut *done, true)
    }

    /// This module invalidates nothing: the others need not wait for it. The last
    /// to arrive sends the batch, so leaving may send it.
    pub async fn leave<C: Cdn>(&self, cdn: Option<&C>, sending: &Sending) {
        if !self.take() {
            return;
        }
        if let Some(submissions) = self.batch.arrive(None) {
            match cdn {
                Some(cdn) if !submissions.is_empty() => {
                    self.batch.send(cdn, submissions, sending).await
                }
                _ => {
                    self.batch
                        .outcome
                        .send_replace(Some(Arc::new(Outcome::new())));
                }
            }
        }
    }

    /// Submits this module's paths and waits for the batch's invalidation of
    /// `distribution`.
    pub async fn submit<C: Cdn>(
        &self,
        cdn: &C,
        distribution: &str,
        plan: &InvalidationPlan,
        prefix: &str,
        sending: &Sending,
    ) -> Result<Invalidated, InvalidateError> {
        let submission = Submission {
            distribution: distribution.to_owned(),
            plan: plan.clone(),
            prefix: prefix.to_owned(),
        };
        if self.take()
            && let Some(submissions) = self.batch.arrive(Some(submission))
        {
            self.batch.send(cdn, submissions, sending).await;
        }
        let mut outcome = self.batch.outcome.subscribe();
        let outcome = match outcome.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or_default(),
            Err(_) => Arc::default(),
        };
        let mine = plan.encoded();
        let results = outcome
            .get(distribution)
            .map(Vec::as_slice)
            .unwrap_or_default();
        // The invalidation that carries this module's paths (the first one that
        // succeeded and holds them, else the first error).
        let covering = results.iter().find(|r| match r {
            Ok(done) => mine.iter().all(|p| done.paths.contains(p)),
            Err(_) => false,
        });
        match covering.or_else(|| results.iter().find(|r| r.is_err())) {
            Some(Ok(done)) => Ok(done.clone()),
            Some(Err(e)) => Err(InvalidateError::Shared(Arc::clone(e))),
            None => Err(InvalidateError::Shared(Arc::new(
                InvalidateError::NotSent {
                    distribution: distribution.to_owned(),
                },
            ))),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.take()
            && let Some(submissions) = self.batch.arrive(None)
        {
            // NOTE: nothing can be sent from a destructor. The runner leaves
            // explicitly (`leave`) after each module; only a module that panicked
            // ends here, and then the submitters are told their paths were not
            // sent (they stay owed in their records, for the next run).
            drop(submissions);
            self.batch
                .outcome
                .send_replace(Some(Arc::new(Outcome::new())));
        }
    }
}

/// Submissions grouped so that each group fits one CloudFront request.
fn groups(submissions: Vec<Submission>) -> Vec<Vec<Submission>> {
    let mut groups: Vec<Vec<Submission>> = Vec::new();
    let (mut paths, mut wildcards) = (0, 0);
    for s in submissions {
        let p = s.plan.paths.len();
        let w = s.plan.encoded().iter().filter(|e| e.ends_with('*')).count();
        let fits = groups
            .last()
            .is_some_and(|_| paths + p <= MAX_PATHS && wildcards + w <= MAX_WILDCARDS);
        if !fits {
            groups.push(Vec::new());
            (paths, wildcards) = (0, 0);
        }
        paths += p;
        wildcards += w;
        if let Some(last) = groups.last_mut() {
            last.push(s);
        }
    }
    groups
}

/// The union of several plans, first reason kept.
fn merged<'a>(plans: impl Iterator<Item = &'a InvalidationPlan>) -> InvalidationPlan {
    let mut all = InvalidationPlan::default();
    for plan in plans {
        for path in &plan.paths {
            if !all.paths.iter().any(|p| p.path == path.path) {
                all.paths.push(path.clone());
            }
        }
        for (url, why) in &plan.reasons {
            all.reasons
                .entry(url.clone())
                .or_insert_with(|| why.clone());
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdn::fake::FakeCdn;

    fn sending() -> Sending {
        Sending {
            run_identity: "acme/shop/1/1".to_owned(),
            policy: RetryPolicy::default(),
            wait: None,
        }
    }

    fn plan(url: &str) -> InvalidationPlan {
        InvalidationPlan::of_urls(vec![(url.to_owned(), "changed".to_owned())])
    }

    #[tokio::test]
    async fn modules_sharing_a_distribution_share_one_invalidation() {
        let cdn = FakeCdn::default();
        let batch = Batch::new(3);
        let (a, b, c) = (batch.ticket(), batch.ticket(), batch.ticket());
        let s = sending();
        let (pa, pb) = (plan("/a/remoteEntry.js"), plan("/b/remoteEntry.js"));
        let (ra, rb, ()) = tokio::join!(
            a.submit(&cdn, "E1", &pa, "a/", &s),
            b.submit(&cdn, "E1", &pb, "b/", &s),
            c.leave(Some(&cdn), &s),
        );
        let created = cdn.created.lock().unwrap().clone();
        assert_eq!(created.len(), 1);
        let mut paths = created[0].1.clone();
        paths.sort();
        assert_eq!(paths, ["/a/remoteEntry.js", "/b/remoteEntry.js"]);
        assert_eq!(ra.unwrap().id, "I1");
        assert_eq!(rb.unwrap().id, "I1");
    }

    #[tokio::test]
    async fn each_distribution_gets_its_own_and_a_failure_reaches_its_submitters() {
        let cdn = FakeCdn::default();
        cdn.create_errors
            .lock()
            .unwrap()
            .push_back(crate::cdn::CdnError::AccessDenied {
                operation: "CreateInvalidation",
                message: "no".to_owned(),
            });
        let batch = Batch::new(2);
        let (a, b) = (batch.ticket(), batch.ticket());
        let s = sending();
        let (pa, pb) = (plan("/a/x"), plan("/b/x"));
        let (ra, rb) = tokio::join!(
            a.submit(&cdn, "E1", &pa, "a/", &s),
            b.submit(&cdn, "E2", &pb, "b/", &s),
        );
        assert!(ra.is_err(), "E1 was sent first and refused");
        assert_eq!(rb.unwrap().paths, ["/b/x"]);
    }

    #[tokio::test]
    async fn a_module_that_ends_without_leaving_does_not_hold_the_others() {
        let cdn = FakeCdn::default();
        let batch = Batch::new(2);
        let a = batch.ticket();
        let s = sending();
        drop(batch.ticket());
        let done = a.submit(&cdn, "E1", &plan("/a/x"), "a/", &s).await.unwrap();
        assert_eq!(done.paths, ["/a/x"]);
    }
}
