//! Command-line interface: the same deploy as the action, driven by flags.

use std::io::{IsTerminal, Write};

use clap::{Args, Parser, Subcommand};

use crate::apply::ProgressMode;
use crate::deploy::Presentation;
use crate::environment::Trigger;
use crate::error::Error;
use crate::request::RawInputs;
use crate::shell::target::Target;

/// Deploy Module Federation micro-frontends to S3 behind CloudFront.
///
/// Without a subcommand and with GITHUB_ACTIONS=true, runs as a GitHub Action and
/// reads its inputs from INPUT_* variables.
#[derive(Debug, Parser)]
#[command(name = "mfe-deploy", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload what changed, in a safe order.
    Deploy(DeployArgs),
    /// Print what `deploy` would do; write nothing.
    Plan(DeployArgs),
    /// Print which environment this run resolves to, and its settings; touches no AWS API.
    Resolve(ResolveArgs),
    /// Check the environment's CloudFront distribution for settings that break deploys.
    Audit(ResolveArgs),
    /// Print the module folders a list of changed files touches, as a JSON array.
    Modules(ModulesArgs),
    /// List a module's deploys and rollbacks from its deploy records, newest first.
    History(HistoryArgs),
    /// Apply the config's `retention` to a module and nothing else (`--dry-run` lists).
    Prune(DeployArgs),
    /// List an environment's live pull-request previews; `--close <n>` or `--prune` ends them.
    Previews(PreviewsArgs),
    /// Copy a version's files server-side to a fresh label `<version>.r<N>` and move
    /// the manifest to it (`--version`): nothing rebuilt, nothing sent.
    Republish(DeployArgs),
    /// Fetch every file of the live versions through `public-url` and compare it with
    /// the deploy records (read-only); exit 1 when any is served wrong.
    Doctor(DoctorArgs),
}

/// `doctor`: which module, and whether to invalidate what is served wrong.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Invalidate exactly the paths served wrong (needs `distribution-id`).
    #[arg(long)]
    pub invalidate: bool,
}

/// `previews`: which environment, and what to end.
#[derive(Debug, Args)]
pub struct PreviewsArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// End pull request N's preview: its overlay at once, then its files.
    #[arg(long, value_name = "N", conflicts_with = "prune")]
    pub close: Option<u64>,
    /// End every preview older than the environment's `previews.keep-days`.
    #[arg(long)]
    pub prune: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `history`: which module, where, how many.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// The module, as its key prefix (`checkout`, `apps/checkout`); instead of
    /// `--package`.
    #[arg(long)]
    pub module: Option<String>,
    /// How many records, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `modules`: changed files in, module folders out.
#[derive(Debug, Args)]
pub struct ModulesArgs {
    /// File listing changed paths, one per line (`-` for standard input), e.g. the
    /// output of `git diff --name-only BASE HEAD`.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub changed_files: Option<String>,
    /// Every module folder, whatever changed: for a run with no usable base to
    /// diff against (a branch's first push, a force push, a tag).
    #[arg(long)]
    pub all: bool,
    /// Config file (its `modules:` section).
    #[arg(long)]
    pub config: Option<String>,
    /// Also append `packages=<JSON array>` to $GITHUB_OUTPUT.
    #[arg(long)]
    pub github_output: bool,
}

/// `resolve` and `audit`: the deploy flags plus an output format.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Print JSON (for a workflow step that picks the job's `environment:`).
    #[arg(long)]
    pub json: bool,
    /// Also write `environment`, `environment-url`, `skipped` and `reason` to
    /// `$GITHUB_OUTPUT`, for a job's `environment: {name, url}`.
    #[arg(long)]
    pub github_output: bool,
}

