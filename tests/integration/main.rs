//! Integration tests: the real binary against a real S3 API (`moto_server`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod action_metadata;
mod architecture;
mod bad_input;
mod browser;
mod browser_canary;
mod browser_republish;
mod cloudfront;
mod common;
mod crashes;
mod credentials;
mod deploy;
mod doctor;
mod emulator;
mod environments;
mod failures;
mod faults;
mod iam;
mod integrity;
mod packages;
mod previews;
mod records;
mod republish;
mod retention;
mod rollout;
mod timeouts;
mod tls;
mod verify_cache;
mod versioned;
mod workflow_commands;
mod workflows;
