//! A rollout step without a build: `promote` (the canary becomes the stable version
//! for everyone, in every manifest format), `abort` (the canary is removed), or
//! `<N>%` naming an already published `version` (the canary starts or moves). A
//! canary step with a build is the versioned mode publishing into the canary
//! (`versioned.rs`). Each step writes a record, so `history` shows every step.

use std::io::Write;

use super::pipeline::{Invalidating, Mode, Planned, Published};
use super::rollback::published;
use super::{Context, Job, publish};
use crate::cdn::{Cdn, DistributionInfo};
use crate::clock::Utc;
use crate::error::Error;
use crate::invalidate::InvalidationPlan;
use crate::manifest::rollout::{self, RolloutError};
use crate::manifest::{self, LiveEntry};
use crate::record::{
    self, DeployRecord, History, Invalidation, Provenance, RECORD_SCHEMA, RecordKind,
    RecordedRollout,
};
use crate::report::{Report, Status, public_url_of};
use crate::request::Rollout;
use crate::store::{Fetched, ObjectStore};

/// A rollout step, planned: the module's entry before and after it.
pub struct RolloutStep {
    step: Rollout,
    /// The module's entry in the native manifest, as read.
    live: LiveEntry,
    /// What the step writes (its `deployed` stamped when it is published).
    next: LiveEntry,
    /// The record of the version the step concerns (the canary's, or the stable one
    /// an abort leaves), whose files the step's record names.
    version_record: DeployRecord,
    /// The deploy state an earlier deploy of the module left, if any.
    state: Option<Fetched>,
}

impl Mode for RolloutStep {
    type Input = Rollout;
    const APPLY_PUBLISHES: bool = false;

    async fn plan<S: ObjectStore, C: Cdn>(
        step: Rollout,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
    ) -> Result<(Self, Planned), Error> {
        let (store, request, layout) = (ctx.store, job.request, job.layout);
        let module = layout.module();
        let (records_dir, state_key) = (layout.records_dir(), layout.state_key());
        let (history, native, records, state) = tokio::join!(
            record::read_history(store, layout),
            publish::read_native(store, &request.manifest),
            store.list(&records_dir),
            store.get(&state_key),
        );
        let state = state.map_err(Error::Remote)?;
        let history = history.map_err(Error::Remote)?;
        let records = records.map_err(Error::Remote)?;
        let live = native?.and_then(|f| manifest::live(&f.bytes, module));
        let now = Utc::now().rfc3339();
        let canary = live.as_ref().and_then(|l| l.canary.as_ref());
        if let (Rollout::Promote | Rollout::Abort, Some(asked), Some(c)) =
            (step, &request.version, canary)
            && asked != &c.version
        {
            return Err(RolloutError::NotTheCanary {
                module: module.to_owned(),
                asked: asked.clone(),
                canary: c.version.clone(),
            }
            .into());
        }
        // (the entry written, the version concerned, its record when already read)
        let (next, version, found) = match step {
            Rollout::Promote => {
                let next = rollout::promote(module, live.as_ref(), &now)?;
                let version = next.version.clone();
                (next, version, None)
            }
            Rollout::Abort => {
                let next = rollout::abort(module, live.as_ref())?;
                let version = next.version.clone();
                (next, version, None)
            }
            Rollout::Percent(percent) => {
                let version = request.version.clone().unwrap_or_default();
                let canary = live
                    .as_ref()
                    .and_then(|l| l.canary.as_ref().map(|c| (l, c)));
                let (candidate, found) = match canary {
                    // The live canary's own version: its percentage moves.
                    Some((l, c)) if c.version == version => (
                        LiveEntry {
                            entry: c.entry.clone(),
                            mf_manifest: c.mf_manifest.clone(),
                            integrity: c.integrity.clone(),
                            commit: c.commit.clone(),
                            version: version.clone(),
                            ..l.clone()
                        },
                        None,
                    ),
                    _ => {
                        let found =
                            published(store, request, layout, &records, &version, live.as_ref());
                        let (record, entry) = found.await?;
                        (entry, Some(record))
                    }
                };
                let id = format!("{version}-{}", record::new_nonce());
                let next = rollout::canary(module, live.as_ref(), &candidate, percent, &now, id)?;
                (next, version, found)
            }
        };
        let live = live.ok_or_else(|| RolloutError::NoStable {
            module: module.to_owned(),
        })?;
        // The step's record names the files of the version it concerns; a version
        // deployed before records existed gets a record naming none.
        let version_record = match found {
            Some(record) => record,
            None => match published(store, request, layout, &records, &version, None).await {
                Ok((record, _)) => record,
                Err(Error::Remote(e)) => return Err(Error::Remote(e)),
                Err(_) if step == Rollout::Abort => empty_record(job, &version),
                Err(e) => return Err(e),
            },
        };

        let mut report = Report::empty(
            &request.package.display().to_string(),
            &request.environment,
            &request.bucket,
            &layout.version_prefix(&version),
            &version,
        );
        report.entry_url = Some(next.entry.clone());
        report.manifest_url = Some(public_url_of(
            request.public_url.as_deref(),
            &request.manifest.native,
        ));
        report.previous_version = Some(live.version.clone());
        report.unchanged = version_record.files.len();
        report.canary = next.canary.as_ref().map(|c| (c.version.clone(), c.percent));
        let run = Self {
            step,
            live,
            next,
            version_record,
            state,
        };
        let planned = Planned {
            version,
            history,
            report,
        };
        Ok((run, planned))
    }

