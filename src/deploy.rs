//! The pipeline: scan → classify → read the bucket → plan → apply → record state.

use std::io::Write;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};

use crate::apply::{self, Progress, ProgressMode};
use crate::audit::{self, Finding};
use crate::aws::{self, RunnerIdentity};
use crate::cdn::cloudfront::CloudFront;
use crate::cdn::{Cdn, DistributionInfo};
use crate::classify::{Classifier, Headers};
use crate::config::Config;
use crate::error::Error;
use crate::github::commands;
use crate::invalidate::{
    InvalidationPlan, RetryPolicy, caller_reference, invalidate, plan_invalidation,
};
use crate::plan::{Detail, Plan, RemoteView, build_plan};
use crate::report::{Report, entry_url};
use crate::request::DeployRequest;
use crate::scan::{self, LocalFile};
use crate::state::{DeployState, state_key};
use crate::store::s3::S3Store;
use crate::store::{HeadInfo, ObjectStore};
use crate::version::build_version;

/// How the run presents itself.
#[derive(Debug, Clone, Copy)]
pub struct Presentation {
    /// Emit workflow commands (annotations) for the GitHub runner.
    pub annotations: bool,
    pub progress: ProgressMode,
}

/// Reads to learn object headers, in flight at once (only before the state exists).
const HEAD_CONCURRENCY: usize = 32;

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

/// Lists the module prefix and reads the deploy state; independent of the build, so
/// it runs while the build is scanned. The LIST and the GET go out together: a
/// rebuild waits for one round trip, not two.
pub async fn list_with_state<S: ObjectStore>(store: &S, prefix: &str) -> Result<RemoteView, Error> {
    let key = state_key(prefix);
    let (listing, fetched) = futures::join!(store.list(prefix), store.get(&key));
    let mut listing = listing.map_err(Error::Remote)?;
    let listed = listing
        .iter()
        .position(|o| o.key == key)
        .map(|i| listing.swap_remove(i));
    let (state, state_modified) = match fetched.map_err(Error::Remote)? {
        Some(fetched) => {
            let state = DeployState::from_json(&fetched.bytes);
            if state.is_none() {
                tracing::warn!("ignoring unreadable deploy state at {key}; it will be rewritten");
            }
            let modified = fetched
                .last_modified
                .or_else(|| listed.and_then(|o| o.last_modified));
            (state, modified)
        }
        None => (None, None),
    };
    Ok(RemoteView::new(prefix, listing, state).with_state_modified(state_modified))
}

/// Completes the view with a HEAD for each object the state cannot vouch for.
pub async fn read_heads<S: ObjectStore>(
    store: &S,
    mut view: RemoteView,
    files: &[LocalFile],
) -> Result<RemoteView, Error> {
    let missing = view.keys_needing_head(files);
    if !missing.is_empty() {
        tracing::info!(
            "reading {} object(s) not yet recorded in the deploy state (HEAD)",
            missing.len()
        );
    }
    let heads: Vec<(String, Result<Option<HeadInfo>, _>)> = stream::iter(missing)
        .map(|key| async move {
            let head = store.head(&key).await;
            (key, head)
        })
        .buffer_unordered(HEAD_CONCURRENCY)
        .collect()
        .await;
    for (key, head) in heads {
        if let Some(head) = head.map_err(Error::Remote)? {
            view.set_head(key, head);
        }
    }
    Ok(view)
}

/// What a deploy runs against, and how it presents itself.
pub struct Context<'a, S, C> {
    pub store: &'a S,
    /// `None` when no distribution is configured.
    pub cdn: Option<&'a C>,
    /// Repository, run id and attempt: the seed of the invalidation's `CallerReference`.
    pub run_identity: String,
    pub presentation: Presentation,
}

