//! In-place mode: fixed URLs rewritten in a safe order, invalidated where bytes
//! changed.

use std::io::Write;

use super::{Context, PendingScan, Trail, finish, integrity, steps};
use crate::cdn::Cdn;
use crate::classify::Classifier;
use crate::clock::Utc;
use crate::config::Config;
use crate::error::Error;
use crate::invalidate::{InvalidationPlan, plan_invalidation};
use crate::layout::Layout;
use crate::model::FileClass;
use crate::plan::build_plan;
use crate::read;
use crate::record::{self, Invalidation};
use crate::report::{Report, Status, entry_url};
use crate::request::DeployRequest;
use crate::store::ObjectStore;
use crate::version::build_version;

/// The pipeline. `report` is filled as soon as there is a plan and kept current, so
/// a failure still reports what was done.
pub async fn run<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    scan: PendingScan,
    out: &mut dyn Write,
    trail: &mut Trail,
) -> Result<(), Error> {
    let store = ctx.store;
    let classifier =
        Classifier::new(&config.caching).map_err(|e| Error::Internal(e.to_string()))?;
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;

    // Read. Everything before the first write is a read, and they go out together.
    // The distribution is read before any write: a wrong id or a missing permission
    // stops the deploy while nothing has changed.
    let (distribution, files, listed, pointer, abandoned) = tokio::join!(
        steps::read_distribution(ctx.cdn, request.distribution_id.as_deref()),
        scan.finish(),
        read::list_with_state(store, &layout),
        record::read_pointer(store, &layout),
        steps::abandoned_uploads(ctx, config, &layout),
    );
    let distribution = distribution?;
    let files = files?;
    for file in &files {
        layout.file_key(&file.rel_path)?;
    }
    let listed = listed.map_err(Error::Remote)?;
    let needed = files.iter().map(|f| listed.view.needs_md5(f)).collect();
    let files = steps::add_md5(files, needed).await?;
    let confirmed = listed.view.state().record.as_deref();
    let history = record::with_newer(store, &layout, pointer.map_err(Error::Remote)?, confirmed)
        .await
        .map_err(Error::Remote)?;
    let remote = read::complete(store, listed.view, &files)
        .await
        .map_err(Error::Remote)?;

    // Plan.
    let version = request
        .version
        .clone()
        .unwrap_or_else(|| build_version(&files));
    let mut plan = build_plan(
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
    let r = trail.report.insert(Report::from_plan(
        &plan,
        &request.package.display().to_string(),
        &request.environment,
        &dist_display,
    ));
    r.entry_url = entry_url(request.public_url.as_deref(), &request.prefix, &plan);
    r.environment_url = request.public_url.clone();
    r.invalidation_paths = invalidation.explain();
    r.previous_version = history.latest().map(|(_, v)| v.to_owned());
    let job = steps::Job {
        request,
        config,
        layout: &layout,
    };
    steps::show(
        ctx,
        &job,
        &plan,
        &invalidation,
        distribution.as_ref(),
        r,
        out,
    )
    .await?;
    if !plan.conflicts.is_empty() {
        return Err(Error::Conflict {
            bucket: plan.bucket.clone(),
            keys: plan.conflicts.iter().map(|c| c.key.clone()).collect(),
            unverifiable: plan.conflicts.iter().any(|c| c.unverifiable),
        });
    }
    integrity::check(
        store,
        request.public_url.as_deref(),
        &mut plan,
        &remote,
        r,
        out,
    )
    .await?;
    if request.dry_run {
        return steps::retain_planned(ctx, &job, &plan, &history, r, out).await;
    }

    // Apply, after saying what this run will publish and clearing what interrupted
    // runs left.
    let planned = plan.counts();
    if planned.uploaded + planned.headers_only > 0
        || finish::needs_record(false, &history, &version)
    {
        let keys = plan.files.iter().map(|f| f.key.clone()).collect();
        steps::begin_writing(ctx, &job, &version, keys, Vec::new(), &mut trail.intent).await?;
    }
    crate::cleanup::abort(store, &abandoned).await;
    let applied = steps::apply_into(ctx, &plan, r).await?;
    let changed = applied.uploaded + applied.headers_updated > 0;
    // The record's name is chosen before the state, which names it.
    let next_record = finish::needs_record(changed, &history, &version).then(|| {
        let time = finish::record_time(&layout, &history, Utc::now());
        let nonce = record::new_nonce();
        (
            time,
            layout.record_key(&time.compact(), &version, &nonce),
            nonce,
        )
    });
    let newest = match &next_record {
        Some((_, key, _)) => Some(key.as_str()),
        None => history.latest().map(|(key, _)| key),
    };
    finish::save_state(
        store,
        &layout,
        &plan,
        &applied.etags,
        &remote,
        &listed.state,
        newest,
    )
    .await;

    // Record: what this version consists of, and what it owes CloudFront.
    let owes = distribution.as_ref().map(|d| Invalidation {
        distribution_id: d.id.clone(),
        paths: invalidation.decoded(),
    });
    let record_key = match next_record {
        Some((time, _, nonce)) => {
            let stamp = finish::Stamp {
                environment: &request.environment,
                provenance: &ctx.provenance,
                time,
            };
            let record = finish::record_of(&plan, &layout, &history, &stamp, owes.clone());
            Some(
                record::write_record(store, &layout, &record, time, &nonce)
                    .await
                    .map_err(|source| Error::Record { live: true, source })?,
            )
        }
        None => None,
    };
    r.record.clone_from(&record_key);
    r.status = if changed {
        Status::Deployed
    } else {
        Status::Unchanged
    };

    // Invalidate, then confirm in the pointer what is still owed.
    let written = record_key.as_deref().map(|k| (k, version.as_str()));
    steps::invalidate_and_confirm(
        ctx,
        &job,
        &history,
        distribution.as_ref(),
        &invalidation,
        written,
        r,
    )
    .await?;
    if request.verify {
        let entries = plan
            .files
            .iter()
            .filter(|f| matches!(f.class, FileClass::Entry | FileClass::Html));
        if let Err(e) = steps::verify_through_public_url(&job, entries).await {
            r.status = Status::Failed;
            return Err(e);
        }
    }
    steps::retain(ctx, &job, None, r, out).await
}