    fn invalidation(
        &self,
        job: &Job<'_>,
        history: &History,
        distribution: &DistributionInfo,
    ) -> InvalidationPlan {
        match self.step {
            // Promoted, it is the version every format names.
            Rollout::Promote => publish::manifest_invalidation(job, distribution, history),
            _ => publish::native_invalidation(job, distribution, history),
        }
    }

    async fn show<S: ObjectStore, C: Cdn>(
        &self,
        _ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        _invalidation: &InvalidationPlan,
        _distribution: Option<&DistributionInfo>,
        _r: &mut Report,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let module = job.layout.module();
        let stable = &self.live.version;
        let said = match (&self.step, &self.next.canary) {
            (Rollout::Promote, _) => format!(
                "Rollout of {module}: the canary {} becomes the stable version for everyone (was {stable})",
                self.next.version
            ),
            (Rollout::Abort, _) => {
                format!("Rollout of {module}: the canary is removed; everyone gets {stable}")
            }
            (Rollout::Percent(_), Some(c)) => format!(
                "Rollout of {module}: {} for {}% of users, {stable} for the others (rollout {})",
                c.version, c.percent, c.rollout
            ),
            (Rollout::Percent(_), None) => format!("Rollout of {module}: no canary"),
        };
        writeln!(out, "{said}; nothing is uploaded").map_err(Error::stdout)
    }

    fn done(&self) -> Status {
        match self.step {
            Rollout::Percent(_) => Status::Canary,
            Rollout::Promote => Status::Promoted,
            Rollout::Abort => Status::Aborted,
        }
    }

    fn uploads(&self) -> bool {
        false
    }

    fn moves(&self) -> bool {
        self.next != self.live
    }

    async fn apply<S: ObjectStore, C: Cdn>(
        &mut self,
        _ctx: &Context<'_, S, C>,
        _job: &Job<'_>,
        _r: &mut Report,
    ) -> Result<bool, Error> {
        Ok(false)
    }

    fn record(
        &self,
        provenance: &Provenance,
        job: &Job<'_>,
        _history: &History,
        time: Utc,
        owes: Option<Invalidation>,
    ) -> DeployRecord {
        let (kind, rollout) = match (&self.step, &self.live.canary, &self.next.canary) {
            (Rollout::Percent(_), _, Some(c)) => {
                (RecordKind::Canary, (c.rollout.clone(), c.percent))
            }
            (Rollout::Promote, Some(c), _) => (RecordKind::Promote, (c.rollout.clone(), 100)),
            (_, Some(c), _) => (RecordKind::Abort, (c.rollout.clone(), 0)),
            _ => (RecordKind::Abort, (String::new(), 0)),
        };
        // An abort leaves the stable version live: what was live before it is what its
        // own record says; the other steps follow the stable version.
        let previous_version = match self.step {
            Rollout::Abort => self.version_record.previous_version.clone(),
            _ => Some(self.live.version.clone()),
        };
        DeployRecord {
            kind,
            environment: job.request.environment.clone(),
            previous_version,
            provenance: provenance.clone(),
            time: time.rfc3339(),
            invalidation: owes.filter(|i| !i.paths.is_empty()),
            rollout: Some(RecordedRollout {
                id: rollout.0,
                percent: rollout.1,
            }),
            ..self.version_record.clone()
        }
    }

    fn left_state(&self) -> Option<&Fetched> {
        self.state.as_ref()
    }

    async fn publish<S: ObjectStore, C: Cdn>(
        &self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        invalidating: Invalidating<'_>,
        time: Utc,
        _out: &mut dyn Write,
    ) -> Result<Published, Error> {
        if !self.moves() {
            return Ok(Published {
                invalidation: publish::owed_only(job, &invalidating),
                moved: Vec::new(),
                revision: None,
            });
        }
        if self.step == Rollout::Promote {
            let next = LiveEntry {
                deployed: time.rfc3339(),
                ..self.next.clone()
            };
            let live = Some(&self.live);
            return publish::publish(ctx, job, invalidating, live, Some(next), time, None).await;
        }
        let switched = publish::native(ctx, job, &self.next, time, None).await?;
        Ok(Published {
            invalidation: invalidating.planned,
            moved: switched.moved,
            revision: switched.revision,
        })
    }
}

/// A record for a version none describes (deployed before records existed).
fn empty_record(job: &Job<'_>, version: &str) -> DeployRecord {
    DeployRecord {
        schema: RECORD_SCHEMA.to_owned(),
        kind: RecordKind::Abort,
        module: job.layout.module().to_owned(),
        prefix: job.layout.prefix().to_owned(),
        environment: job.request.environment.clone(),
        mode: "versioned".to_owned(),
        version: version.to_owned(),
        previous_version: None,
        provenance: Provenance::default(),
        time: String::new(),
        files: Default::default(),
        invalidation: None,
        rollout: None,
        republished: None,
    }
}
