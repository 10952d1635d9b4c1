//! The one pipeline every run goes through: read → plan → show → refuse → (a dry
//! run stops here, after its retention decides as the real run would) → in flight →
//! apply → record → publish → invalidate → verify → retain. A [`Mode`] (in place,
//! versioned, rollback) supplies only what differs; the order, and with it what
//! every run guarantees, is decided here once:
//! - nothing is written before the plan is shown and every refusal has passed, and a
//!   refusal reports nothing done;
//! - before its first write a run names what it makes live in an in-flight intent,
//!   so that no deletion removes it before its record does;
//! - the record is written after the files and before anything points at them, with
//!   what the run owes CloudFront in it before the invalidation is sent;
//! - retention runs last, on a complete run, and its failure never hides that the
//!   run deployed.

use std::io::Write;
use std::time::Instant;

use super::{Context, Failed, Job, Trail, finish, steps};
use crate::cdn::{Cdn, DistributionInfo};
use crate::clock::Utc;
use crate::config::Config;
use crate::error::Error;
use crate::invalidate::InvalidationPlan;
use crate::layout::Layout;
use crate::record::{self, DeployRecord, History, Invalidation};
use crate::report::{Report, Status};
use crate::request::DeployRequest;
use crate::store::ObjectStore;

/// What every mode's plan leaves for the steps they share.
pub struct Planned {
    /// The version this run makes live.
    pub version: String,
    /// The module's records, newest last.
    pub history: History,
    /// The report as planned; the pipeline keeps it current from here on.
    pub report: Report,
}

/// What a run makes live, for its in-flight intent: exact keys, or whole version
/// folders.
#[derive(Debug, Default)]
pub struct Scope {
    pub keys: Vec<String>,
    pub prefixes: Vec<String>,
}

/// What a run invalidates when it publishes what it planned, and what it needs to
/// invalidate less: the distribution's URLs, and what earlier runs still owe.
pub struct Invalidating<'a> {
    pub planned: InvalidationPlan,
    pub distribution: Option<&'a DistributionInfo>,
    pub history: &'a History,
}

/// What a run's publish step did.
pub struct Published {
    /// What is invalidated: the planned paths, or fewer when less moved.
    pub invalidation: InvalidationPlan,
    /// The manifest documents it moved.
    pub moved: Vec<String>,
    /// The native manifest's revision, kept in its history while the run confirms.
    pub revision: Option<crate::manifest::Revision>,
}

/// What differs between kinds of run. A mode is the planned run itself: `plan`
/// builds it from the reads, every later step asks it.
#[allow(async_fn_in_trait)] // NOTE: only used generically within this crate, never spawned.
pub trait Mode: Sized {
    /// What the run starts from besides the request: the build being scanned, or the
    /// rollback's target.
    type Input;
    /// The status of a run that changed what is live.
    fn done(&self) -> Status;
    /// Whether applying already makes the files live (in place), so that a record
    /// that cannot be written leaves them live.
    const APPLY_PUBLISHES: bool;

    /// Reads what the run needs and plans it. Writes nothing.
    async fn plan<S: ObjectStore, C: Cdn>(
        input: Self::Input,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
    ) -> Result<(Self, Planned), Error>;

    /// The CloudFront paths this run invalidates when it moves what it planned, with
    /// what earlier runs still owe.
    fn invalidation(
        &self,
        job: &Job<'_>,
        history: &History,
        distribution: &DistributionInfo,
    ) -> InvalidationPlan;

    /// Says what the run will do.
    async fn show<S: ObjectStore, C: Cdn>(
        &self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        invalidation: &InvalidationPlan,
        distribution: Option<&DistributionInfo>,
        r: &mut Report,
        out: &mut dyn Write,
    ) -> Result<(), Error>;

