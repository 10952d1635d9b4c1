//! The top-level error: decides the exit code and the hint a user sees.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | deployed, or skipped |
//! | 1 | the deploy failed (later phases did not run) |
//! | 2 | bad input or config; nothing was written |

use std::path::PathBuf;

use crate::apply::ApplyError;
use crate::aws::oidc::OidcError;
use crate::cdn::CdnError;
use crate::config::ConfigError;
use crate::environment::{EventError, ResolveError};
use crate::invalidate::InvalidateError;
use crate::request::InputError;
use crate::scan::ScanError;
use crate::store::StoreError;

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Inputs or flags are missing or invalid.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The config file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The event payload cannot be read.
    #[error(transparent)]
    Event(#[from] EventError),
    /// The run may not deploy where it would (or asked to).
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// No AWS credentials could be obtained through OIDC.
    #[error(transparent)]
    Oidc(#[from] OidcError),
    /// Reading the CloudFront distribution failed before anything was written.
    #[error("{0}; nothing was written")]
    Cdn(CdnError),
    /// The upload succeeded but the invalidation did not.
    #[error(transparent)]
    Invalidate(#[from] InvalidateError),
    /// The build folder cannot be deployed.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// Reading the bucket failed before anything was written.
    #[error("{0}; nothing was written")]
    Remote(StoreError),
    /// Content-hashed keys already hold other bytes.
    #[error("refusing to deploy: {} content-hashed file(s) already exist in s3://{bucket} with {} bytes: {}. A content-hashed name promises that its URL always serves the same bytes, and browsers and CDNs keep it for a year, so it is never overwritten. The build's hashing is broken or non-deterministic (a hash computed before a later plugin changed the file, a name hashed by hand, timestamps in the output); fix the build so different content gets a different name. Nothing was written.", keys.len(), if *unverifiable { "unverifiable (their ETags are not MD5-based, e.g. SSE-KMS, and mfe-deploy has no record of writing them)" } else { "different" }, keys.join(", "))]
    Conflict {
        bucket: String,
        keys: Vec<String>,
        unverifiable: bool,
    },
    /// Files the build's entries or HTML name are neither in the build nor in the
    /// bucket.
    #[error("refusing to deploy: {} file(s) that the build's entries or HTML name are neither in the build nor in s3://{bucket}: {}. Users would load an entry whose files answer 404. Rebuild (a file was deleted from the build folder, or excluded by the config), or deploy the module that serves it first. Nothing was written.", missing.len(), missing.iter().map(|(key, from)| format!("{key} (named by {})", from.join(", "))).collect::<Vec<_>>().join("; "))]
    Unresolved {
        bucket: String,
        /// Each missing key with the files that name it.
        missing: Vec<(String, Vec<String>)>,
    },
    /// The build's public path (or HTML base) is not where this deploy serves it.
    #[error("refusing to deploy: the build was made for another place: {}. Its files would be requested from there. Rebuild with the public path this deploy serves (or `auto`), or deploy to the place it was built for. Nothing was written.", misplaced.iter().map(|m| format!("{} says {} but this deploy serves it at {}", m.file, m.found, m.expected)).collect::<Vec<_>>().join("; "))]
    Misplaced {
        misplaced: Vec<crate::references::Misplaced>,
    },
    /// Some modules of a `packages` run failed (the others finished).
    #[error("{} of {total} module(s) failed: {}; the others finished (see `results`)", failed.len(), failed.join(", "))]
    Modules {
        failed: Vec<String>,
        total: usize,
        /// Every failure was bad input and nothing was written.
        bad_input: bool,
    },
    /// Versioned mode: another module of the manifest declares the build's
    /// federation name.
    #[error(
        "refusing to deploy: the build of `{module}` declares the federation name `{name}`, which module `{other}` already declares in {manifest}. The flat, import-map and Module Federation documents and the shells name remotes by it, so one module would silently replace the other. Give this build its own `name` in its Module Federation config. Nothing was written."
    )]
    NameTaken {
        name: String,
        module: String,
        other: String,
        manifest: String,
    },
    /// The S3-compatible store ignores conditional writes, which the run relies on.
    #[error(
        "the store at {endpoint} (bucket {bucket}) ignores {ignored} on writes, so versioned mode (the manifest's compare-and-swap), rollbacks and retention cannot be made safe there: concurrent deploys would overwrite each other's manifest updates without an error. Deploy in place without `retention:`, or use a store that honours conditional writes (AWS S3 does). Nothing was deployed (the probe's scratch object was removed)"
    )]
    NoConditionalWrites {
        endpoint: String,
        bucket: String,
        ignored: String,
    },
    /// The module prefix, the reserved prefix or a build file overlap.
    #[error("{0}; nothing was written")]
    Layout(#[from] crate::layout::LayoutError),
    /// The deploy record could not be written. In place the files are live by then;
    /// versioned and in a rollback the record comes first, so the manifest did not
    /// move and what was live stays live.
    #[error("{}", if *live {
        format!("the files are uploaded and live, but the deploy record could not be written: {source}. Re-run the deploy: it uploads nothing and writes the record")
    } else {
        format!("the deploy record could not be written: {source}. The manifest was not moved, so the version live before this run is still live (this run's files are uploaded but nothing points at them). Re-run: it uploads nothing, writes the record and moves the manifest")
    })]
    Record {
        live: bool,
        source: crate::store::StoreError,
    },
    /// Versioned mode: the version label already holds other bytes.
    #[error(
        "refusing to deploy: version `{version}` already exists in s3://{bucket}/{prefix} with other bytes in {} file(s): {}. A version is written once and never changed; deploy this build under a new `version` label (or leave `version` empty for the build digest). Nothing was written.",
        keys.len(),
        keys.join(", ")
    )]
    VersionTaken {
        bucket: String,
        prefix: String,
        version: String,
        keys: Vec<String>,
    },
    /// Versioned mode: the uploaded entry did not read back as uploaded.
    #[error(
        "read-back of s3://{bucket}/{key} failed: {why}; the manifest was not moved, so the previous version stays live. Re-run the deploy"
    )]
    ReadBack {
        bucket: String,
        key: String,
        why: String,
    },
    /// A manifest document could not take the new entry; says what is live now.
    #[error(transparent)]
    Switch(Box<SwitchFailure>),
    /// `verify`: a published entry did not read back through `public-url`.
    #[error(transparent)]
    Verify(Box<crate::verify::VerifyError>),
    /// Retention refused or could not finish (nothing more was deleted). After a
    /// complete deploy (`deployed`), that deploy stays live and says so.
    #[error("{}", if *deployed { format!("deployed, and it stays live; retention could not finish: {why}") } else { format!("retention refused: {why}") })]
    Retention { deployed: bool, why: String },
    /// A rollback cannot repoint the manifest; it is unchanged.
    #[error("rollback refused: {0}; the manifest is unchanged")]
    Rollback(String),
    /// `doctor` found files served wrong.
    #[error(
        "{wrong} of {checked} live file(s) are served wrong through {public} (each is named above and in the summary). A cache at another edge location may hold something else. `doctor --invalidate` clears the CDN; `republish` gives the version fresh URLs, which also cures browsers and proxies (docs/poisoned-cache.md)"
    )]
    Doctor {
        wrong: usize,
        checked: usize,
        public: String,
    },
    /// A republish cannot move the version; nothing was written.
    #[error("republish refused: {0}; nothing was written and the manifest is unchanged")]
    Republish(String),
    /// A write failed mid-deploy.
    #[error("{}", apply_message(.0))]
    Apply(Box<ApplyError>),
    /// Writing a runner file (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) or stdout failed.
    #[error("cannot write {path}: {source}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The run failed, and the step outputs and summary that say so could not be
    /// written either: the run's own error decides the exit code.
    #[error("{error}\nand the step outputs or summary could not be written: {output}")]
    AndOutputs {
        error: Box<Error>,
        output: Box<Error>,
    },
    /// A rollout step that cannot be taken (no canary to promote, no stable version).
    #[error("{0}")]
    Rollout(#[from] crate::manifest::rollout::RolloutError),
    /// A pull request's preview could not be ended as asked.
    #[error("{0}")]
    Preview(String),
    /// A bug: a task panicked or an invariant broke.
    #[error("internal error: {0} (please report it)")]
    Internal(String),
}

