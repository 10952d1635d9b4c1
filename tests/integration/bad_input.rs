//! Bad input: a clear error naming the file/key and the fix, exit 2, nothing written.

use crate::common::*;

fn assert_refused(step: &StepResult, moto: &Moto, bucket: &str, needles: &[&str]) {
    assert_eq!(step.code(), 2, "{}", step.all_text());
    let text = step.all_text();
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        step.stdout().contains("::error title=mfe-deploy failed::"),
        "{}",
        step.stdout()
    );
    assert!(step.summary.contains("failed"), "{}", step.summary);
    assert!(!text.contains("panicked"), "{text}");
    // The outputs are written even so: a workflow can react to the failure.
    let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
    assert_eq!(results[0]["status"], "failed", "{results}");
    assert_eq!(step.out("uploaded"), "0");
    assert!(keys(moto, bucket).is_empty(), "nothing may be written");
    let writes: Vec<_> = moto
        .requests(bucket)
        .into_iter()
        .filter(|r| r.method == "PUT" && !r.key.is_empty())
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[test]
fn missing_dist_folder_names_the_path_and_the_fix() {
    let (moto, bucket, ws) = setup("no-dist");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("dist", "build")
        .run();
    assert_refused(
        &step,
        moto,
        &bucket,
        &[
            "packages/checkout/build",
            "does not exist",
            "run the module's build",
        ],
    );
}

#[test]
fn missing_package_folder_is_refused() {
    let (moto, bucket, ws) = setup("no-package");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("package", "packages/chekout")
        .run();
    assert_refused(&step, moto, &bucket, &["packages/chekout", "package"]);
}

#[test]
fn empty_dist_is_refused() {
    let (moto, bucket, ws) = setup("empty-dist");
    std::fs::create_dir_all(ws.path().join("packages/empty/dist")).unwrap();
    let step = ActionStep::push(&ws, moto, "empty", &bucket).run();
    assert_refused(
        &step,
        moto,
        &bucket,
        &["packages/empty/dist", "contains no files"],
    );
}

#[test]
fn malformed_config_reports_line_and_column() {
    let (moto, bucket, ws) = setup("bad-yaml");
    ws.write(
        "mfe-deploy.yml",
        b"environments:\n  production:\n    bucket: b-1\n  - staging\ncaching: {}\n",
    );
    let step = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_refused(&step, moto, &bucket, &["mfe-deploy.yml:4:3"]);
}

#[test]
fn unknown_config_key_is_named() {
    let (moto, bucket, ws) = setup("unknown-key");
    ws.write(
        "mfe-deploy.yml",
        b"caching:\n  cache-contrl:\n    html: no-store\n",
    );
    let step = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_refused(
        &step,
        moto,
        &bucket,
        &["mfe-deploy.yml:2:3", "unknown field `cache-contrl`"],
    );
}

#[test]
fn named_config_file_that_is_missing_is_refused() {
    let (moto, bucket, ws) = setup("missing-config");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("config", "deploy/mfe.yml")
        .run();
    assert_refused(&step, moto, &bucket, &["deploy/mfe.yml"]);
}

#[test]
fn symlink_out_of_dist_is_refused() {
    let (moto, bucket, ws) = setup("symlink");
    ws.write("secrets/.env", b"TOKEN=1");
    std::os::unix::fs::symlink(
        ws.path().join("secrets/.env"),
        ws.dist("checkout").join("env.txt"),
    )
    .unwrap();
    let step = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_refused(
        &step,
        moto,
        &bucket,
        &["env.txt", "outside the build output folder"],
    );
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let (moto, bucket, ws) = setup("unknown-env");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("environment", "qa")
        .run();
    assert_refused(
        &step,
        moto,
        &bucket,
        &[
            "unknown environment `qa`",
            "production, staging, development",
        ],
    );
}

#[test]
fn invalid_boolean_input_is_refused() {
    let (moto, bucket, ws) = setup("bad-bool");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("dry-run", "yes")
        .run();
    assert_refused(
        &step,
        moto,
        &bucket,
        &["`dry-run`", "use `true` or `false`"],
    );
}

