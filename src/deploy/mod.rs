//! The orchestrator: read → plan → apply → record → invalidate → report. Each stage
//! lives in its own module; this one decides the order and what stops what.
//!
//! Guarantees, each unit-tested here on the in-memory store and CDN:
//! - a conflict found by the plan, or a dry run, writes nothing;
//! - a failure in a phase stops every later phase (and the record, the
//!   invalidation);
//! - an invalidation that fails is owed, and the next run of the module makes it
//!   even when nothing changed;
//! - whatever happened before a failure is in the report.

mod finish;

use std::io::Write;
use std::time::{Duration, Instant};

use crate::apply::{self, Progress, ProgressMode};
use crate::audit;
use crate::aws::{self, RunnerIdentity};
use crate::cdn::cloudfront::CloudFront;
use crate::cdn::{Cdn, DistributionInfo};
use crate::classify::Classifier;
use crate::clock::Utc;
use crate::config::Config;
use crate::error::Error;
use crate::github::commands;
use crate::invalidate::{
    InvalidationPlan, RetryPolicy, caller_reference, invalidate, plan_invalidation,
};
use crate::layout::Layout;
use crate::plan::{Detail, build_plan};
use crate::read;
use crate::record::{self, Invalidation, Provenance};
use crate::report::{Report, Status, entry_url};
use crate::request::DeployRequest;
use crate::scan::{self, LocalFile};
use crate::store::ObjectStore;
use crate::store::s3::S3Store;
use crate::version::build_version;

/// How the run presents itself.
#[derive(Debug, Clone, Copy)]
pub struct Presentation {
    /// Emit workflow commands (annotations) for the GitHub runner.
    pub annotations: bool,
    pub progress: ProgressMode,
}

/// The build being scanned and digested, off the async threads. It starts before
/// anything else so that it overlaps the clients' set-up, the distribution read and
/// the listing.
pub struct PendingScan(tokio::task::JoinHandle<Result<Vec<LocalFile>, Error>>);

impl PendingScan {
    pub fn start(request: &DeployRequest) -> Self {
        let package = request.package.clone();
        let dist = request.dist_path();
        Self(tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let files = scan::scan(&package, &dist)?;
            let bytes: u64 = files.iter().map(|f| f.digest.size).sum();
            tracing::info!(
                "scanned {} files ({}) in {} ms",
                files.len(),
                crate::plan::human_bytes(bytes),
                started.elapsed().as_millis()
            );
            Ok(files)
        }))
    }

    pub async fn finish(self) -> Result<Vec<LocalFile>, Error> {
        self.0.await.map_err(|e| Error::Internal(e.to_string()))?
    }
}

async fn read_distribution<C: Cdn>(
    cdn: Option<&C>,
    id: Option<&str>,
) -> Result<Option<DistributionInfo>, Error> {
    match (cdn, id) {
        (Some(cdn), Some(id)) => Ok(Some(cdn.distribution(id).await.map_err(Error::Cdn)?)),
        _ => Ok(None),
    }
}

/// What a deploy runs against, and how it presents itself.
pub struct Context<'a, S, C> {
    pub store: &'a S,
    /// `None` when no distribution is configured.
    pub cdn: Option<&'a C>,
    /// Repository, run id and attempt: the seed of the invalidation's `CallerReference`.
    pub run_identity: String,
    /// Commit, ref, actor and run URL, for the deploy record.
    pub provenance: Provenance,
    pub presentation: Presentation,
}

/// A deploy that stopped, with what it did before (`None` when it stopped before
/// there was a plan).
#[derive(Debug)]
pub struct Failed {
    pub report: Option<Box<Report>>,
    pub error: Error,
}

impl<E: Into<Error>> From<E> for Failed {
    fn from(error: E) -> Self {
        Self {
            report: None,
            error: error.into(),
        }
    }
}

/// Plans a deploy and, unless it is a dry run, executes it.
pub async fn deploy<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    scan: PendingScan,
    out: &mut dyn Write,
) -> Result<Report, Failed> {
    let started = Instant::now();
    let mut report = None;
    let result = run(ctx, request, config, scan, out, &mut report).await;
    let mut report = report.map(Box::new);
    if let Some(r) = report.as_mut() {
        r.duration = started.elapsed();
    }
    match (result, report) {
        (Ok(()), Some(report)) => Ok(*report),
        (Ok(()), None) => Err(Error::Internal("a deploy ended without a report".to_owned()).into()),
        (Err(error), mut report) => {
            if let Some(r) = report.as_mut() {
                r.status = Status::Failed;
                r.error = Some(error.to_string());
            }
            Err(Failed { report, error })
        }
    }
}

