//! Steps both modes share: reading the distribution, showing the plan with its audit,
//! applying it, and invalidating with what earlier runs still owe.

use std::io::Write;
use std::time::Instant;

use super::{Context, Presentation, finish};
use crate::apply::{self, Applied, Progress};
use crate::audit;
use crate::cdn::{Cdn, DistributionInfo};
use crate::config::Config;
use crate::error::Error;
use crate::github::commands;
use crate::invalidate::batch::Sending;
use crate::invalidate::{InvalidationPlan, caller_reference, invalidate};
use crate::layout::Layout;
use crate::plan::{Detail, Plan};
use crate::record::{History, Invalidation};
use crate::report::{Report, Status};
use crate::request::DeployRequest;
use crate::scan::{self, LocalFile};
use crate::store::ObjectStore;
use crate::verify;

/// The build being scanned and digested, off the async threads. It starts before
/// anything else so that it overlaps the clients' set-up, the distribution read and
/// the listing.
pub struct PendingScan(Option<tokio::task::JoinHandle<Result<Vec<LocalFile>, Error>>>);

impl PendingScan {
    /// No scan: a rollback never reads the build.
    pub fn skipped() -> Self {
        Self(None)
    }

    pub fn start(request: &DeployRequest) -> Self {
        let package = request.package.clone();
        let dist = request.dist_path();
        let allow = request.allow_sensitive.clone();
        Self(Some(tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            // NOTE: the config was validated, so its globs compile.
            let allow =
                crate::globs::glob_set(&allow).unwrap_or_else(|_| globset::GlobSet::empty());
            let files = scan::scan(&package, &dist, &allow)?;
            let bytes: u64 = files.iter().map(|f| f.digest.size).sum();
            tracing::info!(
                "scanned {} files ({}) in {} ms",
                files.len(),
                crate::plan::human_bytes(bytes),
                started.elapsed().as_millis()
            );
            Ok(files)
        })))
    }

    pub async fn finish(self) -> Result<Vec<LocalFile>, Error> {
        match self.0 {
            Some(task) => task.await.map_err(|e| Error::Internal(e.to_string()))?,
            None => Err(Error::Internal("the build was not scanned".to_owned())),
        }
    }
}

/// The build's files with their MD5s added where `needed` says (one flag a file),
/// off the async threads: for ETag comparisons and the parts of multipart uploads
/// (`Content-MD5`). A whole-file upload carries the scan's SHA-256 instead, and a
/// file the deploy state confirms is never read a second time.
pub async fn add_md5(
    mut files: Vec<LocalFile>,
    needed: Vec<bool>,
) -> Result<Vec<LocalFile>, Error> {
    if !needed.contains(&true) {
        return Ok(files);
    }
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        scan::add_md5(&mut files, &needed)?;
        let (count, bytes) = files
            .iter()
            .zip(&needed)
            .filter(|(_, needed)| **needed)
            .fold((0, 0), |(n, b), (f, _)| (n + 1, b + f.digest.size));
        tracing::info!(
            "MD5 of {count} file(s) to compare with ETags or send in parts ({}) in {} ms",
            crate::plan::human_bytes(bytes),
            started.elapsed().as_millis()
        );
        Ok(files)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

pub async fn read_distribution<C: Cdn>(
    cdn: Option<&C>,
    id: Option<&str>,
) -> Result<Option<DistributionInfo>, Error> {
    match (cdn, id) {
        (Some(cdn), Some(id)) => Ok(Some(cdn.distribution(id).await.map_err(Error::Cdn)?)),
        _ => Ok(None),
    }
}

/// What one module's run is about: the request, the config, its keys.
pub struct Job<'a> {
    pub request: &'a DeployRequest,
    pub config: &'a Config,
    pub layout: &'a Layout,
}

/// Prints the plan and the invalidation, audits the distribution, and warns.
pub async fn show<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    plan: &Plan,
    invalidation: &InvalidationPlan,
    distribution: Option<&DistributionInfo>,
    r: &mut Report,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let (request, layout) = (job.request, job.layout);
    let detail = if request.dry_run {
        Detail::All
    } else {
        Detail::Changes
    };
    // The plan names every file of the build: nothing in it may pass for a workflow command.
    write!(out, "{}", commands::inert(&plan.render(detail))).map_err(Error::stdout)?;
    if let Some(d) = distribution {
        let text = render_invalidation(invalidation, &d.id);
        write!(out, "{}", commands::inert(&text)).map_err(Error::stdout)?;
        // Keys this deploy writes count as existing: a shell deploy creates the
        // default root object the distribution points at.
        r.audit = audit::check(ctx.store, d, &request.bucket, layout, |k| {
            plan.files.iter().any(|f| f.key == k)
        })
        .await;
        // NOTE: whether the records are readable through the CDN depends on the
        // bucket policy, which the distribution cannot show: `mfe-deploy audit`
        // says it once rather than every deploy warning about it.
        r.audit.retain(|f| f.code != "records-served");
    }
    warn_unhashed(r, ctx.presentation, out)?;
    warn_findings(r, ctx.presentation, out)
}

/// Applies the plan; the report keeps what was done, also when a phase fails.
pub async fn apply_into<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    plan: &Plan,
    r: &mut Report,
) -> Result<Applied, Error> {
    let progress = Progress::new(ctx.presentation.progress);
    let result = apply::apply(ctx.store, plan, ctx.slots, &progress).await;
    let applied = match &result {
        Ok(applied) => applied,
        Err(e) => &e.applied,
    };
    r.uploaded = applied.uploaded;
    r.headers_updated = applied.headers_updated;
    r.bytes_uploaded = applied.bytes;
    r.unchanged = plan.files.len() - applied.uploaded - applied.headers_updated;
    result.map_err(Error::from)
}