#[test]
fn bucket_that_does_not_exist_is_a_setup_error() {
    let moto = shared();
    let ws = Workspace::example();
    let step = ActionStep::push(&ws, moto, "checkout", "no-such-bucket-mfe").run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    assert!(
        step.all_text()
            .contains("bucket `no-such-bucket-mfe` does not exist"),
        "{}",
        step.all_text()
    );
    assert!(step.all_text().contains("nothing was written"));
}

#[test]
fn denied_credentials_are_a_setup_error_and_secrets_stay_hidden() {
    let moto = Moto::start(&[]);
    let bucket = bucket(&moto, "denied");
    let (key, secret) = iam_user(&moto, None);
    enforce_auth(&moto);

    let ws = Workspace::example();
    let step = ActionStep::push(&ws, &moto, "checkout", &bucket)
        .credentials(&key, &secret)
        .run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    let text = step.all_text();
    assert!(text.contains("access denied: ListObjectsV2"), "{text}");
    assert!(
        text.contains("least-privilege policy is in docs/environments.md"),
        "{text}"
    );
    assert_secret_only_masked(&step, &secret);
}

#[test]
fn secrets_never_appear_outside_add_mask() {
    let (moto, bucket, ws) = setup("secrets");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("aws-session-token", "mfe-session-token-Jd93kD0sLq")
        .run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_secret_only_masked(&step, SECRET_KEY);
    assert_secret_only_masked(&step, "mfe-session-token-Jd93kD0sLq");
    assert!(step.stdout().contains(&format!("::add-mask::{SECRET_KEY}")));
}

fn assert_secret_only_masked(step: &StepResult, secret: &str) {
    let mask = format!("::add-mask::{secret}");
    let text = step.all_text().replace(&mask, "");
    assert!(!text.contains(secret), "secret leaked:\n{text}");
}

#[test]
fn file_name_with_a_control_character_is_refused_before_anything_is_written() {
    let (moto, bucket, ws) = setup("control-char");
    ws.write("packages/checkout/dist/evil\n::error::pwned.js", b"x");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_refused(
        &step,
        moto,
        &bucket,
        &[
            r#""packages/checkout/dist/evil\n::error::pwned.js" has a control character (\n) in its name"#,
            "rename it",
            "nothing was written",
        ],
    );
    for line in step.stdout().lines() {
        assert!(
            !line.trim_start().starts_with("::error::"),
            "the file name started a workflow command: {line}"
        );
    }
}

#[test]
fn a_package_or_dist_outside_the_workspace_is_refused_naming_the_input() {
    let (moto, bucket, ws) = setup("outside");
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(elsewhere.path().join("dist")).unwrap();
    std::fs::write(elsewhere.path().join("dist/remoteEntry.js"), b"x").unwrap();
    let absolute = elsewhere.path().to_str().unwrap().to_owned();
    let relative = format!(
        "../{}",
        elsewhere.path().file_name().unwrap().to_str().unwrap()
    );
    let cases = [
        (absolute.as_str(), "dist", "`package`"),
        (relative.as_str(), "dist", "`package`"),
        ("packages/checkout", "../../../../../../../../tmp", "`dist`"),
    ];
    for (package, dist, needle) in cases {
        let step = ActionStep::push(&ws, moto, "checkout", &bucket)
            .input("package", package)
            .input("dist", dist)
            .input("prefix", "checkout")
            .run();
        assert_refused(&step, moto, &bucket, &[needle, "outside the workspace"]);
    }
}

#[test]
fn locally_a_package_outside_the_working_directory_needs_allow_outside() {
    let (moto, bucket, ws) = setup("outside-cli");
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(elsewhere.path().join("dist")).unwrap();
    std::fs::write(elsewhere.path().join("dist/remoteEntry.js"), b"x").unwrap();
    let package = elsewhere.path().to_str().unwrap().to_owned();
    let args = [
        "deploy",
        "--package",
        &package,
        "--prefix",
        "elsewhere",
        "--bucket",
        &bucket,
        "--endpoint-url",
        &moto.endpoint,
    ];
    let refused = cli_command(&ws).args(args).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--allow-outside"), "{stderr}");
    assert!(keys(moto, &bucket).is_empty());

    let allowed = cli_command(&ws)
        .args(args)
        .arg("--allow-outside")
        .output()
        .unwrap();
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    assert!(keys(moto, &bucket).contains(&"elsewhere/remoteEntry.js".to_owned()));
}