/// The pipeline. `report` is filled as soon as there is a plan and kept current, so
/// a failure still reports what was done.
async fn run<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    scan: PendingScan,
    out: &mut dyn Write,
    report: &mut Option<Report>,
) -> Result<(), Error> {
    let store = ctx.store;
    let classifier =
        Classifier::new(&config.caching).map_err(|e| Error::Internal(e.to_string()))?;
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;

    // Read. Everything before the first write is a read, and they go out together.
    // The distribution is read before any write: a wrong id or a missing permission
    // stops the deploy while nothing has changed.
    let (distribution, files, listed, history) = tokio::join!(
        read_distribution(ctx.cdn, request.distribution_id.as_deref()),
        scan.finish(),
        read::list_with_state(store, &layout),
        record::read_history(store, &layout),
    );
    let distribution = distribution?;
    let files = files?;
    for file in &files {
        layout.file_key(&file.rel_path)?;
    }
    let listed = listed.map_err(Error::Remote)?;
    let history = history.map_err(Error::Remote)?;
    let remote = read::complete(store, listed.view, &files)
        .await
        .map_err(Error::Remote)?;

    // Plan.
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
    let invalidation = match &distribution {
        Some(d) => {
            let root = d
                .url_of(&request.bucket, &request.prefix)
                .unwrap_or_default();
            plan_invalidation(&plan, &remote, d, config.invalidation.max_paths)
                .with_owed(&history.owed(&d.id), &root)
        }
        None => InvalidationPlan::default(),
    };
    let dist_display = request.dist_path().display().to_string();
    let r = report.insert(Report::from_plan(
        &plan,
        &request.package.display().to_string(),
        &request.environment,
        &dist_display,
    ));
    r.entry_url = entry_url(request.public_url.as_deref(), &request.prefix, &plan);
    r.environment_url = request.public_url.clone();
    r.invalidation_paths = invalidation.explain();
    r.previous_version = history.latest().map(|(_, v)| v.to_owned());
    let detail = if request.dry_run {
        Detail::All
    } else {
        Detail::Changes
    };
    // The plan names every file of the build: nothing in it may pass for a workflow command.
    write!(out, "{}", commands::inert(&plan.render(detail))).map_err(Error::stdout)?;
    if let Some(d) = &distribution {
        let text = render_invalidation(&invalidation, &d.id);
        write!(out, "{}", commands::inert(&text)).map_err(Error::stdout)?;
        // Keys this deploy writes count as existing: a shell deploy creates the
        // default root object the distribution points at.
        r.audit = audit::check(store, d, &request.bucket, &layout, |k| {
            plan.files.iter().any(|f| f.key == k)
        })
        .await;
        // NOTE: whether the records are readable through the CDN depends on the
        // bucket policy, which the distribution cannot show: `mfe-deploy audit`
        // says it once rather than every deploy warning about it.
        r.audit.retain(|f| f.code != "records-served");
    }
    warn_unhashed(r, ctx.presentation, out)?;
    warn_findings(r, ctx.presentation, out)?;
    if !plan.conflicts.is_empty() {
        return Err(Error::Conflict {
            bucket: plan.bucket.clone(),
            keys: plan.conflicts.iter().map(|c| c.key.clone()).collect(),
            unverifiable: plan.conflicts.iter().any(|c| c.unverifiable),
        });
    }
    if request.dry_run {
        return Ok(());
    }

    // Apply.
    r.dry_run = false;
    r.status = Status::Failed;
    let progress = Progress::new(ctx.presentation.progress);
    let applied = match apply::apply(store, &plan, apply::DEFAULT_CONCURRENCY, &progress).await {
        Ok(applied) => applied,
        Err(e) => {
            r.uploaded = e.applied.uploaded;
            r.headers_updated = e.applied.headers_updated;
            r.bytes_uploaded = e.applied.bytes;
            return Err(e.into());
        }
    };
    r.uploaded = applied.uploaded;
    r.headers_updated = applied.headers_updated;
    r.bytes_uploaded = applied.bytes;
    r.unchanged = plan.files.len() - applied.uploaded - applied.headers_updated;
    let changed = applied.uploaded + applied.headers_updated > 0;
    finish::save_state(
        store,
        &layout,
        &plan,
        &applied.etags,
        &remote,
        listed.legacy_state.as_deref(),
    )
    .await;

    // Record: what this version consists of, and what it owes CloudFront.
    let owes = distribution.as_ref().map(|d| Invalidation {
        distribution_id: d.id.clone(),
        paths: invalidation.decoded(),
    });
    let record_key = if finish::needs_record(changed, &history, &version) {
        let time = finish::record_time(&layout, &history, Utc::now());
        let stamp = finish::Stamp {
            environment: &request.environment,
            provenance: &ctx.provenance,
            time,
        };
        let record = finish::record_of(&plan, &layout, &history, &stamp, owes.clone());
        Some(
            record::write_record(store, &layout, &record, time)
                .await
                .map_err(Error::Record)?,
        )
    } else {
        None
    };
    r.record.clone_from(&record_key);
    r.status = if changed {
        Status::Deployed
    } else {
        Status::Unchanged
    };

    // Invalidate, then confirm in the pointer what is still owed.
    let invalidated = match (ctx.cdn, &distribution, invalidation.is_empty()) {
        (Some(cdn), Some(d), false) => {
            let reference =
                caller_reference(&ctx.run_identity, &plan.prefix, &invalidation.encoded());
            let wait = request
                .wait
                .then(|| Duration::from_secs(config.invalidation.wait_timeout));
            let result = invalidate(
                cdn,
                &d.id,
                &invalidation,
                &reference,
                RetryPolicy::default(),
                wait,
            )
            .await;
            if let Ok(done) = &result {
                tracing::info!(
                    "invalidation {} ({}) for {} path(s)",
                    done.id,
                    done.status,
                    done.paths.len()
                );
                r.invalidation_id = Some(done.id.clone());
            }
            Some(result)
        }
        _ => None,
    };
    let still_owed = match &invalidated {
        Some(Err(_)) => owes,
        _ => None,
    };
    let written = record_key.as_deref().map(|k| (k, version.as_str()));
    finish::confirm(store, &layout, &history, written, still_owed).await;
    if let Some(Err(e)) = invalidated {
        r.status = Status::Failed;
        return Err(e.into());
    }
    Ok(())
}

