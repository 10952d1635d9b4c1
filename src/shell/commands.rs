//! The CLI subcommands, wired to the pipeline.

use std::io::Write;

use crate::aws::RunnerIdentity;
use std::path::Path;

use crate::cdn::Cdn as _;
use crate::config::Config;
use crate::deploy;
use crate::environment::Trigger;
use crate::error::Error;
use crate::github::outputs;
use crate::layout::Layout;
use crate::modules;
use crate::record::Provenance;
use crate::report::Report;
use crate::request::{DeployRequest, InputError, Preview, RawInputs};
use crate::shell::cli::{self, HistoryArgs, ModulesArgs, ResolveArgs};
use crate::shell::target::{Modules, Target, decide, decide_all};
use crate::store::ObjectStore as _;

pub(super) fn identity() -> (RunnerIdentity, bool) {
    let env = |name: &str| std::env::var(name).ok();
    let on_runner = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    (RunnerIdentity::from_env(&env), on_runner)
}

/// `deploy` and `plan`.
pub async fn deploy(raw: RawInputs, stdout: &mut dyn Write) -> Result<(), Error> {
    if raw.packages.is_some() {
        return deploy_many(raw, stdout).await;
    }
    let (target, config) = decide(&raw, &cli::trigger()?)?;
    let request = match target {
        Target::Skip { reason } => {
            writeln!(stdout, "skipped: {reason}").map_err(Error::stdout)?;
            return Ok(());
        }
        Target::Deploy { request, reason } => {
            tracing::info!("{reason}");
            request
        }
    };
    let (identity, on_runner) = identity();
    let provenance = Provenance::from_env(&|name| std::env::var(name).ok());
    let report = deploy::deploy_to_aws(
        &request,
        &config,
        &identity,
        provenance,
        on_runner,
        cli::presentation(),
        stdout,
    )
    .await
    .map_err(|failed| failed.error)?;
    writeln!(stdout, "{}", outcome_line(&report)).map_err(Error::stdout)?;
    if let Some(url) = &report.entry_url {
        writeln!(stdout, "entry: {url}").map_err(Error::stdout)?;
    }
    if let Some(id) = &report.invalidation_id {
        writeln!(
            stdout,
            "invalidation: {id} {}",
            report.invalidated_paths_json()
        )
        .map_err(Error::stdout)?;
    }
    Ok(())
}

/// A deploy's one-line outcome; a dry run says what it would have sent.
fn outcome_line(report: &Report) -> String {
    if let Some(found) = &report.doctor {
        return format!(
            "{} → {}: checked {} file(s), {} served wrong",
            report.package,
            report.environment,
            found.checked,
            found.wrong.len()
        );
    }
    let verb = if report.dry_run {
        "would upload"
    } else {
        "uploaded"
    };
    let copied = match (report.copied, report.dry_run) {
        (0, _) => String::new(),
        (n, true) => format!(", would copy {n} server-side"),
        (n, false) => format!(", copied {n} server-side"),
    };
    format!(
        "{} → {}: {verb} {} file(s) ({} bytes){copied}, {} header update(s), {} unchanged; version {}",
        report.package,
        report.environment,
        report.uploaded,
        report.bytes_uploaded,
        report.headers_updated,
        report.unchanged,
        report.version
    )
}