/// Plans a deploy and, unless it is a dry run, executes it: uploads in phases, then
/// invalidates what changed at fixed addresses.
pub async fn deploy<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    scan: PendingScan,
    out: &mut dyn Write,
) -> Result<Report, Error> {
    let started = Instant::now();
    let classifier =
        Classifier::new(&config.caching).map_err(|e| Error::Internal(e.to_string()))?;
    // Everything before the first write is a read, and they go out together. The
    // distribution is read before any write: a wrong id or missing permission stops
    // the deploy while nothing has changed.
    let (distribution, files, listed) = tokio::join!(
        read_distribution(ctx.cdn, request.distribution_id.as_deref()),
        scan.finish(),
        list_with_state(ctx.store, &request.prefix)
    );
    let distribution = distribution?;
    let files = files?;
    let version = request
        .version
        .clone()
        .unwrap_or_else(|| build_version(&files));
    let remote = read_heads(ctx.store, listed?, &files).await?;
    let plan = build_plan(
        &files,
        &classifier,
        &request.bucket,
        &request.prefix,
        &version,
        &remote,
    );
    let invalidation = distribution
        .as_ref()
        .map(|d| plan_invalidation(&plan, &remote, d, config.invalidation.max_paths))
        .unwrap_or_default();
    let dist_display = request.dist_path().display().to_string();
    let mut report = Report::from_plan(
        &plan,
        &request.package.display().to_string(),
        &request.environment,
        &dist_display,
    );
    report.entry_url = entry_url(request.public_url.as_deref(), &request.prefix, &plan);
    report.invalidation_paths = invalidation.explain();

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
    }
    let findings = match &distribution {
        // Keys this deploy writes count as existing: a shell deploy creates the
        // default root object the distribution points at.
        Some(d) => {
            audit_findings(ctx.store, d, &request.bucket, &request.prefix, |k| {
                plan.files.iter().any(|f| f.key == k)
            })
            .await?
        }
        None => Vec::new(),
    };
    warn_unhashed(&report, ctx.presentation, out)?;
    if ctx.presentation.annotations {
        commands::audit_warnings(&mut *out, &findings).map_err(Error::stdout)?;
    } else {
        for f in &findings {
            tracing::warn!(
                "CloudFront audit: {}. Why: {}. Fix: {}",
                f.what,
                f.why,
                f.fix
            );
        }
    }
    report.audit = findings;
    if !plan.conflicts.is_empty() {
        return Err(Error::Conflict {
            bucket: plan.bucket.clone(),
            keys: plan.conflicts.iter().map(|c| c.key.clone()).collect(),
            unverifiable: plan.conflicts.iter().any(|c| c.unverifiable),
        });
    }
    if request.dry_run {
        report.duration = started.elapsed();
        return Ok(report);
    }

    let progress = Progress::new(ctx.presentation.progress);
    let applied = apply::apply(ctx.store, &plan, apply::DEFAULT_CONCURRENCY, &progress).await?;
    record_state(ctx.store, &plan, &applied.etags, &remote).await;
    report.dry_run = false;
    report.uploaded = applied.uploaded;
    report.headers_updated = applied.headers_updated;
    report.bytes_uploaded = applied.bytes;
    if let (Some(cdn), Some(d), false) = (ctx.cdn, &distribution, invalidation.is_empty()) {
        let reference = caller_reference(&ctx.run_identity, &plan.prefix, &invalidation.encoded());
        let wait = request
            .wait
            .then(|| Duration::from_secs(config.invalidation.wait_timeout));
        let done = invalidate(
            cdn,
            &d.id,
            &invalidation,
            &reference,
            RetryPolicy::default(),
            wait,
        )
        .await?;
        tracing::info!(
            "invalidation {} ({}) for {} path(s)",
            done.id,
            done.status,
            done.paths.len()
        );
        report.invalidation_id = Some(done.id);
    }
    report.duration = started.elapsed();
    Ok(report)
}

