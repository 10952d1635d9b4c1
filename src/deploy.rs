//! The pipeline: scan → classify → read the bucket → plan → apply → record state.

use std::io::Write;
use std::time::Instant;

use futures::{StreamExt, stream};

use crate::apply::{self, Progress, ProgressMode};
use crate::classify::{Classifier, Headers};
use crate::config::Config;
use crate::error::Error;
use crate::github::commands;
use crate::plan::{Detail, Plan, RemoteView, build_plan};
use crate::report::{Report, entry_url};
use crate::request::DeployRequest;
use crate::scan::{self, LocalFile};
use crate::state::{DeployState, state_key};
use crate::store::ObjectStore;
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

/// Scans and digests the build (blocking work, off the async threads).
pub async fn scan_build(request: &DeployRequest) -> Result<Vec<LocalFile>, Error> {
    let package = request.package.clone();
    let dist = request.dist_path();
    tokio::task::spawn_blocking(move || scan::scan(&package, &dist))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(Error::from)
}

/// Reads the listing, the deploy state, and any headers the state cannot vouch for.
pub async fn read_remote<S: ObjectStore>(
    store: &S,
    prefix: &str,
    files: &[LocalFile],
) -> Result<RemoteView, Error> {
    let mut listing = store.list(prefix).await.map_err(Error::Remote)?;
    let key = state_key(prefix);
    let state = match listing.iter().position(|o| o.key == key) {
        Some(i) => {
            listing.swap_remove(i);
            let bytes = store.get(&key).await.map_err(Error::Remote)?;
            let state = bytes.as_deref().and_then(DeployState::from_json);
            if state.is_none() {
                tracing::warn!("ignoring unreadable deploy state at {key}; it will be rewritten");
            }
            state
        }
        None => None,
    };
    let mut view = RemoteView::new(prefix, listing, state);
    let missing = view.keys_needing_headers(files);
    if !missing.is_empty() {
        tracing::info!(
            "reading headers of {} object(s) not yet recorded in the deploy state",
            missing.len()
        );
    }
    let heads: Vec<(String, Result<Option<Headers>, _>)> = stream::iter(missing)
        .map(|key| async move {
            let headers = store.head(&key).await;
            (key, headers)
        })
        .buffer_unordered(HEAD_CONCURRENCY)
        .collect()
        .await;
    for (key, headers) in heads {
        if let Some(headers) = headers.map_err(Error::Remote)? {
            view.set_headers(key, headers);
        }
    }
    Ok(view)
}

/// Plans a deploy and, unless it is a dry run, executes it.
pub async fn deploy<S: ObjectStore>(
    store: &S,
    request: &DeployRequest,
    config: &Config,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<Report, Error> {
    let started = Instant::now();
    if let Some(id) = &request.distribution_id {
        // NOTE: invalidation is its own capability (issue 4); say so rather than
        // let a user believe CloudFront was refreshed.
        tracing::warn!(
            "CloudFront invalidation is not available in this release: distribution {id} will not be invalidated"
        );
    }
    let classifier =
        Classifier::new(&config.caching).map_err(|e| Error::Internal(e.to_string()))?;
    let files = scan_build(request).await?;
    let version = request
        .version
        .clone()
        .unwrap_or_else(|| build_version(&files));
    let remote = read_remote(store, &request.prefix, &files).await?;
    let plan = build_plan(
        &files,
        &classifier,
        &request.bucket,
        &request.prefix,
        &version,
        &remote,
    );
    let dist_display = request.dist_path().display().to_string();
    let mut report = Report::from_plan(
        &plan,
        &request.package.display().to_string(),
        &request.environment,
        &dist_display,
    );
    report.entry_url = entry_url(request.public_url.as_deref(), &request.prefix, &plan);

    let detail = if request.dry_run {
        Detail::All
    } else {
        Detail::Changes
    };
    write!(out, "{}", plan.render(detail)).map_err(Error::stdout)?;
    warn_unhashed(&report, presentation, out)?;
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

    let progress = Progress::new(presentation.progress);
    let applied = apply::apply(store, &plan, apply::DEFAULT_CONCURRENCY, &progress).await?;
    record_state(store, &plan, &applied.etags, &remote).await;
    report.dry_run = false;
    report.uploaded = applied.uploaded;
    report.headers_updated = applied.headers_updated;
    report.bytes_uploaded = applied.bytes;
    report.duration = started.elapsed();
    Ok(report)
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
                "{file} has no content hash in its name: served short-lived; use `[name].[contenthash].js` in the bundler's output file names"
            );
        }
    }
    Ok(())
}
