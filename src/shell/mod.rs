//! The shell around the pipeline: action mode (the GitHub runner), the CLI
//! subcommands, and where a run deploys.

pub mod action;
pub mod cli;
mod commands;
mod many;
mod previews;
pub mod runner;
pub mod target;

use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;

use crate::error::Error;
use crate::github;
use cli::{Cli, Command};

/// Runs the parsed command line to completion.
pub fn run(cli: Cli) -> Result<(), Error> {
    // NOTE: one thread. A deploy is one task (its modules and requests are joined
    // futures, never spawned), so worker threads only ran the HTTP connections, and
    // every response crossed threads to wake it: a fifth of a cold `packages` run's own
    // CPU went to those wake-ups, and the run was 5% slower (docs/performance.md).
    // Hashing and file walks run on the blocking pool, as before.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let mut stdout = std::io::stdout();
        match cli.command {
            Some(Command::Deploy(args)) => {
                commands::deploy(args.into_raw(false), &mut stdout).await
            }
            Some(Command::Plan(args)) => commands::deploy(args.into_raw(true), &mut stdout).await,
            Some(Command::Resolve(args)) => commands::resolve(args, &mut stdout),
            Some(Command::Audit(args)) => commands::audit(args, &mut stdout).await,
            Some(Command::Modules(args)) => commands::modules(&args, &mut stdout),
            Some(Command::History(args)) => commands::history(args, &mut stdout).await,
            Some(Command::Prune(args)) => commands::prune(args.into_raw(false), &mut stdout).await,
            Some(Command::Previews(args)) => previews::previews(args, &mut stdout).await,
            Some(Command::Doctor(args)) => {
                let mut raw = args.deploy.into_raw(false);
                raw.doctor = Some(
                    if args.invalidate {
                        "invalidate"
                    } else {
                        "true"
                    }
                    .to_owned(),
                );
                commands::deploy(raw, &mut stdout).await
            }
            Some(Command::Republish(args)) => {
                let mut raw = args.into_raw(false);
                raw.republish = raw.version.take().or_else(|| Some(String::new()));
                commands::deploy(raw, &mut stdout).await
            }
            None => {
                let env = |name: &str| std::env::var(name).ok();
                let runner = runner::Runner { env: &env };
                // A panic that escapes every module still leaves the step's outputs,
                // its summary and its error annotation.
                let run = AssertUnwindSafe(action::run(&runner, &mut stdout));
                match run.catch_unwind().await {
                    Ok(result) => result,
                    Err(payload) => Err(action::crashed(&runner, payload.as_ref())),
                }
            }
        }
    })
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
        // Every line is made inert here, not at each call site: a log line may carry
        // a key, a file name or a remote error.
        .with_writer(|| github::commands::InertLines::new(std::io::stderr()))
        .without_time()
        // NOTE: the writer escapes control characters, colour codes included.
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Prints a panic's message and place on stderr, inert: it may quote a key or a file
/// name. The panic then unwinds to where it is caught and reported.
pub fn init_panic_output() {
    std::panic::set_hook(Box::new(|info| {
        let text = format!("mfe-deploy {info}");
        eprintln!("{}", github::commands::inert(&text));
    }));
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
        // A terminal, or a `run:` step on a runner, which reads commands on stderr too.
        eprintln!("error: {}", github::commands::inert(&message));
    }
}