/// `deploy --packages`: every module at once, one line each, exit 1 when any failed.
async fn deploy_many(raw: RawInputs, stdout: &mut dyn Write) -> Result<(), Error> {
    let trigger = cli::trigger()?;
    let modules = raw.per_module(std::path::Path::new("."))?;
    let (requests, config) = match decide_all(&modules, &trigger)?.all_or_error()? {
        Modules::Skip { reason } => {
            writeln!(stdout, "skipped: {reason}").map_err(Error::stdout)?;
            return Ok(());
        }
        Modules::Deploy {
            requests, config, ..
        } => (requests, config),
    };
    let Some(config) = config else {
        return Ok(());
    };
    let (identity, on_runner) = identity();
    let provenance = Provenance::from_env(&|name| std::env::var(name).ok());
    let finished = deploy::many::deploy_all(
        &requests,
        &config,
        &identity,
        &provenance,
        on_runner,
        cli::presentation(),
        stdout,
    )
    .await?;
    let mut failed = Vec::new();
    let mut bad_input = true;
    for end in finished {
        match end.result {
            Ok(r) => {
                bad_input &= !r.wrote();
                writeln!(stdout, "{}", outcome_line(&r)).map_err(Error::stdout)?;
            }
            Err(f) => {
                bad_input &= f.error.exit_code() == 2;
                writeln!(stdout, "{}: failed: {}", end.package, f.error).map_err(Error::stdout)?;
                failed.push(end.package);
            }
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Modules {
        total: requests.len(),
        failed,
        bad_input,
    })
}

/// The one module and environment of a `command` that works on a single module
/// (`history`, `prune`, `audit`): `--packages` is refused by name, and so is a run
/// that resolves to no environment.
pub(super) fn one_module(
    raw: &RawInputs,
    command: &str,
) -> Result<(Box<DeployRequest>, Config), Error> {
    if let Some(packages) = &raw.packages {
        return Err(InputError::Invalid {
            name: "packages",
            value: packages.clone(),
            hint: format!(
                "`{command}` works on one module at a time: name it with `--package` (`packages` is for `deploy`, `plan` and `resolve`)"
            ),
        }
        .into());
    }
    match decide(raw, &cli::trigger()?)? {
        (Target::Deploy { request, .. }, config) => Ok((request, config)),
        (Target::Skip { .. }, _) => Err(InputError::Missing {
            name: "environment",
            hint: "this run resolves to no environment; pass `--environment`".to_owned(),
        }
        .into()),
    }
}

/// `resolve`: where this run would deploy, without calling AWS.
pub fn resolve(args: ResolveArgs, stdout: &mut dyn Write) -> Result<(), Error> {
    let trigger = cli::trigger()?;
    let raw = args.deploy.into_raw(true);
    let target = if raw.packages.is_some() {
        resolve_packages(&raw, &trigger)?
    } else {
        decide(&raw, &trigger)?.0
    };
    if args.github_output {
        write_resolution_outputs(&target)?;
    }
    cli::print_resolution(&target, &trigger, args.json, stdout)
}

/// `resolve --packages`: the environment every module of the run deploys to (one
/// trigger, one environment), once each module's inputs hold. It runs before the
/// build, so a glob names every folder it matches.
fn resolve_packages(raw: &RawInputs, trigger: &Trigger) -> Result<Target, Error> {
    let modules = raw.per_module_unbuilt(std::path::Path::new("."))?;
    match decide_all(&modules, trigger)?.all_or_error()? {
        Modules::Skip { reason } => Ok(Target::Skip { reason }),
        Modules::Deploy {
            requests, reason, ..
        } => {
            let request = requests
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal("a `packages` run resolved no module".to_owned()))?;
            Ok(Target::Deploy {
                request: Box::new(request),
                reason,
            })
        }
    }
}

/// `resolve --github-output`: the outputs a resolve job hands to the deploy job's
/// `environment: {name, url}`. A pull request's preview runs in a GitHub environment
/// of its own, `<environment>-pr-<n>` (its deployment and URL show on the pull
/// request; the previews role's trust policy can match its OIDC `sub`), and queues
/// per pull request.
fn write_resolution_outputs(target: &Target) -> Result<(), Error> {
    let outputs: Vec<(&str, String)> = match target {
        Target::Skip { reason } => vec![
            ("environment", String::new()),
            ("github-environment", String::new()),
            ("environment-url", String::new()),
            ("preview", String::new()),
            ("closing", "false".to_owned()),
            ("skipped", "true".to_owned()),
            ("reason", reason.clone()),
        ],
        Target::Deploy { request, reason } => {
            let preview = request.preview.as_ref();
            let url = match preview {
                Some(p) => p.url(),
                None => request.public_url.clone(),
            };
            let id = preview.map(Preview::id);
            vec![
                ("environment", request.environment.clone()),
                (
                    "github-environment",
                    match &id {
                        Some(id) => format!("{}-{id}", request.environment),
                        None => request.environment.clone(),
                    },
                ),
                ("environment-url", url.unwrap_or_default()),
                ("preview", id.unwrap_or_default()),
                (
                    "closing",
                    preview.is_some_and(|p| p.head.is_none()).to_string(),
                ),
                ("skipped", "false".to_owned()),
                ("reason", reason.clone()),
            ]
        }
    };
    github_output(&outputs)
}

