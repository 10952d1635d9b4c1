//! The GitHub runner contract: inputs, workflow commands, outputs and the step summary.
//!
//! Every writer takes `impl io::Write` so tests can read exactly what the runner would.

pub mod commands;
pub mod inputs;
pub mod outputs;
pub mod summary;