impl From<crate::verify::VerifyError> for Error {
    fn from(e: crate::verify::VerifyError) -> Self {
        Self::Verify(Box::new(e))
    }
}

impl From<ApplyError> for Error {
    fn from(e: ApplyError) -> Self {
        Self::Apply(Box::new(e))
    }
}

impl Error {
    /// A panic, caught: what it said, as a bug to report.
    pub fn panicked(payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Self::Internal(format!("mfe-deploy panicked: {what}"))
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::AndOutputs { error, .. } => error.exit_code(),
            Self::Input(_)
            | Self::Config(_)
            | Self::Event(_)
            | Self::Resolve(_)
            | Self::Scan(_)
            | Self::Layout(_)
            | Self::Unresolved { .. }
            | Self::Misplaced { .. }
            | Self::NameTaken { .. }
            | Self::NoConditionalWrites { .. }
            | Self::Republish(_)
            | Self::Rollout(_) => 2,
            Self::Modules { bad_input, .. } => {
                if *bad_input {
                    2
                } else {
                    1
                }
            }
            Self::Remote(e) if e.is_setup_problem() => 2,
            Self::Oidc(e) if e.is_setup_problem() => 2,
            Self::Cdn(e) if e.is_setup_problem() => 2,
            Self::Remote(_)
            | Self::Oidc(_)
            | Self::Cdn(_)
            | Self::Invalidate(_)
            | Self::Conflict { .. }
            | Self::Apply(_)
            | Self::Record { .. }
            | Self::VersionTaken { .. }
            | Self::ReadBack { .. }
            | Self::Switch(_)
            | Self::Rollback(_)
            | Self::Doctor { .. }
            | Self::Preview(_)
            | Self::Verify(_)
            | Self::Retention { .. }
            | Self::Output { .. }
            | Self::Internal(_) => 1,
        }
    }

    pub fn stdout(source: std::io::Error) -> Self {
        Self::Output {
            path: PathBuf::from("standard output"),
            source,
        }
    }
}

