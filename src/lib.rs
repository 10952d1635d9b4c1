//! mfe-deploy: deploy Module Federation micro-frontends to S3 behind CloudFront.
//!
//! The pipeline reads top to bottom: [`scan`] the build → [`classify`] each file →
//! read the bucket and [`plan`] → [`apply`] in safe phases → [`report`].

pub mod action;
pub mod apply;
pub mod aws;
pub mod cdn;
pub mod classify;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod environment;
pub mod error;
pub mod github;
pub mod invalidate;
pub mod plan;
pub mod report;
pub mod request;
pub mod scan;
pub mod state;
pub mod store;
pub mod target;
pub mod version;

use std::io::Write;

use cli::{Cli, Command};
use error::Error;

/// Runs the parsed command line to completion.
pub fn run(cli: Cli) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let mut stdout = std::io::stdout();
        match cli.command {
            Some(Command::Deploy(args)) => run_cli(args.into_raw(false), &mut stdout).await,
            Some(Command::Plan(args)) => run_cli(args.into_raw(true), &mut stdout).await,
            Some(Command::Resolve(args)) => {
                let trigger = cli::trigger()?;
                let (target, _) = target::decide(&args.deploy.into_raw(true), &trigger)?;
                cli::print_resolution(&target, &trigger, args.json, &mut stdout)
            }
            None => {
                let env = |name: &str| std::env::var(name).ok();
                action::run(&action::Runner { env: &env }, &mut stdout).await
            }
        }
    })
}

async fn run_cli(raw: request::RawInputs, stdout: &mut dyn Write) -> Result<(), Error> {
    let (target, config) = target::decide(&raw, &cli::trigger()?)?;
    let request = match target {
        target::Target::Skip { reason } => {
            writeln!(stdout, "skipped: {reason}").map_err(Error::stdout)?;
            return Ok(());
        }
        target::Target::Deploy { request, reason } => {
            tracing::info!("{reason}");
            request
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let identity = aws::RunnerIdentity::from_env(&env);
    let on_runner = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    let report = deploy::deploy_to_aws(
        &request,
        &config,
        &identity,
        on_runner,
        cli::presentation(),
        stdout,
    )
    .await?;
    let verb = if report.dry_run {
        "would upload"
    } else {
        "uploaded"
    };
    writeln!(
        stdout,
        "{} → {}: {verb} {} file(s) ({} bytes), {} header update(s), {} unchanged; version {}",
        report.package,
        report.environment,
        report.uploaded,
        report.bytes_uploaded,
        report.headers_updated,
        report.unchanged,
        report.version
    )
    .map_err(Error::stdout)?;
    if let Some(url) = &report.entry_url {
        writeln!(stdout, "entry: {url}").map_err(Error::stdout)?;
    }
    Ok(())
}

/// Replaces every secret in `text` with `***` (defence in depth: the runner masks
/// too, but a local terminal does not).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| s.len() >= 4)
        .fold(text.to_owned(), |acc, s| acc.replace(s, "***"))
}

/// Whether this process runs as a GitHub Action (no subcommand on a runner).
pub fn is_action_mode(cli: &Cli) -> bool {
    cli.command.is_none() && std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Logs to stderr; the runner adds its own timestamps.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MFE_DEPLOY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mfe_deploy=info,warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Prints the error where the user will see it: an `::error::` annotation on a
/// runner, `error: …` on a terminal.
pub fn report_error(error: &Error, action: bool) {
    let secrets: Vec<String> = [
        "INPUT_AWS-ACCESS-KEY-ID",
        "INPUT_AWS-SECRET-ACCESS-KEY",
        "INPUT_AWS-SESSION-TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]
    .iter()
    .filter_map(|name| std::env::var(name).ok())
    .collect();
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let message = redact(&error.to_string(), &refs);
    if action {
        println!(
            "::error title=mfe-deploy failed::{}",
            github::commands::escape_data(&message)
        );
    } else {
        eprintln!("error: {message}");
    }
}