/// `--github-output`: appends `outputs` to the runner's `$GITHUB_OUTPUT`.
fn github_output(outputs: &[(&str, String)]) -> Result<(), Error> {
    let path = std::env::var_os("GITHUB_OUTPUT")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .ok_or_else(|| InputError::Missing {
            name: "GITHUB_OUTPUT",
            hint: "`--github-output` writes the runner's step outputs: run it in a workflow step"
                .to_owned(),
        })?;
    super::runner::append(&path, |f| outputs::write_outputs(f, outputs))
}

/// `history`: the module's deploy records, newest first, with the manifest
/// revisions that made versioned ones live.
pub async fn history(args: HistoryArgs, stdout: &mut dyn Write) -> Result<(), Error> {
    let mut deploy = args.deploy;
    if let Some(module) = &args.module {
        deploy.package.get_or_insert_with(|| module.clone());
        deploy.prefix.get_or_insert_with(|| module.clone());
    }
    let (request, config) = one_module(&deploy.into_raw(true), "history")?;
    let (identity, on_runner) = identity();
    let (store, _) = deploy::connect(&request, &identity, on_runner, stdout).await?;
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;
    let records = crate::record::list_records(&store, &layout, args.limit)
        .await
        .map_err(Error::Remote)?;
    // Only a versioned module has manifest revisions: an in-place module's role need
    // not read the manifest's history.
    let revisions: Vec<String> = if records.iter().any(|(_, r)| r.mode == "versioned") {
        store
            .list(&layout.history_dir(&request.manifest.native))
            .await
            .map_err(Error::Remote)?
            .into_iter()
            .map(|o| o.key)
            .collect()
    } else {
        Vec::new()
    };
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|(key, r)| {
            let manifest = &request.manifest.native;
            let revision = revisions.iter().find(|k| {
                layout
                    .history_revision(manifest, k)
                    .is_some_and(|(_, version)| version == r.version)
            });
            serde_json::json!({
                "time": r.time,
                "kind": r.kind,
                "version": r.version,
                "previous-version": r.previous_version,
                "mode": r.mode,
                "environment": r.environment,
                "commit": r.provenance.commit,
                "actor": r.provenance.actor,
                "run-url": r.provenance.run_url,
                "files": r.files.len(),
                "record": key,
                "manifest-revision": revision,
                "rollout": r.rollout.as_ref().map(|s| serde_json::json!({"id": s.id, "percent": s.percent})),
            })
        })
        .collect();
    let text = if args.json {
        format!("{:#}\n", serde_json::Value::Array(rows))
    } else if rows.is_empty() {
        format!(
            "{}: no deploy records in s3://{}/{}\n",
            layout.module(),
            request.bucket,
            layout.records_dir()
        )
    } else {
        let mut text = String::new();
        for (_, r) in &records {
            let kind = match r.kind {
                crate::record::RecordKind::Deploy => "deploy",
                crate::record::RecordKind::Rollback => "rollback",
                crate::record::RecordKind::Preview => "preview",
                crate::record::RecordKind::PreviewClosed => "preview-closed",
                crate::record::RecordKind::Canary => "canary",
                crate::record::RecordKind::Promote => "promoted",
                crate::record::RecordKind::Abort => "aborted",
                crate::record::RecordKind::Republish => "republished",
            };
            let short = |s: &Option<String>, n: usize| {
                s.as_deref()
                    .map_or("-".to_owned(), |s| s.chars().take(n).collect())
            };
            let share = r
                .rollout
                .as_ref()
                .map_or(String::new(), |s| format!("  {}%", s.percent));
            text.push_str(&format!(
                "{}  {kind:<8}  {}{share}  {:<9}  commit {}  by {}  (was {})\n",
                r.time,
                r.version,
                r.mode,
                short(&r.provenance.commit, 12),
                short(&r.provenance.actor, 40),
                short(&r.previous_version, 64),
            ));
        }
        text
    };
    stdout
        .write_all(crate::github::commands::inert(&text).as_bytes())
        .map_err(Error::stdout)
}