#[test]
fn secrets_stay_hidden_with_full_tracing_on_success_and_failure() {
    let (moto, bucket, ws) = setup("secrets-trace");
    let token = "mfe-session-token-Tr4c3dX9";
    let ok = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("aws-session-token", token)
        .env("MFE_DEPLOY_LOG", "trace")
        .run();
    assert_eq!(ok.code(), 0, "{}", ok.all_text());
    assert!(
        ok.stderr().len() > 10_000,
        "tracing is on: {} bytes",
        ok.stderr().len()
    );
    assert_secret_only_masked(&ok, SECRET_KEY);
    assert_secret_only_masked(&ok, token);

    let failed = ActionStep::push(&ws, moto, "checkout", "no-such-bucket-anywhere")
        .input("aws-session-token", token)
        .env("MFE_DEPLOY_LOG", "trace")
        .run();
    assert_ne!(failed.code(), 0, "{}", failed.all_text());
    assert_secret_only_masked(&failed, SECRET_KEY);
    assert_secret_only_masked(&failed, token);
}

#[test]
fn secrets_stay_hidden_with_full_tracing_in_every_subcommand() {
    let (moto, bucket, ws) = setup("secrets-cli");
    deployed(&ws, moto, "checkout", &bucket);
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 3\n");
    let token = "mfe-cli-session-token-Q7wPz2";
    let run = |command: &str, bucket: &str, extra: &[&str]| {
        cli_command(&ws)
            .env("AWS_SESSION_TOKEN", token)
            .env("MFE_DEPLOY_LOG", "trace")
            .args([
                command,
                "--package",
                "packages/checkout",
                "--bucket",
                bucket,
            ])
            .args(["--endpoint-url", &moto.endpoint])
            .args(extra)
            .output()
            .unwrap()
    };
    let outputs = [
        ("plan", run("plan", &bucket, &[])),
        ("deploy", run("deploy", &bucket, &[])),
        ("resolve", run("resolve", &bucket, &["--json"])),
        ("history", run("history", &bucket, &["--json"])),
        ("prune", run("prune", &bucket, &["--dry-run"])),
        (
            "a failing deploy",
            run("deploy", "no-such-bucket-for-secrets", &[]),
        ),
    ];
    for (args, output) in outputs {
        assert!(
            args == "a failing deploy" || output.status.success(),
            "{args}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for secret in [SECRET_KEY, token] {
            assert!(!text.contains(secret), "{args}: {secret} leaked");
        }
    }
}

#[test]
fn a_build_holding_secrets_or_repository_data_is_refused_unless_the_config_allows_them() {
    let (moto, bucket, ws) = setup("secrets");
    ws.write("packages/checkout/dist/.env", b"API_TOKEN=do-not-publish\n");
    ws.write("packages/checkout/dist/.git/config", b"[core]\n");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_refused(
        &step,
        moto,
        &bucket,
        &[
            ".env",
            ".git/config",
            "allow-sensitive-files",
            "nothing was written",
        ],
    );
    assert!(!step.all_text().contains("do-not-publish"));

    // `dist: .` publishes the whole package folder: its .npmrc is refused too.
    ws.write(
        "packages/checkout/.npmrc",
        b"//registry.npmjs.org/:_authToken=x\n",
    );
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("dist", ".")
        .run();
    assert_refused(&step, moto, &bucket, &[".npmrc", "dist: ."]);

    // Meant to be public: the config says so, and the deploy goes on.
    std::fs::remove_dir_all(ws.dist("checkout").join(".git")).unwrap();
    ws.write("mfe-deploy.yml", b"allow-sensitive-files: [\".env\"]\n");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert!(keys(moto, &bucket).contains(&"checkout/.env".to_owned()));
}
