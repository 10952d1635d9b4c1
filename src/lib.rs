//! mfe-deploy: deploy Module Federation micro-frontends to S3 behind CloudFront.
//!
//! The pipeline reads top to bottom: [`read`] the bucket while the build is
//! [`scan`]ned and [`classify`]'d → [`plan`] → [`apply`] in safe phases →
//! [`record`] → [`invalidate`] → [`report`]; [`deploy`] orchestrates it, [`shell`] is
//! the runner and CLI around it.

pub mod apply;
pub mod audit;
pub mod aws;
pub mod cdn;
pub mod classify;
pub mod cleanup;
pub mod clock;
pub mod config;
pub mod deploy;
pub mod doctor;
pub mod environment;
pub mod error;
pub mod github;
pub mod globs;
pub mod http;
pub mod invalidate;
pub mod layout;
pub mod live;
pub mod manifest;
pub mod model;
pub mod modules;
pub mod plan;
pub mod read;
pub mod record;
pub mod references;
pub mod report;
pub mod request;
pub mod retention;
pub mod scan;
pub mod shell;
pub mod state;
pub mod store;
pub mod verify;
pub mod version;

pub use shell::{init_logging, init_panic_output, is_action_mode, redact, report_error, run};