/// Sends the invalidation (when there is a distribution and anything to
/// invalidate), then confirms in the pointer the newest record and what is still
/// owed. A failed invalidation stays owed and fails the run.
pub async fn invalidate_and_confirm<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    history: &History,
    distribution: Option<&DistributionInfo>,
    invalidation: &InvalidationPlan,
    written: Option<(&str, &str)>,
    r: &mut Report,
) -> Result<(), Error> {
    let (request, config, layout) = (job.request, job.config, job.layout);
    let owes = distribution.map(|d| Invalidation {
        distribution_id: d.id.clone(),
        paths: invalidation.decoded(),
    });
    let sending = Sending::new(
        ctx.run_identity.clone(),
        request.wait,
        config.invalidation.wait_timeout,
    );
    let invalidated = match (ctx.cdn, distribution, invalidation.is_empty()) {
        (Some(cdn), Some(d), false) => {
            let result = match ctx.batch {
                Some(ticket) => {
                    ticket
                        .submit(cdn, &d.id, invalidation, layout.prefix(), &sending)
                        .await
                }
                None => {
                    let reference = caller_reference(
                        &ctx.run_identity,
                        layout.prefix(),
                        &invalidation.encoded(),
                    );
                    invalidate(
                        cdn,
                        &d.id,
                        invalidation,
                        &reference,
                        sending.policy,
                        sending.wait,
                    )
                    .await
                }
            };
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
        _ => {
            if let Some(ticket) = ctx.batch {
                ticket.leave(ctx.cdn, &sending).await;
            }
            None
        }
    };
    let still_owed = match &invalidated {
        Some(Err(_)) => owes,
        _ => None,
    };
    finish::confirm(ctx.store, layout, history, written, still_owed).await;
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

/// `verify`: reads `files` back through `public-url` and fails if any differs.
pub async fn verify_through_public_url<'a>(
    job: &Job<'_>,
    files: impl Iterator<Item = &'a crate::plan::PlannedFile>,
) -> Result<(), Error> {
    let request = job.request;
    let expected: Vec<verify::Expected> = files
        .map(|f| verify::Expected {
            url: crate::report::public_url_of(request.public_url.as_deref(), &f.key),
            sha256: f.digest.sha256_hex(),
        })
        .collect();
    verify::verify(&expected, job.config.verify_timeout(), verify::POLL).await?;
    Ok(())
}

/// Before the first write: a store that ignores conditional writes cannot take
/// what this run relies on them for (see [`super::require_conditional_writes`]).
pub async fn require_conditional_writes<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
) -> Result<(), Error> {
    super::require_conditional_writes(ctx.store, ctx.probe, job.request, job.config).await
}

/// Before a run's first write: refuses a store that cannot take what the run
/// relies on conditional writes for, then says what this run will make live (its
/// `scope`) in an in-flight intent, so that
/// no deletion removes it before the run's record names it. A role that may not
/// write the intent only gets a warning: the deploy itself is unaffected.
pub async fn begin_writing<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    version: &str,
    scope: super::pipeline::Scope,
    slot: &mut Option<String>,
) -> Result<(), Error> {
    require_conditional_writes(ctx, job).await?;
    let intent = crate::live::Intent::new(
        job.layout,
        version,
        scope.keys,
        scope.prefixes,
        crate::clock::Utc::now(),
        job.config.requests.abort_incomplete_after,
    );
    match crate::live::intent::write(ctx.store, job.layout, &intent).await {
        Ok(key) => *slot = Some(key),
        Err(e) => tracing::warn!(
            "could not write the in-flight intent under {} ({e}): until its record is written, a concurrent prune could delete what this deploy uploads; allow s3:GetObject, s3:PutObject and s3:DeleteObject on {}* and listing it (docs/environments.md)",
            job.layout.in_flight_dir(),
            job.layout.in_flight_dir()
        ),
    }
    Ok(())
}

/// Multipart uploads under the module's prefix that interrupted runs left.
pub async fn abandoned_uploads<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    config: &Config,
    layout: &Layout,
) -> Vec<crate::store::PendingUpload> {
    crate::cleanup::find(
        ctx.store,
        ctx.uploads,
        layout.prefix(),
        crate::clock::Utc::now(),
        config.requests.abort_incomplete_after,
    )
    .await
}

/// Retention at the end of a run, when the config asks for it: the deploy is live
/// either way. `pending` is the dry run's unwritten record.
pub async fn retain<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    pending: Option<crate::record::DeployRecord>,
    r: &mut Report,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let Some(policy) = &job.request.retention else {
        return Ok(());
    };
    let dry_run = job.request.dry_run;
    let pruned = async {
        require_conditional_writes(ctx, job).await?;
        super::prune::prune(ctx.store, job.request, job.layout, policy, pending, out).await
    };
    match pruned.await {
        Ok(deleted) => {
            r.deleted = deleted;
            Ok(())
        }
        // A dry run deployed nothing: its retention's failure is the run's.
        Err(e) if dry_run => Err(e),
        // NOTE: the deploy is complete and live whatever retention does now; its
        // failure fails the run (exit 1), never as bad input, and says so.
        Err(Error::Retention { why, .. }) => Err(Error::Retention {
            deployed: true,
            why,
        }),
        Err(e) => Err(Error::Retention {
            deployed: true,
            why: e.to_string(),
        }),
    }
}