    /// Refuses what must not be written (a conflict, a version taken, a build whose
    /// references do not resolve), with nothing written.
    async fn refuse<S: ObjectStore, C: Cdn>(
        &mut self,
        _ctx: &Context<'_, S, C>,
        _job: &Job<'_>,
        _r: &mut Report,
        _out: &mut dyn Write,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// Whether the plan uploads or rewrites anything.
    fn uploads(&self) -> bool;
    /// Whether the run moves a manifest to another version.
    fn moves(&self) -> bool;
    /// What the run makes live: by default the version's folder.
    fn scope(&self, job: &Job<'_>, version: &str) -> Scope {
        Scope {
            keys: Vec::new(),
            prefixes: vec![job.layout.version_prefix(version)],
        }
    }

    /// Writes the files; returns whether any changed. The report keeps what was
    /// done, also when this fails.
    async fn apply<S: ObjectStore, C: Cdn>(
        &mut self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        r: &mut Report,
    ) -> Result<bool, Error>;

    /// The record of this run, stamped `time`.
    fn record(
        &self,
        provenance: &record::Provenance,
        job: &Job<'_>,
        history: &History,
        time: Utc,
        owes: Option<Invalidation>,
    ) -> DeployRecord;

    /// Before the record: brings the deploy state (a cache) in line with the record
    /// written next (`next`, when there is one). By default a run keeps no state, and
    /// `left` (the state an earlier deploy of the module left) stops naming a record.
    async fn settle_state<S: ObjectStore>(
        &self,
        store: &S,
        job: &Job<'_>,
        _history: &History,
        next: Option<&str>,
    ) {
        if next.is_some() {
            finish::unmark_state(store, job.layout, self.left_state()).await;
        }
    }

    /// The deploy state an earlier deploy of the module left, as read.
    fn left_state(&self) -> Option<&crate::store::Fetched> {
        None
    }

    /// After the record: points what serves the module at the version (the
    /// manifests), or repairs what a failed run left behind.
    async fn publish<S: ObjectStore, C: Cdn>(
        &self,
        _ctx: &Context<'_, S, C>,
        _job: &Job<'_>,
        invalidating: Invalidating<'_>,
        _time: Utc,
        _out: &mut dyn Write,
    ) -> Result<Published, Error> {
        Ok(Published {
            invalidation: invalidating.planned,
            moved: Vec::new(),
            revision: None,
        })
    }

    /// After the invalidation: checks what is now served.
    async fn verify_live(&self, _job: &Job<'_>) -> Result<(), Error> {
        Ok(())
    }
}

/// Runs `M` for `request`; whatever happens, the report says what was done and the
/// run's intent is settled.
pub async fn run<M: Mode, S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    input: M::Input,
    out: &mut dyn Write,
) -> Result<Report, Failed> {
    let started = Instant::now();
    let mut trail = Trail::default();
    let result = steps_of::<M, S, C>(ctx, request, config, input, out, &mut trail).await;
    // After a complete run its record says what the intent said. A run that stopped
    // after writing keeps its intent: in place it may have published an entry whose
    // new files no record names yet; the module's next record supersedes it. Until
    // the apply starts (`dry_run` is cleared then), the counts are the plan's.
    let wrote = trail
        .report
        .as_ref()
        .is_some_and(|r| !r.dry_run && r.uploaded + r.headers_updated + r.copied > 0);
    if let Some(key) = trail.intent.take()
        && (result.is_ok()
            || matches!(result, Err(Error::Retention { deployed: true, .. }))
            || !wrote)
    {
        crate::live::intent::remove(ctx.store, &key).await;
    }
    let mut report = trail.report.map(Box::new);
    if let Some(r) = report.as_mut() {
        r.duration = started.elapsed();
    }
    match (result, report) {
        (Ok(()), Some(report)) => Ok(*report),
        (Ok(()), None) => Err(Error::Internal("a deploy ended without a report".to_owned()).into()),
        (Err(error), mut report) => {
            if let Some(r) = report.as_mut() {
                // Refused after planning, before anything was applied: the counts
                // are what happened (nothing), not what was planned.
                if r.dry_run && !request.dry_run {
                    r.forget_plan_counts();
                }
                // A deploy that completed stays what it was (deployed, unchanged,
                // rolled back) when only its retention failed.
                if !matches!(error, Error::Retention { deployed: true, .. }) {
                    r.status = Status::Failed;
                }
                r.error = Some(error.to_string());
            }
            Err(Failed { report, error })
        }
    }
}

