use std::path::Path;

use super::*;
use crate::config::Config;

fn defaults() -> Environments {
    Environments::new(&Config::default()).unwrap()
}

fn raw(package: &str) -> RawInputs {
    RawInputs {
        package: Some(package.to_owned()),
        bucket: Some("my-bucket".to_owned()),
        ..RawInputs::default()
    }
}

#[test]
fn prefix_mirrors_the_package_folder_name() {
    let req = raw("packages/subscriptions")
        .resolve(&defaults(), "production")
        .unwrap();
    assert_eq!(req.prefix, "subscriptions/");
    assert_eq!(req.dist_path(), Path::new("packages/subscriptions/dist"));
    assert_eq!(req.aws.region, "us-east-1");
    assert!(!req.dry_run);
}

#[test]
fn prefix_input_is_normalized() {
    for (given, expected) in [("/a/b/", "a/b/"), ("x", "x/"), ("/", "")] {
        let mut r = raw("packages/m");
        r.prefix = Some(given.to_owned());
        assert_eq!(
            r.resolve(&defaults(), "production").unwrap().prefix,
            expected
        );
    }
    let mut r = raw("packages/m");
    r.prefix = Some("a/../b".to_owned());
    assert!(r.resolve(&defaults(), "production").is_err());
}

#[test]
fn bucket_comes_from_the_environment_when_not_given() {
    let config = Config::parse(
        "environments:\n  production:\n    branches: [main]\n    bucket: prod-bucket\n    aws-region: eu-west-1\n",
        Path::new("c.yml"),
    )
    .unwrap();
    let mut r = raw("packages/m");
    r.bucket = None;
    let req = r
        .resolve(&Environments::new(&config).unwrap(), "production")
        .unwrap();
    assert_eq!(
        (req.bucket.as_str(), req.aws.region.as_str()),
        ("prod-bucket", "eu-west-1")
    );
}

#[test]
fn bad_values_are_refused_with_the_input_named() {
    type Edit = fn(&mut RawInputs);
    let cases: [(&str, Edit); 15] = [
        ("bucket", |r| r.bucket = Some("s3://My_Bucket".to_owned())),
        ("dry-run", |r| r.dry_run = Some("yes".to_owned())),
        ("mode", |r| r.mode = Some("blue-green".to_owned())),
        ("version", |r| r.version = Some("v 1".to_owned())),
        ("public-url", |r| {
            r.public_url = Some("my-app.com".to_owned())
        }),
        ("role-to-assume", |r| {
            r.role_to_assume = Some("mfe-deploy-production".to_owned())
        }),
        ("rollback-to", |r| {
            r.mode = Some("in-place".to_owned());
            r.rollback_to = Some("previous".to_owned());
        }),
        ("rollback-to", |r| r.rollback_to = Some("v 1".to_owned())),
        ("manifest", |r| r.manifest = Some("../up.json".to_owned())),
        ("doctor", |r| r.doctor = Some("yes".to_owned())),
        ("doctor", |r| {
            r.doctor = Some("true".to_owned());
            r.republish = Some("v1".to_owned());
        }),
        ("republish", |r| {
            r.republish = Some("v1".to_owned());
            r.rollout = Some("10%".to_owned());
        }),
        ("republish", |r| {
            r.mode = Some("in-place".to_owned());
            r.republish = Some("v1".to_owned());
        }),
        ("republish", |r| r.republish = Some("v 1".to_owned())),
        ("aws-secret-access-key", |r| {
            r.aws_access_key_id = Some("AKIA".to_owned())
        }),
    ];
    for (name, edit) in cases {
        let mut r = raw("packages/m");
        edit(&mut r);
        let err = r
            .resolve(&defaults(), "production")
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("`{name}`")), "{name}: {err}");
    }
}

#[test]
fn missing_package_and_bucket_are_named() {
    let err = RawInputs::default()
        .resolve(&defaults(), "production")
        .unwrap_err();
    assert!(err.to_string().contains("`package`"));
    let mut r = raw("packages/m");
    r.bucket = None;
    assert!(
        r.resolve(&defaults(), "production")
            .unwrap_err()
            .to_string()
            .contains("environments.production.bucket")
    );
}

#[test]
fn credentials_debug_hides_secrets() {
    let mut r = raw("packages/m");
    r.aws_access_key_id = Some("AKIAEXAMPLE".to_owned());
    r.aws_secret_access_key = Some("very-secret".to_owned());
    let req = r.resolve(&defaults(), "production").unwrap();
    let debug = format!("{req:?} {r:?}");
    assert!(
        !debug.contains("very-secret") && !debug.contains("AKIAEXAMPLE"),
        "{debug}"
    );
    assert_eq!(r.secrets(), ["AKIAEXAMPLE", "very-secret"]);
}

#[test]
fn versioned_mode_takes_the_manifest_from_the_input_the_environment_or_the_default() {
    let mut r = raw("packages/m");
    r.mode = Some("versioned".to_owned());
    let req = r.resolve(&defaults(), "production").unwrap();
    assert_eq!(req.mode, Mode::Versioned);
    assert_eq!(req.manifest.native, "mfe-manifest.json");
    let config = Config::parse(
        "environments:\n  production:\n    branches: [master]\n    manifest: manifests/prod.json\n    manifest-formats:\n      flat: manifests/remotes.json\n",
        std::path::Path::new("mfe-deploy.yml"),
    )
    .unwrap();
    let envs = Environments::new(&config).unwrap();
    let req = r.resolve(&envs, "production").unwrap();
    assert_eq!(req.manifest.native, "manifests/prod.json");
    assert_eq!(req.manifest.flat.as_deref(), Some("manifests/remotes.json"));
    r.manifest = Some("other.json".to_owned());
    assert_eq!(
        r.resolve(&envs, "production").unwrap().manifest.native,
        "other.json"
    );
}

#[test]
fn a_rollback_is_a_versioned_run() {
    let mut r = raw("packages/m");
    r.rollback_to = Some("previous".to_owned());
    let req = r.resolve(&defaults(), "production").unwrap();
    assert_eq!(req.mode, Mode::Versioned);
    assert_eq!(req.rollback_to, Some(RollbackTarget::Previous));
    r.rollback_to = Some("3f2a9c1b0d4e".to_owned());
    assert_eq!(
        r.resolve(&defaults(), "production").unwrap().rollback_to,
        Some(RollbackTarget::Version("3f2a9c1b0d4e".to_owned()))
    );
}
