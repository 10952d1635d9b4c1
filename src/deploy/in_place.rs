//! In-place mode: fixed URLs rewritten in a safe order, invalidated where bytes
//! changed.

use std::collections::BTreeMap;
use std::io::Write;

use super::Job;
use super::pipeline::{Mode, Planned, Scope};
use super::steps;
use super::{Context, PendingScan, finish, integrity};
use crate::cdn::{Cdn, DistributionInfo};
use crate::classify::Classifier;
use crate::clock::Utc;
use crate::error::Error;
use crate::invalidate::{InvalidationPlan, plan_invalidation};
use crate::model::FileClass;
use crate::plan::{Plan, RemoteView, build_plan};
use crate::read::{self, StateRead};
use crate::record::{self, DeployRecord, History, Invalidation, Provenance};
use crate::report::{Report, Status, entry_url};
use crate::store::ObjectStore;
use crate::version::build_version;

/// An in-place run, planned.
pub struct InPlace {
    plan: Plan,
    /// The module prefix as listed (and completed with HEADs).
    remote: RemoteView,
    /// How the deploy state was read, for its conditional rewrite.
    state: StateRead,
    /// The ETags the uploads returned.
    etags: BTreeMap<String, String>,
}

impl Mode for InPlace {
    type Input = PendingScan;
    const APPLY_PUBLISHES: bool = true;

    async fn plan<S: ObjectStore, C: Cdn>(
        scan: PendingScan,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
    ) -> Result<(Self, Planned), Error> {
        let (store, request, layout) = (ctx.store, job.request, job.layout);
        let classifier =
            Classifier::new(&job.config.caching).map_err(|e| Error::Internal(e.to_string()))?;
        let (files, listed, pointer) = tokio::join!(
            scan.finish(),
            read::list_with_state(store, layout),
            record::read_pointer(store, layout),
        );
        let files = files?;
        for file in &files {
            layout.file_key(&file.rel_path)?;
        }
        let listed = listed.map_err(Error::Remote)?;
        let needed = files.iter().map(|f| listed.view.needs_md5(f)).collect();
        let files = super::build::add_md5(files, needed).await?;
        let confirmed = listed.view.state().record.as_deref();
        let history = record::with_newer(store, layout, pointer.map_err(Error::Remote)?, confirmed)
            .await
            .map_err(Error::Remote)?;
        let remote = read::complete(store, listed.view, &files)
            .await
            .map_err(Error::Remote)?;

        let version = request
            .version
            .clone()
            .unwrap_or_else(|| build_version(&files));
        let plan = build_plan(
            &files,
            &classifier,
            &request.bucket,
            &request.prefix,
            &version,
            &remote,
        );
        let mut report = Report::from_plan(
            &plan,
            &request.package.display().to_string(),
            &request.environment,
            &request.dist_path().display().to_string(),
        );
        report.entry_url = entry_url(request.public_url.as_deref(), &request.prefix, &plan);
        report.previous_version = history.latest().map(|(_, v)| v.to_owned());
        let run = Self {
            plan,
            remote,
            state: listed.state,
            etags: BTreeMap::new(),
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
        d: &DistributionInfo,
    ) -> InvalidationPlan {
        let request = job.request;
        let root = d
            .url_of(&request.bucket, &request.prefix)
            .unwrap_or_default();
        plan_invalidation(
            &self.plan,
            &self.remote,
            d,
            job.config.invalidation.max_paths,
        )
        .with_owed(&history.owed(&d.id), &root)
    }

    async fn show<S: ObjectStore, C: Cdn>(
        &self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        invalidation: &InvalidationPlan,
        distribution: Option<&DistributionInfo>,
        r: &mut Report,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        super::show::plan(ctx, job, &self.plan, invalidation, distribution, r, out).await
    }

    async fn refuse<S: ObjectStore, C: Cdn>(
        &mut self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        r: &mut Report,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let plan = &mut self.plan;
        if !plan.conflicts.is_empty() {
            return Err(Error::Conflict {
                bucket: plan.bucket.clone(),
                keys: plan.conflicts.iter().map(|c| c.key.clone()).collect(),
                unverifiable: plan.conflicts.iter().any(|c| c.unverifiable),
            });
        }
        let public = job.request.public_url.as_deref();
        integrity::check(ctx.store, public, plan, &self.remote, r, out).await
    }

    fn done(&self) -> Status {
        Status::Deployed
    }

    fn uploads(&self) -> bool {
        let planned = self.plan.counts();
        planned.uploaded + planned.headers_only > 0
    }

    fn moves(&self) -> bool {
        false
    }

    fn scope(&self, _job: &Job<'_>, _version: &str) -> Scope {
        Scope {
            keys: self.plan.files.iter().map(|f| f.key.clone()).collect(),
            prefixes: Vec::new(),
        }
    }

    async fn apply<S: ObjectStore, C: Cdn>(
        &mut self,
        ctx: &Context<'_, S, C>,
        _job: &Job<'_>,
        r: &mut Report,
    ) -> Result<bool, Error> {
        let applied = steps::apply_into(ctx, &self.plan, r).await?;
        self.etags = applied.etags;
        Ok(applied.uploaded + applied.headers_updated > 0)
    }

    fn record(
        &self,
        provenance: &Provenance,
        job: &Job<'_>,
        history: &History,
        time: Utc,
        owes: Option<Invalidation>,
    ) -> DeployRecord {
        let etag = finish::known_etag(&self.etags, &self.remote);
        finish::record_of(&self.plan, job, provenance, history, time, owes, etag)
    }

    async fn settle_state<S: ObjectStore>(
        &self,
        store: &S,
        job: &Job<'_>,
        history: &History,
        next: Option<&str>,
    ) {
        let newest = next.or_else(|| history.latest().map(|(key, _)| key));
        finish::save_state(
            store,
            job.layout,
            &self.plan,
            &self.etags,
            &self.remote,
            &self.state,
            newest,
        )
        .await;
    }

    async fn verify_live(&self, job: &Job<'_>) -> Result<(), Error> {
        if !job.request.verify {
            return Ok(());
        }
        let entries = self
            .plan
            .files
            .iter()
            .filter(|f| matches!(f.class, FileClass::Entry | FileClass::Html));
        steps::verify_through_public_url(job, entries).await
    }
}
