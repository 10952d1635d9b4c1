use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use mfe_deploy::shell::cli::Cli;

fn main() -> ExitCode {
    mfe_deploy::store::counts::mark_process_start();
    let cli = Cli::parse();
    mfe_deploy::init_logging();
    mfe_deploy::init_panic_output();
    if cli.command.is_none() && !mfe_deploy::is_action_mode(&cli) {
        let _ = Cli::command().print_help();
        return ExitCode::from(2);
    }
    let action = mfe_deploy::is_action_mode(&cli);
    match mfe_deploy::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            mfe_deploy::report_error(&error, action);
            ExitCode::from(error.exit_code())
        }
    }
}