/// The steps, in order; `trail` keeps the report current and the intent's key.
async fn steps_of<M: Mode, S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    input: M::Input,
    out: &mut dyn Write,
    trail: &mut Trail,
) -> Result<(), Error> {
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;
    let layout = match &request.preview {
        Some(preview) => layout.for_preview(preview.number),
        None => layout,
    };
    let job = Job {
        request,
        config,
        layout: &layout,
    };

    // Read and plan. The distribution is read before any write: a wrong id or a
    // missing permission stops the run while nothing has changed.
    let (distribution, abandoned, planned) = tokio::join!(
        steps::read_distribution(ctx.cdn, request.distribution_id.as_deref()),
        steps::abandoned_uploads(ctx, config, &layout),
        M::plan(input, ctx, &job),
    );
    let distribution = distribution?;
    let (
        mut mode,
        Planned {
            version,
            history,
            report,
        },
    ) = planned?;
    let invalidation = match &distribution {
        Some(d) => mode.invalidation(&job, &history, d),
        None => InvalidationPlan::default(),
    };
    let r = trail.report.insert(report);
    r.environment_url = request.public_url.clone();
    r.invalidation_paths = invalidation.explain();

    // Show, refuse; a dry run ends here, its retention deciding as if it deployed.
    mode.show(ctx, &job, &invalidation, distribution.as_ref(), r, out)
        .await?;
    mode.refuse(ctx, &job, r, out).await?;
    if request.dry_run {
        let pending = mode.record(&ctx.provenance, &job, &history, Utc::now(), None);
        return steps::retain(ctx, &job, Some(pending), r, out).await;
    }

    // In flight: say what this run makes live before its first write, then clear
    // what interrupted runs left, and apply.
    let moves = mode.moves();
    let needs_record = |changed: bool| finish::needs_record(changed || moves, &history, &version);
    if mode.uploads() || needs_record(false) {
        let scope = mode.scope(&job, &version);
        begin_writing(ctx, &job, &version, scope, &mut trail.intent).await?;
    }
    crate::cleanup::abort(ctx.store, &abandoned).await;
    r.dry_run = false;
    r.status = Status::Failed;
    let changed = mode.apply(ctx, &job, r).await?;

    // Record: what this version consists of, and what it owes CloudFront. Its name
    // is chosen first: the deploy state names it.
    let time = finish::record_time(&layout, &history, Utc::now());
    let next = needs_record(changed).then(|| {
        let nonce = record::new_nonce();
        (layout.record_key(&time.compact(), &version, &nonce), nonce)
    });
    mode.settle_state(
        ctx.store,
        &job,
        &history,
        next.as_ref().map(|(key, _)| key.as_str()),
    )
    .await;
    let record_key = match next {
        Some((_, nonce)) => {
            let owes = distribution.as_ref().map(|d| Invalidation {
                distribution_id: d.id.clone(),
                paths: invalidation.decoded(),
            });
            let record = mode.record(&ctx.provenance, &job, &history, time, owes);
            let written = record::write_record(ctx.store, &layout, &record, time, &nonce).await;
            Some(written.map_err(|source| Error::Record {
                live: M::APPLY_PUBLISHES,
                source,
            })?)
        }
        None => None,
    };
    r.record.clone_from(&record_key);

    let invalidating = Invalidating {
        planned: invalidation,
        distribution: distribution.as_ref(),
        history: &history,
    };
    // Publish, invalidate (confirming in the pointer what is still owed), verify.
    let published = mode.publish(ctx, &job, invalidating, time, out).await;
    // The run's other modules may be waiting for this one's manifest entries; its
    // invalidation waits for them.
    if let Some(ticket) = ctx.manifests {
        ticket.finish();
    }
    let published = published?;
    r.status = if changed || moves || !published.moved.is_empty() {
        mode.done()
    } else {
        Status::Unchanged
    };
    r.invalidation_paths = published.invalidation.explain();
    let written = record_key.as_deref().map(|key| (key, version.as_str()));
    // Recorded and published: the record protects what the intent did, which goes
    // while the pointer is confirmed, and the manifest's revision is kept meanwhile.
    let intent = match written {
        Some(_) => trail.intent.take(),
        None => None,
    };
    let removed = async {
        if let Some(key) = &intent {
            crate::live::intent::remove(ctx.store, key).await;
        }
    };
    let kept = async {
        if let Some(revision) = published.revision {
            revision.keep(ctx.store).await;
        }
    };
    let confirmed = steps::invalidate_and_confirm(
        ctx,
        &job,
        &history,
        distribution.as_ref(),
        &published.invalidation,
        written,
        r,
    );
    let (confirmed, (), ()) = tokio::join!(confirmed, removed, kept);
    confirmed?;
    mode.verify_live(&job).await?;
    steps::retain(ctx, &job, None, r, out).await
}

/// Before a run's first write: says what this run will make live (its `scope`) in
/// an in-flight intent, so that no deletion removes it before the run's record
/// names it, and refuses a store that cannot take what the run relies on
/// conditional writes for (asked on the intent itself: one round trip, no scratch
/// object; a refused run removes its intent). A role that may not write the intent
/// only gets a warning: the deploy itself is unaffected.
async fn begin_writing<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    version: &str,
    scope: Scope,
    slot: &mut Option<String>,
) -> Result<(), Error> {
    let intent = crate::live::Intent::new(
        job.layout,
        version,
        scope.keys,
        scope.prefixes,
        crate::clock::Utc::now(),
        job.config.requests.abort_incomplete_after,
    );
    match crate::live::intent::write(ctx.store, job.layout, &intent).await {
        Ok(key) => {
            let body = intent.to_json();
            let on = Some((key.as_str(), body.as_slice()));
            *slot = Some(key.clone());
            steps::require_conditional_writes(ctx, job, on).await
        }
        Err(e) => {
            tracing::warn!(
                "could not write the in-flight intent under {} ({e}): until its record is written, a concurrent prune could delete what this deploy uploads; allow s3:GetObject, s3:PutObject and s3:DeleteObject on {}* and listing it (docs/environments.md)",
                job.layout.in_flight_dir(),
                job.layout.in_flight_dir()
            );
            steps::require_conditional_writes(ctx, job, None).await
        }
    }
}
