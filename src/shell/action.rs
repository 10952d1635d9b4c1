//! Action mode: inputs from `INPUT_*`, outputs to `$GITHUB_OUTPUT`, a report in
//! `$GITHUB_STEP_SUMMARY`.

use std::io::Write;

use crate::apply::ProgressMode;
use crate::aws;
use crate::deploy::{Failed, Presentation, deploy_to_aws};
use crate::environment::Trigger;
use crate::error::Error;
use crate::github::{commands, inputs, summary};
use crate::record::Provenance;
use crate::report::{Report, failed_outputs, skipped_outputs};
use crate::request::RawInputs;
use crate::shell::runner::Runner;
use crate::shell::target::{Target, decide};

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
        Ok(Some(report)) => runner.write(&report.outputs(), &summary::render(&report)),
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
            Err(runner.write_failure(&outputs, &text, error))
        }
    }
}

/// After a panic no module caught: every module the inputs name failed, and the
/// outputs, the summary and the error say so. What it wrote before is in the bucket
/// and named by no new record; a re-run converges.
pub fn crashed(runner: &Runner<'_>, payload: &(dyn std::any::Any + Send)) -> Error {
    let raw = inputs::read(runner.env);
    let error = Error::panicked(payload);
    let message = super::redact(&error.to_string(), &raw.secrets());
    let package = match (&raw.packages, &raw.package) {
        (Some(_), _) => "packages".to_owned(),
        (None, package) => package.clone().unwrap_or_default(),
    };
    runner.write_failure(
        &failed_outputs(&[package.as_str()], &message),
        &summary::render_failure(&package, &message),
        error,
    )
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
            runner.write(
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