/// `prune`: retention only.
pub async fn prune(raw: RawInputs, stdout: &mut dyn Write) -> Result<(), Error> {
    let (request, config) = one_module(&raw, "prune")?;
    let Some(policy) = request.retention else {
        return Err(InputError::Missing {
            name: "retention",
            hint: format!(
                "`prune` applies the config's `retention:` (top level or `environments.{}.retention`), and there is none",
                request.environment
            ),
        }
        .into());
    };
    let (identity, on_runner) = identity();
    let (store, _) = deploy::connect(&request, &identity, on_runner, stdout).await?;
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;
    let probe = crate::store::probe::Probe::default();
    deploy::require_conditional_writes(&store, &probe, &request, &config, None).await?;
    let deleted = deploy::prune::prune(&store, &request, &layout, &policy, None, stdout).await?;
    writeln!(stdout, "deleted {deleted} object(s)").map_err(Error::stdout)
}

/// `audit`: read-only checks of the environment's CloudFront distribution.
pub async fn audit(args: ResolveArgs, stdout: &mut dyn Write) -> Result<(), Error> {
    let (request, config) = one_module(&args.deploy.into_raw(true), "audit")?;
    let Some(id) = request.distribution_id.clone() else {
        return Err(InputError::Missing {
            name: "distribution-id",
            hint: format!("pass `--distribution-id`, or set `environments.{}.distribution-id` in mfe-deploy.yml", request.environment),
        }
        .into());
    };
    let (identity, on_runner) = identity();
    let (store, cloudfront) = deploy::connect(&request, &identity, on_runner, stdout).await?;
    let Some(cloudfront) = cloudfront else {
        return Err(Error::Internal(
            "no CloudFront client for a configured distribution".to_owned(),
        ));
    };
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;
    let distribution = cloudfront.distribution(&id).await.map_err(Error::Cdn)?;
    let findings =
        crate::audit::check(&store, &distribution, &request.bucket, &layout, |_| false).await;
    let text = if args.json {
        format!(
            "{:#}\n",
            serde_json::json!({ "distribution-id": id, "findings": findings })
        )
    } else if findings.is_empty() {
        format!("{id}: no findings\n")
    } else {
        findings
            .iter()
            .map(|f| {
                format!(
                    "[{}] {}\n  why: {}\n  fix: {}\n",
                    f.code, f.what, f.why, f.fix
                )
            })
            .collect()
    };
    stdout.write_all(text.as_bytes()).map_err(Error::stdout)
}

/// `modules`: the module folders the changed files touch, as a JSON array.
pub fn modules(args: &ModulesArgs, stdout: &mut dyn Write) -> Result<(), Error> {
    let raw = RawInputs {
        config: args.config.clone(),
        ..RawInputs::default()
    };
    let (config_path, explicit) = raw.config_path();
    let config = Config::load(&config_path, explicit)?;
    let found = match args.changed_files.as_deref() {
        None => modules::every_module(&config.modules, Path::new("."))
            .map_err(|e| Error::Internal(e.to_string()))?,
        Some(source) => {
            let list = if source == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(source)
            }
            .map_err(|e| InputError::Invalid {
                name: "changed-files",
                value: source.to_owned(),
                hint: format!("cannot read it ({e}); give a file with one changed path per line, or `-` for standard input"),
            })?;
            let changed: Vec<String> = list.lines().map(str::to_owned).collect();
            // The config decides every module's deploy: a change to it is a change
            // to all of them, whatever `all-when-changed` lists.
            let config_file = config_path
                .to_string_lossy()
                .trim_start_matches("./")
                .to_owned();
            if changed
                .iter()
                .any(|c| c.trim().trim_start_matches("./") == config_file)
            {
                modules::every_module(&config.modules, Path::new("."))
                    .map_err(|e| Error::Internal(e.to_string()))?
            } else {
                modules::changed_modules(&changed, &config.modules, Path::new("."))
                    .map_err(|e| Error::Internal(e.to_string()))?
            }
        }
    };
    let json = serde_json::to_string(&found).map_err(|e| Error::Internal(e.to_string()))?;
    writeln!(stdout, "{json}").map_err(Error::stdout)?;
    if args.github_output {
        github_output(&[("packages", json)])?;
    }
    Ok(())
}
