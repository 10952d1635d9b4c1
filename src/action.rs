//! Action mode: inputs from `INPUT_*`, outputs to `$GITHUB_OUTPUT`, a report in
//! `$GITHUB_STEP_SUMMARY`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use crate::apply::ProgressMode;
use crate::config::Config;
use crate::deploy::{Presentation, deploy};
use crate::error::Error;
use crate::github::{commands, inputs, outputs, summary};
use crate::report::Report;
use crate::request::RawInputs;
use crate::{aws, store};

/// The runner environment, read through a function so tests can supply it.
pub struct Runner<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Runner<'_> {
    fn file(&self, name: &str) -> Option<PathBuf> {
        (self.env)(name)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }
}

/// Runs one deploy from the action inputs.
pub async fn run(runner: &Runner<'_>, stdout: &mut dyn Write) -> Result<(), Error> {
    let raw = inputs::read(runner.env);
    for secret in raw.secrets() {
        commands::add_mask(&mut *stdout, secret).map_err(Error::stdout)?;
    }
    let result = deploy_from(&raw, stdout).await;
    let package = raw.package.clone().unwrap_or_default();
    match &result {
        Ok(report) => {
            if let Some(path) = runner.file("GITHUB_OUTPUT") {
                append(&path, |f| outputs::write_outputs(f, &report.outputs()))?;
            }
            if let Some(path) = runner.file("GITHUB_STEP_SUMMARY") {
                append(&path, |f| f.write_all(summary::render(report).as_bytes()))?;
            }
        }
        Err(error) => {
            if let Some(path) = runner.file("GITHUB_STEP_SUMMARY") {
                let message = crate::redact(&error.to_string(), &raw.secrets());
                append(&path, |f| {
                    f.write_all(summary::render_failure(&package, &message).as_bytes())
                })?;
            }
        }
    }
    result.map(|_| ())
}

async fn deploy_from(raw: &RawInputs, stdout: &mut dyn Write) -> Result<Report, Error> {
    let (config_path, explicit) = raw.config_path();
    let config = Config::load(&config_path, explicit)?;
    let request = raw.resolve(&config)?;
    let sdk = aws::sdk_config(&request.aws).await;
    let store = store::s3::S3Store::new(aws::s3_client(&sdk, &request.aws), &request.bucket);
    let presentation = Presentation {
        annotations: true,
        progress: ProgressMode::Lines,
    };
    deploy(&store, &request, &config, presentation, stdout).await
}

fn append(
    path: &PathBuf,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|source| Error::Output {
            path: path.clone(),
            source,
        })?;
    write(&mut file).map_err(|source| Error::Output {
        path: path.clone(),
        source,
    })
}
