//! Deploys and rollbacks: one pipeline (`pipeline.rs`) with a mode per kind of run
//! (`in_place.rs`, `versioned.rs`, `rollback.rs`); the stages live in their own
//! modules.
//!
//! Guarantees, each unit-tested here on the in-memory store and CDN:
//! - a conflict found by the plan, or a dry run, writes nothing;
//! - a failure in a phase stops every later phase (and the record, the
//!   invalidation);
//! - an invalidation that fails is owed, and the next run of the module makes it
//!   even when nothing changed;
//! - whatever happened before a failure is in the report.

mod build;
mod doctor;
mod finish;
mod in_place;
mod integrity;
pub mod many;
mod pipeline;
mod preview;
pub mod prune;
mod publish;
mod republish;
mod rollback;
mod rollout;
mod show;
mod steps;
mod versioned;
mod vouched;

pub use build::PendingScan;

use in_place::InPlace;
use republish::Republish;
use rollback::Rollback;
use rollout::RolloutStep;
use versioned::Versioned;

use std::io::Write;

use crate::apply::ProgressMode;
use crate::aws::{self, RunnerIdentity};
use crate::cdn::Cdn;
use crate::cdn::cloudfront::CloudFront;
use crate::config::Config;
use crate::error::Error;
use crate::github::commands;
use crate::layout::Layout;
use crate::record::Provenance;
use crate::report::Report;
use crate::request::{DeployRequest, Mode, Rollout};
use crate::store::ObjectStore;
use crate::store::s3::S3Store;

/// How the run presents itself.
#[derive(Debug, Clone, Copy)]
pub struct Presentation {
    /// Emit workflow commands (annotations) for the GitHub runner.
    pub annotations: bool,
    pub progress: ProgressMode,
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
    /// In a `packages` run: this module's place in the run's one invalidation per
    /// distribution.
    pub batch: Option<&'a crate::invalidate::batch::Ticket>,
    /// In a `packages` run: the run's one listing of incomplete uploads.
    pub uploads: Option<&'a crate::cleanup::SharedUploads>,
    /// The files this module may write at once: its own, or the run's shared slots.
    pub slots: &'a crate::apply::Slots,
    /// Whether the store honours conditional writes: asked once per run.
    pub probe: &'a crate::store::probe::Probe,
    /// In a `packages` run: the run's manifest writes, merged.
    pub manifests: Option<&'a crate::manifest::Ticket>,
}

/// What one module's run is about: the request, the config, its keys.
pub struct Job<'a> {
    pub request: &'a DeployRequest,
    pub config: &'a Config,
    pub layout: &'a Layout,
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

/// What a run has left so far: its report once there is a plan (kept current, so a
/// failure still reports what was done), and its in-flight intent while it has one.
#[derive(Debug, Default)]
pub struct Trail {
    pub report: Option<Report>,
    /// The key of the intent this run wrote before its first upload.
    pub intent: Option<String>,
}

/// Plans a deploy and, unless it is a dry run, executes it.
pub async fn deploy<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    scan: PendingScan,
    out: &mut dyn Write,
) -> Result<Report, Failed> {
    if let Some(message) = forced_panic("deploy", request) {
        panic!("{message}");
    }
    if let Some(preview) = request.preview.as_ref().filter(|p| p.head.is_none()) {
        return preview::close(ctx, request, config, preview, out).await;
    }
    if let Some(how) = request.doctor {
        return doctor::run(ctx, request, config, how, out).await;
    }
    if let Some(version) = &request.republish {
        let version = version.clone();
        return pipeline::run::<Republish, _, _>(ctx, request, config, version, out).await;
    }
    match (&request.rollback_to, request.mode) {
        (Some(target), _) => {
            pipeline::run::<Rollback, _, _>(ctx, request, config, target.clone(), out).await
        }
        (None, _) if request.rollout.is_some() && !request.reads_build() => {
            let step = request.rollout.unwrap_or(Rollout::Abort);
            pipeline::run::<RolloutStep, _, _>(ctx, request, config, step, out).await
        }
        (None, Mode::InPlace) => {
            pipeline::run::<InPlace, _, _>(ctx, request, config, scan, out).await
        }
        (None, Mode::Versioned) => {
            pipeline::run::<Versioned, _, _>(ctx, request, config, scan, out).await
        }
    }
}

/// NOTE: a test-only trigger. `MFE_DEPLOY_TEST_PANIC=<stage>:<package folder>` (stage
/// `deploy` or `scan`) panics there, so that the integration tests can prove that a
/// panic still fails only its module and leaves the step's outputs and summary.
/// Returns what to panic with, when the trigger names this stage and package.
pub(crate) fn forced_panic(stage: &str, request: &DeployRequest) -> Option<String> {
    let trigger = std::env::var("MFE_DEPLOY_TEST_PANIC").ok()?;
    let (at, package) = trigger.split_once(':')?;
    (at == stage && !package.is_empty() && request.package.ends_with(package))
        .then(|| format!("forced by MFE_DEPLOY_TEST_PANIC in the {stage} of {package}"))
}

/// Versioned mode, rollbacks and retention rely on conditional writes: on an
/// S3-compatible store (`endpoint-url`) that ignores them, a run that is about to
/// write is refused before its first write (a dry run writes nothing and is not
/// asked; nor is a run that has nothing to write).
/// `on` is an object the run has just created (its in-flight intent) and its bytes:
/// the store is asked there instead of on a scratch key.
pub async fn require_conditional_writes<S: ObjectStore>(
    store: &S,
    probe: &crate::store::probe::Probe,
    request: &DeployRequest,
    config: &Config,
    on: Option<(&str, &[u8])>,
) -> Result<(), Error> {
    let relies = request.mode == Mode::Versioned
        || request.rollback_to.is_some()
        || request.retention.is_some();
    let Some(endpoint) = request.aws.endpoint_url.as_deref() else {
        return Ok(());
    };
    if !relies || request.dry_run {
        return Ok(());
    }
    let support = probe
        .support(store, &config.records_prefix(), on)
        .await
        .map_err(Error::Remote)?;
    if support.complete() {
        return Ok(());
    }
    Err(Error::NoConditionalWrites {
        endpoint: endpoint.to_owned(),
        bucket: request.bucket.clone(),
        ignored: support.ignored().join(" and "),
    })
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
    let scan = if request.reads_build() {
        PendingScan::start(request)
    } else {
        PendingScan::skipped()
    };
    let (store, cloudfront) = connect(request, identity, on_runner, &mut *out).await?;
    let slots = crate::apply::Slots::one_module();
    let ctx = Context {
        store: &store,
        cdn: cloudfront.as_ref(),
        run_identity: identity.run_identity(),
        provenance,
        presentation,
        batch: None,
        uploads: None,
        slots: &slots,
        probe: &crate::store::probe::Probe::default(),
        manifests: None,
    };
    let result = deploy(&ctx, request, config, scan, out).await;
    tracing::info!("{}", store.counts().summary());
    result
}

#[cfg(test)]
mod tests;