/// Flags mirror the action's inputs, with the same names.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Module folder, e.g. packages/subscriptions.
    #[arg(long)]
    pub package: Option<String>,
    /// Several module folders or globs (`packages/*`), deployed together.
    #[arg(long)]
    pub packages: Option<String>,
    /// Build output folder inside the package.
    #[arg(long, default_value = "dist")]
    pub dist: String,
    /// Config file (default mfe-deploy.yml; a missing default file means built-in defaults).
    #[arg(long)]
    pub config: Option<String>,
    /// Target environment.
    #[arg(long)]
    pub environment: Option<String>,
    /// S3 bucket (default: the environment's bucket in the config).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Key prefix (default: the package folder's name).
    #[arg(long)]
    pub prefix: Option<String>,
    /// CloudFront distribution to invalidate.
    #[arg(long)]
    pub distribution_id: Option<String>,
    /// Site base URL, for output URLs.
    #[arg(long)]
    pub public_url: Option<String>,
    /// in-place (fixed URLs) or versioned.
    #[arg(long)]
    pub mode: Option<String>,
    /// Version label (default: digest of the build).
    #[arg(long = "version", value_name = "VERSION")]
    pub deploy_version: Option<String>,
    /// Discovery manifest key (versioned mode).
    #[arg(long)]
    pub manifest: Option<String>,
    /// Repoint the manifest to `previous` or a version (versioned mode).
    #[arg(long)]
    pub rollback_to: Option<String>,
    /// A canary step (versioned mode): `<N>%` of users get the build (or `--version`),
    /// `promote` makes the canary stable for everyone, `abort` removes it.
    #[arg(long)]
    pub rollout: Option<String>,
    /// Read each published entry back through `public-url` and fail if it differs.
    #[arg(long)]
    pub verify: bool,
    /// Deploy a `package`/`dist` outside the working directory (never in action mode).
    #[arg(long)]
    pub allow_outside: bool,
    /// Plan only: print what would change, touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait until the invalidation completes.
    #[arg(long)]
    pub wait: bool,
    /// AWS region.
    #[arg(long)]
    pub aws_region: Option<String>,
    /// IAM role to assume.
    #[arg(long)]
    pub role_to_assume: Option<String>,
    /// S3/CloudFront-compatible endpoint (path-style), e.g. a local emulator.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

impl DeployArgs {
    /// The flags as raw inputs; credentials come from the standard AWS chain.
    pub fn into_raw(self, force_dry_run: bool) -> RawInputs {
        RawInputs {
            package: self.package,
            packages: self.packages,
            dist: Some(self.dist),
            config: self.config,
            environment: self.environment,
            bucket: self.bucket,
            prefix: self.prefix,
            distribution_id: self.distribution_id,
            public_url: self.public_url,
            mode: self.mode,
            version: self.deploy_version,
            manifest: self.manifest,
            rollback_to: self.rollback_to,
            rollout: self.rollout,
            republish: None,
            doctor: None,
            verify: Some(self.verify.to_string()),
            workspace: (!self.allow_outside).then(|| {
                (
                    std::path::PathBuf::from("."),
                    "run from the repository root, or pass --allow-outside",
                )
            }),
            dry_run: Some((self.dry_run || force_dry_run).to_string()),
            wait: Some(self.wait.to_string()),
            aws_region: self.aws_region,
            role_to_assume: self.role_to_assume,
            aws_access_key_id: None,
            aws_secret_access_key: None,
            aws_session_token: None,
            endpoint_url: self.endpoint_url,
        }
    }
}

/// The trigger of a CLI run: the GitHub event inside a workflow step, else a local
/// run on the branch checked out in the working directory.
pub fn trigger() -> Result<Trigger, Error> {
    if std::env::var("GITHUB_EVENT_NAME").is_ok_and(|e| !e.is_empty()) {
        let env = |name: &str| std::env::var(name).ok();
        Ok(Trigger::from_runner(&env)?)
    } else {
        Ok(Trigger::local(std::path::Path::new(".")))
    }
}

/// Prints the resolution: JSON for machines, `key: value` lines for people.
pub fn print_resolution(
    target: &Target,
    trigger: &Trigger,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let value = match target {
        Target::Skip { reason } => serde_json::json!({
            "trigger": trigger.describe(),
            "skipped": true,
            "environment": "",
            "reason": reason,
        }),
        Target::Deploy { request, reason } => serde_json::json!({
            "trigger": trigger.describe(),
            "skipped": false,
            "environment": request.environment,
            "reason": reason,
            "bucket": request.bucket,
            "prefix": request.prefix,
            "distribution-id": request.distribution_id,
            "public-url": request.public_url,
            "aws-region": request.aws.region,
            "role-to-assume": request.aws.role_to_assume,
        }),
    };
    let text = if json {
        format!("{value:#}\n")
    } else {
        let mut text = String::new();
        if let serde_json::Value::Object(map) = &value {
            for (key, value) in map {
                let shown = match value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => "-".to_owned(),
                    other => other.to_string(),
                };
                text.push_str(&format!("{key}: {shown}\n"));
            }
        }
        text
    };
    out.write_all(text.as_bytes()).map_err(Error::stdout)
}

/// A bar on a terminal, periodic lines in CI, quiet otherwise.
pub fn presentation() -> Presentation {
    let progress = if std::io::stderr().is_terminal() {
        ProgressMode::Bar
    } else if std::env::var_os("CI").is_some() {
        ProgressMode::Lines
    } else {
        ProgressMode::Quiet
    };
    Presentation {
        annotations: false,
        progress,
    }
}
