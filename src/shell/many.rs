//! Action mode with `packages`: every module the input names deploys in this one
//! run; one summary table and one `results` array say how each ended. The run
//! fails (after all of them finished) when any did.

use std::io::Write;

use super::runner::Runner;
use crate::apply::ProgressMode;
use crate::aws;
use crate::deploy::Presentation;
use crate::deploy::many::deploy_all;
use crate::environment::Trigger;
use crate::error::Error;
use crate::github::commands;
use crate::github::summary::{self, ModuleEnd};
use crate::record::Provenance;
use crate::report::{Report, failed_outputs, failed_result, many_outputs, skipped_outputs};
use crate::request::RawInputs;
use crate::shell::target::{Modules, decide_all};

/// What the summary and the outputs call a `packages` run before it has modules.
const NAME: &str = "packages";

pub async fn run(
    raw: &RawInputs,
    runner: &Runner<'_>,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    let secrets = raw.secrets();
    // Before the modules are known, the run's one `results` entry is `packages`.
    let fail_whole = |error: Error, packages: &[&str]| {
        let message = super::redact(&error.to_string(), &secrets);
        Err(runner.write_failure(
            &failed_outputs(packages, &message),
            &summary::render_failure(NAME, &message),
            error,
        ))
    };
    let trigger = match Trigger::from_runner(runner.env) {
        Ok(trigger) => trigger,
        Err(e) => return fail_whole(e.into(), &[NAME]),
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let modules = match raw.per_module(&cwd) {
        Ok(modules) => modules,
        Err(e) => return fail_whole(e.into(), &[NAME]),
    };
    let total = modules.len();
    let names: Vec<&str> = modules
        .iter()
        .filter_map(|m| m.package.as_deref())
        .collect();

    let decided = match decide_all(&modules, &trigger) {
        Ok(decided) => decided,
        Err(e) => return fail_whole(e, &names),
    };
    let (requests, config, mut early) = match decided {
        Modules::Skip { reason } => {
            tracing::info!("skipped: {reason}");
            return runner.write(
                &skipped_outputs(&names, &reason),
                &summary::render_skipped(NAME, &reason),
            );
        }
        Modules::Deploy {
            requests,
            config,
            failed,
            ..
        } => {
            let early: Vec<(String, String, bool)> = failed
                .into_iter()
                .map(|(package, e)| {
                    let bad_input = e.exit_code() == 2;
                    (package, super::redact(&e.to_string(), &secrets), bad_input)
                })
                .collect();
            (requests, config, early)
        }
    };
    let environment = requests
        .first()
        .map(|r| r.environment.clone())
        .unwrap_or_default();
    let environment_url = requests.first().and_then(|r| r.public_url.clone());

    // Deploy: all at once, each on its own.
    let finished = match &config {
        Some(config) if !requests.is_empty() => {
            let identity = aws::RunnerIdentity::from_env(runner.env);
            let presentation = Presentation {
                annotations: true,
                progress: ProgressMode::Quiet,
            };
            let provenance = Provenance::from_env(runner.env);
            match deploy_all(
                &requests,
                config,
                &identity,
                &provenance,
                true,
                presentation,
                stdout,
            )
            .await
            {
                Ok(finished) => finished,
                // Nothing could start (credentials, clients): every module failed alike.
                Err(e) => {
                    let message = super::redact(&e.to_string(), &secrets);
                    for request in &requests {
                        early.push((
                            request.package.display().to_string(),
                            message.clone(),
                            e.exit_code() == 2,
                        ));
                    }
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    };

    // Report: one row and one `results` entry per module, in the order given.
    let mut reports: Vec<Report> = Vec::new();
    let mut failures: Vec<(String, String, bool)> = early;
    for end in finished {
        match end.result {
            Ok(report) => reports.push(report),
            Err(failed) => {
                let message = super::redact(&failed.error.to_string(), &secrets);
                commands::error(
                    &mut *stdout,
                    &format!("mfe-deploy: {} failed", end.package),
                    &message,
                )
                .map_err(Error::stdout)?;
                match failed.report {
                    Some(mut report) => {
                        report.error = Some(message);
                        reports.push(*report);
                        failures.push((end.package, String::new(), failed.error.exit_code() == 2));
                    }
                    None => failures.push((end.package, message, failed.error.exit_code() == 2)),
                }
            }
        }
    }
    let mut results: Vec<serde_json::Value> = reports.iter().map(Report::result).collect();
    let mut ends: Vec<ModuleEnd<'_>> = reports.iter().map(ModuleEnd::Report).collect();
    for (package, error, _) in failures.iter().filter(|(_, e, _)| !e.is_empty()) {
        results.push(failed_result(package, &environment, error));
        ends.push(ModuleEnd::Failed { package, error });
    }
    let order = |package: &str| {
        modules
            .iter()
            .position(|m| m.package.as_deref() == Some(package))
            .unwrap_or(usize::MAX)
    };
    results.sort_by_key(|r| order(r["package"].as_str().unwrap_or_default()));
    ends.sort_by_key(|e| match e {
        ModuleEnd::Report(r) => order(&r.package),
        ModuleEnd::Failed { package, .. } => order(package),
    });
    let report_refs: Vec<&Report> = reports.iter().collect();
    let outputs = many_outputs(
        &environment,
        environment_url.as_deref(),
        &report_refs,
        &results,
    );
    let text = summary::render_many(&environment, &ends);
    if failures.is_empty() {
        return runner.write(&outputs, &text);
    }
    let wrote = reports.iter().any(Report::wrote);
    let error = Error::Modules {
        failed: failures.iter().map(|(p, _, _)| p.clone()).collect(),
        total,
        bad_input: !wrote && failures.iter().all(|(_, _, bad)| *bad),
    };
    Err(runner.write_failure(&outputs, &text, error))
}
