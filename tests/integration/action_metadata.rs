//! `action.yml` is the contract users see: every input it declares is read from its
//! `INPUT_…` variable, every output it declares is written, and the README documents
//! each of them.

use std::collections::BTreeSet;

use mfe_deploy::github::inputs;
use mfe_deploy::request::RawInputs;

use crate::common::*;

fn action() -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"),
    )
    .unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn names(section: &str) -> BTreeSet<String> {
    action()[section]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// The value `read` put in the field for `name`.
fn field<'a>(raw: &'a RawInputs, name: &str) -> Option<&'a str> {
    let value = match name {
        "package" => &raw.package,
        "packages" => &raw.packages,
        "dist" => &raw.dist,
        "config" => &raw.config,
        "environment" => &raw.environment,
        "bucket" => &raw.bucket,
        "prefix" => &raw.prefix,
        "distribution-id" => &raw.distribution_id,
        "public-url" => &raw.public_url,
        "mode" => &raw.mode,
        "version" => &raw.version,
        "manifest" => &raw.manifest,
        "rollback-to" => &raw.rollback_to,
        "rollout" => &raw.rollout,
        "republish" => &raw.republish,
        "doctor" => &raw.doctor,
        "dry-run" => &raw.dry_run,
        "wait" => &raw.wait,
        "aws-region" => &raw.aws_region,
        "role-to-assume" => &raw.role_to_assume,
        "aws-access-key-id" => &raw.aws_access_key_id,
        "aws-secret-access-key" => &raw.aws_secret_access_key,
        "aws-session-token" => &raw.aws_session_token,
        "endpoint-url" => &raw.endpoint_url,
        "verify" => &raw.verify,
        other => panic!("action.yml declares `{other}`, which mfe-deploy does not know"),
    };
    value.as_deref()
}

#[test]
fn every_declared_input_is_read_from_its_runner_variable() {
    let declared = names("inputs");
    let known: BTreeSet<String> = inputs::INPUT_NAMES
        .iter()
        .map(|n| (*n).to_owned())
        .collect();
    assert_eq!(declared, known);
    for name in &declared {
        let variable = format!("INPUT_{}", name.to_uppercase());
        let raw = inputs::read(|v| (v == variable).then(|| format!("value-of-{name}")));
        assert_eq!(
            field(&raw, name),
            Some(format!("value-of-{name}").as_str()),
            "{variable}"
        );
    }
}

#[test]
fn every_declared_output_is_written_by_deployed_and_skipped_runs() {
    let declared = names("outputs");
    let (moto, bucket, ws) = setup("action-outputs");
    let deployed = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_eq!(deployed.code(), 0, "{}", deployed.all_text());
    let written: BTreeSet<String> = deployed.outputs.keys().cloned().collect();
    assert_eq!(written, declared);

    let skipped = ActionStep::push(&ws, moto, "checkout", &bucket)
        .event(
            "push",
            "refs/heads/feature/plan-picker",
            "push_feature.json",
        )
        .run();
    assert_eq!(skipped.code(), 0, "{}", skipped.all_text());
    let written: BTreeSet<String> = skipped.outputs.keys().cloned().collect();
    assert_eq!(written, declared);
}

#[test]
fn readme_documents_every_input_and_output() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    for name in names("inputs").iter().chain(names("outputs").iter()) {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md does not document `{name}`"
        );
    }
}

#[test]
fn action_yml_pulls_the_published_image_of_this_version_by_tag_or_by_digest() {
    let image = action()["runs"]["image"].as_str().unwrap().to_owned();
    let cargo = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"),
    )
    .unwrap();
    let version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"'))
        .unwrap();
    let tagged = format!("docker://ghcr.io/mfe-deploy/mfe-deploy:v{version}");
    // On main the tag alone; on a version tag's commit the release workflow has added the
    // image index's digest.
    let pin = image
        .strip_prefix(&tagged)
        .unwrap_or_else(|| panic!("action.yml runs {image}, not {tagged}"));
    assert!(
        pin.is_empty()
            || pin
                .strip_prefix("@sha256:")
                .is_some_and(|d| { d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()) }),
        "{image}"
    );
}