/// A manifest switch that stopped: the documents in `moved` name `version` now
/// (this run moved them), those in `left` still name the version live before.
#[derive(Debug, thiserror::Error)]
#[error("{source}. {}", live_now(version, moved, left))]
pub struct SwitchFailure {
    pub version: String,
    pub moved: Vec<String>,
    pub left: Vec<String>,
    pub source: crate::manifest::ManifestError,
}

/// What a half-done manifest switch leaves live, and the way forward.
fn live_now(version: &str, moved: &[String], left: &[String]) -> String {
    if moved.is_empty() {
        format!(
            "Live now: what was live before this run; no manifest moved ({} still name the earlier version) and nothing points at this run's uploaded files. Re-run the deploy: it uploads nothing and moves the manifests",
            left.join(", ")
        )
    } else {
        format!(
            "Live now: {} name{} `{version}` (moved by this run); {} still name{} the version live before. Re-run the deploy: it uploads nothing and moves only the documents left behind",
            moved.join(", "),
            if moved.len() == 1 { "s" } else { "" },
            left.join(", "),
            if left.len() == 1 { "s" } else { "" },
        )
    }
}

fn apply_message(e: &ApplyError) -> String {
    let failed: Vec<String> = e
        .failures
        .iter()
        .map(|(path, err)| format!("  {path}: {err}"))
        .collect();
    let skipped: Vec<&str> = e.skipped.iter().map(|p| p.as_str()).collect();
    let completed = if e.completed.is_empty() {
        "none".to_owned()
    } else {
        e.completed.join(", ")
    };
    format!(
        "deploy failed in the {} phase; {} did not run, so nothing that references the failed files was published.\nFailed:\n{}\nAlready uploaded ({}): {}\nRe-run the deploy once the cause is fixed: files already uploaded are recognised and skipped.",
        e.phase.as_str(),
        if skipped.is_empty() {
            "no later phase".to_owned()
        } else {
            format!("the {} phase(s)", skipped.join(" and "))
        },
        failed.join("\n"),
        e.completed.len(),
        completed
    )
}
