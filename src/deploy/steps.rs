//! Steps every mode shares: reading the distribution, applying a plan, the in-flight
//! intent, invalidating with what earlier runs still owe, verifying, retaining.

use std::io::Write;

use sha2::Digest as _;

use super::{Context, Job, finish};
use crate::apply::{self, Applied, Landed, Progress};
use crate::cdn::{Cdn, DistributionInfo};
use crate::config::Config;
use crate::error::Error;
use crate::invalidate::batch::Sending;
use crate::invalidate::{InvalidationPlan, caller_reference, invalidate};
use crate::layout::Layout;
use crate::plan::{Action, Plan};
use crate::record::{History, Invalidation};
use crate::report::{Report, Status};
use crate::scan::hex;
use crate::store::ObjectStore;
use crate::verify;

pub async fn read_distribution<C: Cdn>(
    cdn: Option<&C>,
    id: Option<&str>,
) -> Result<Option<DistributionInfo>, Error> {
    match (cdn, id) {
        (Some(cdn), Some(id)) => Ok(Some(cdn.distribution(id).await.map_err(Error::Cdn)?)),
        _ => Ok(None),
    }
}

/// Applies the plan; the report keeps what was done, also when a phase fails.
pub async fn apply_into<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    plan: &Plan,
    r: &mut Report,
) -> Result<Applied, Error> {
    applying(ctx, plan, r, None).await
}

/// The bytes a read-back returns: the entry, and `mf-manifest.json` when the build
/// has one.
pub type ReadBack = (Vec<u8>, Option<Vec<u8>>);

/// Applies `plan` and reads back its entry and `mf-manifest.json` ([`read_back`])
/// as soon as both are in the bucket, while the rest of the files are still being
/// written (when `read`): one round trip less before the record than reading them
/// after the apply. Nothing names the files before the record, which waits for both.
pub async fn apply_and_read_back<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    plan: &Plan,
    entry_rel: &str,
    read: bool,
    r: &mut Report,
) -> Result<(Applied, Option<ReadBack>), Error> {
    let written = plan
        .files
        .iter()
        .filter(|f| is_read_back(&f.rel_path, entry_rel) && f.action != Action::Unchanged);
    let landed = Landed::watching(written.map(|f| f.key.clone()));
    let reading = async {
        match read && landed.all().await {
            true => read_back(ctx.store, plan, entry_rel).await.map(Some),
            // The apply failed before they landed; its error is the run's.
            false => Ok(None),
        }
    };
    let (applied, read_now) = tokio::join!(applying(ctx, plan, r, Some(&landed)), reading);
    let applied = applied?;
    let read_now = match read_now? {
        None if read => Some(read_back(ctx.store, plan, entry_rel).await?),
        read_now => read_now,
    };
    Ok((applied, read_now))
}

async fn applying<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    plan: &Plan,
    r: &mut Report,
    landed: Option<&Landed>,
) -> Result<Applied, Error> {
    let progress = Progress::new(ctx.presentation.progress);
    let result = apply::apply(ctx.store, plan, ctx.slots, &progress, landed).await;
    let applied = match &result {
        Ok(applied) => applied,
        Err(e) => &e.applied,
    };
    r.uploaded = applied.uploaded;
    r.headers_updated = applied.headers_updated;
    r.copied = applied.copied;
    r.bytes_uploaded = applied.bytes;
    r.unchanged = plan.files.len() - applied.uploaded - applied.headers_updated - applied.copied;
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

/// `verify` of a version: its entry and `mf-manifest.json`, the files a manifest
/// names, read through `public-url`; nothing without `verify`.
pub async fn verify_entries(job: &Job<'_>, plan: &Plan, entry_rel: &str) -> Result<(), Error> {
    if !job.request.verify {
        return Ok(());
    }
    let published = plan
        .files
        .iter()
        .filter(|f| is_read_back(&f.rel_path, entry_rel));
    verify_through_public_url(job, published).await
}

/// Before the first write: a store that ignores conditional writes cannot take
/// what this run relies on them for (see [`super::require_conditional_writes`]).
pub async fn require_conditional_writes<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    on: Option<(&str, &[u8])>,
) -> Result<(), Error> {
    let (request, config) = (job.request, job.config);
    super::require_conditional_writes(ctx.store, ctx.probe, request, config, on).await
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
        require_conditional_writes(ctx, job, None).await?;
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

/// Reads the version's entry and `mf-manifest.json` back from the bucket and
/// compares them with what was uploaded; returns the bytes read (entry, manifest).
pub async fn read_back<S: ObjectStore>(
    store: &S,
    plan: &Plan,
    entry_rel: &str,
) -> Result<ReadBack, Error> {
    // The entry and `mf-manifest.json` are read back together: one round trip.
    let checked = plan
        .files
        .iter()
        .filter(|f| is_read_back(&f.rel_path, entry_rel))
        .map(|file| async move {
            let fail = |why: String| Error::ReadBack {
                bucket: plan.bucket.clone(),
                key: file.key.clone(),
                why,
            };
            let fetched = store
                .get(&file.key)
                .await
                .map_err(|e| fail(e.to_string()))?
                .ok_or_else(|| fail("it is not there".to_owned()))?;
            let sha = hex(&sha2::Sha256::digest(&fetched.bytes));
            if sha != file.digest.sha256_hex() {
                return Err(fail(format!(
                    "its bytes differ from the ones uploaded (SHA-256 {sha}, uploaded {})",
                    file.digest.sha256_hex()
                )));
            }
            Ok((file.rel_path.as_str(), fetched.bytes))
        });
    let mut entry = Vec::new();
    let mut mf = None;
    for read in futures::future::join_all(checked).await {
        let (rel, bytes) = read?;
        if rel == "mf-manifest.json" {
            mf = Some(bytes.clone());
        }
        if rel == entry_rel {
            entry = bytes;
        }
    }
    Ok((entry, mf))
}

/// Whether the read-back (and `verify`) reads the file at `rel`.
fn is_read_back(rel: &str, entry_rel: &str) -> bool {
    rel == entry_rel || rel == "mf-manifest.json"
}