/// Reads a distribution and audits it for a module at `prefix` of `bucket` (the
/// `audit` subcommand).
pub async fn audit_distribution<S: ObjectStore, C: Cdn>(
    store: &S,
    cdn: &C,
    id: &str,
    bucket: &str,
    prefix: &str,
) -> Result<(DistributionInfo, Vec<Finding>), Error> {
    let distribution = cdn.distribution(id).await.map_err(Error::Cdn)?;
    let findings = audit_findings(store, &distribution, bucket, prefix, |_| false).await?;
    Ok((distribution, findings))
}

/// Audits a distribution: a HEAD per key it references (default root object, error
/// pages) unless `written` says this deploy writes it.
async fn audit_findings<S: ObjectStore>(
    store: &S,
    distribution: &DistributionInfo,
    bucket: &str,
    prefix: &str,
    written: impl Fn(&str) -> bool,
) -> Result<Vec<Finding>, Error> {
    let mut existing = Vec::new();
    for key in audit::referenced_keys(distribution, bucket) {
        if written(&key) || store.head(&key).await.map_err(Error::Remote)?.is_some() {
            existing.push(key);
        }
    }
    Ok(audit::audit(distribution, bucket, prefix, &|k| {
        existing.iter().any(|e| e == k)
    }))
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

/// Writes the deploy state when it changed. A failure here does not fail the deploy
/// (everything is live); the next run re-checks what the state does not cover.
async fn record_state<S: ObjectStore>(
    store: &S,
    plan: &Plan,
    etags: &std::collections::BTreeMap<String, String>,
    remote: &RemoteView,
) {
    let next = plan.next_state(etags, remote);
    if next == plan.previous_state {
        return;
    }
    let headers = Headers {
        cache_control: "no-store".to_owned(),
        content_type: "application/json".to_owned(),
    };
    let key = plan.state_key();
    if let Err(e) = store
        .put(&key, crate::store::Body::Bytes(next.to_json()), &headers)
        .await
    {
        tracing::warn!(
            "deployed, but could not record the deploy state at {key}: {e}; the next deploy will re-read object headers"
        );
    }
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
    let sdk = if on_runner {
        aws::sdk_config(&request.aws, identity, Some(out)).await?
    } else {
        aws::sdk_config(&request.aws, identity, None).await?
    };
    let store = S3Store::new(
        aws::s3_client(&sdk, &request.aws),
        &request.bucket,
        request.aws.bounds(),
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
    on_runner: bool,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<Report, Error> {
    let scan = PendingScan::start(request);
    let (store, cloudfront) = connect(request, identity, on_runner, &mut *out).await?;
    let ctx = Context {
        store: &store,
        cdn: cloudfront.as_ref(),
        run_identity: identity.run_identity(),
        presentation,
    };
    let result = deploy(&ctx, request, config, scan, out).await;
    tracing::info!("{}", store.counts().summary());
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::FORMAT;
    use crate::store::memory::MemoryStore;

    fn headers() -> Headers {
        Headers {
            cache_control: "no-cache".to_owned(),
            content_type: "application/json".to_owned(),
        }
    }

    #[tokio::test]
    async fn state_get_goes_out_with_the_listing_not_after_it() {
        let store = MemoryStore::new();
        let state = DeployState {
            format: FORMAT,
            version: "v1".to_owned(),
            ..DeployState::default()
        };
        store.insert(&state_key("shop/"), &state.to_json(), headers());
        store.insert("shop/remoteEntry.js", b"entry", headers());
        store.hold_list_until_get();

        let view = list_with_state(&store, "shop/").await.unwrap();

        assert_eq!(view.state(), &state);
        let keys: Vec<_> = view.keys().collect();
        assert_eq!(
            keys,
            ["shop/remoteEntry.js"],
            "the state object is not a deployed file"
        );
        assert_eq!((store.calls("list"), store.calls("get")), (1, 1));
    }

    #[tokio::test]
    async fn missing_state_is_an_empty_view() {
        let store = MemoryStore::new();
        store.insert("shop/remoteEntry.js", b"entry", headers());
        let view = list_with_state(&store, "shop/").await.unwrap();
        assert_eq!(view.state(), &DeployState::default());
        assert_eq!(view.keys().count(), 1);
    }
}
