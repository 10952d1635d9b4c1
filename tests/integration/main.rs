//! Integration tests: the real binary against a real S3 API (`moto_server`).

mod bad_input;
mod common;
mod deploy;
