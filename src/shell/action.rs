//! Action mode: inputs from `INPUT_*`, outputs to `$GITHUB_OUTPUT`, a report in
//! `$GITHUB_STEP_SUMMARY`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use crate::apply::ProgressMode;
use crate::aws;
use crate::deploy::{Failed, Presentation, deploy_to_aws};
use crate::environment::Trigger;
use crate::error::Error;
use crate::github::{commands, inputs, outputs, summary};
use crate::record::Provenance;
use crate::report::{Report, failed_outputs, skipped_outputs};
use crate::request::RawInputs;
use crate::shell::target::{Target, decide};

/// The runner environment, read through a function so tests can supply it.
pub struct Runner<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Runner<'_> {
    pub(super) fn file(&self, name: &str) -> Option<PathBuf> {
        (self.env)(name)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }
}

/// Runs one deploy from the action inputs. Outputs are written whatever the end:
/// a failed deploy still says what it did (`results[].status` = `failed`).
pub async fn run(runner: &Runner<'_>, stdout: &mut dyn Write) -> Result<(), Error> {
    let raw = inputs::read(runner.env);
    for secret in raw.secrets() {
        commands::add_mask(&mut *stdout, secret).map_err(Error::stdout)?;
    }
    if raw.packages.is_some() {
        return super::many::run(&raw, runner, stdout).await;
    }
    let package = raw.package.clone().unwrap_or_default();
    match deploy_from(&raw, runner, stdout).await {
        Ok(None) => Ok(()),
        Ok(Some(report)) => {
            write_runner_files(runner, &report.outputs(), &summary::render(&report))
        }
        Err(Failed { report, error }) => {
            let message = super::redact(&error.to_string(), &raw.secrets());
            let (outputs, text) = match report {
                Some(mut report) => {
                    report.error = Some(message.clone());
                    let text = format!(
                        "{}{}",
                        summary::render_failure(&package, &message),
                        summary::render(&report)
                    );
                    (report.outputs(), text)
                }
                None => (
                    failed_outputs(&[package.as_str()], &message),
                    summary::render_failure(&package, &message),
                ),
            };
            write_runner_files(runner, &outputs, &text)?;
            Err(error)
        }
    }
}

pub(super) fn write_runner_files(
    runner: &Runner<'_>,
    outputs: &[(&str, String)],
    summary: &str,
) -> Result<(), Error> {
    if let Some(path) = runner.file("GITHUB_OUTPUT") {
        append(&path, |f| outputs::write_outputs(f, outputs))?;
    }
    if let Some(path) = runner.file("GITHUB_STEP_SUMMARY") {
        append(&path, |f| f.write_all(summary.as_bytes()))?;
    }
    Ok(())
}

/// Deploys, or records why not; `None` when the run was skipped.
async fn deploy_from(
    raw: &RawInputs,
    runner: &Runner<'_>,
    stdout: &mut dyn Write,
) -> Result<Option<Report>, Failed> {
    let trigger = Trigger::from_runner(runner.env)?;
    let (target, config) = decide(raw, &trigger)?;
    let request = match target {
        Target::Skip { reason } => {
            tracing::info!("skipped: {reason}");
            let package = raw.package.clone().unwrap_or_default();
            write_runner_files(
                runner,
                &skipped_outputs(&[package.as_str()], &reason),
                &summary::render_skipped(&package, &reason),
            )?;
            return Ok(None);
        }
        Target::Deploy { request, reason } => {
            tracing::info!("{reason}");
            request
        }
    };
    let identity = aws::RunnerIdentity::from_env(runner.env);
    let presentation = Presentation {
        annotations: true,
        progress: ProgressMode::Lines,
    };
    let provenance = Provenance::from_env(runner.env);
    deploy_to_aws(
        &request,
        &config,
        &identity,
        provenance,
        true,
        presentation,
        stdout,
    )
    .await
    .map(Some)
}

pub(super) fn append(
    path: &std::path::Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|source| Error::Output {
            path: path.to_owned(),
            source,
        })?;
    write(&mut file).map_err(|source| Error::Output {
        path: path.to_owned(),
        source,
    })
}