fn warn_findings(
    report: &Report,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if presentation.annotations {
        commands::audit_warnings(&mut *out, &report.audit).map_err(Error::stdout)?;
    } else {
        for f in &report.audit {
            let text = format!(
                "CloudFront audit: {}. Why: {}. Fix: {}",
                f.what, f.why, f.fix
            );
            tracing::warn!("{}", commands::inert(&text));
        }
    }
    Ok(())
}

fn render_invalidation(plan: &InvalidationPlan, distribution: &str) -> String {
    if plan.is_empty() {
        return format!(
            "CloudFront {distribution}: nothing to invalidate (no bytes changed at an existing fixed address)\n"
        );
    }
    let mut text = format!(
        "CloudFront {distribution}: invalidate {} path(s)\n",
        plan.paths.len()
    );
    for (path, why) in plan.explain() {
        text.push_str(&format!("    {path}  ({why})\n"));
    }
    text
}

fn warn_unhashed(
    report: &Report,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if report.unhashed_code.is_empty() {
        return Ok(());
    }
    if presentation.annotations {
        commands::unhashed_code_warnings(&mut *out, &report.unhashed_code)
            .map_err(Error::stdout)?;
    } else {
        for file in &report.unhashed_code {
            tracing::warn!(
                "{} has no content hash in its name: served short-lived; use `[name].[contenthash].js` in the bundler's output file names",
                commands::inert(file)
            );
        }
    }
    Ok(())
}

/// The AWS clients for `request`: S3, and CloudFront when a distribution is
/// configured. `on_runner` decides whether credentials are masked with workflow
/// commands (on a terminal those lines would print the secrets).
pub async fn connect(
    request: &DeployRequest,
    identity: &RunnerIdentity,
    on_runner: bool,
    out: &mut dyn Write,
) -> Result<(S3Store, Option<CloudFront>), Error> {
    let mut mask = |secret: &str| {
        if on_runner {
            commands::add_mask(&mut *out, secret)
        } else {
            Ok(())
        }
    };
    let sdk = aws::sdk_config(&request.aws, identity, &mut mask)
        .await
        .map_err(|e| match e {
            aws::ConnectError::Oidc(e) => Error::Oidc(e),
            aws::ConnectError::Mask(e) => Error::stdout(e),
        })?;
    let store = S3Store::new(
        aws::s3_client(&sdk, &request.aws),
        &request.bucket,
        request.aws.bounds,
    );
    let cloudfront = request
        .distribution_id
        .as_ref()
        .map(|_| CloudFront::new(&sdk));
    Ok((store, cloudfront))
}

/// Connects and deploys.
pub async fn deploy_to_aws(
    request: &DeployRequest,
    config: &Config,
    identity: &RunnerIdentity,
    provenance: Provenance,
    on_runner: bool,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<Report, Failed> {
    let scan = PendingScan::start(request);
    let (store, cloudfront) = connect(request, identity, on_runner, &mut *out).await?;
    let ctx = Context {
        store: &store,
        cdn: cloudfront.as_ref(),
        run_identity: identity.run_identity(),
        provenance,
        presentation,
    };
    let result = deploy(&ctx, request, config, scan, out).await;
    tracing::info!("{}", store.counts().summary());
    result
}

#[cfg(test)]
mod tests;
