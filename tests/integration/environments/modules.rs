//! `modules`: which modules the changed files touch, as a matrix and a step output,
//! and the example workflow's changed-files step in a real repository.

use super::*;

#[test]
fn modules_maps_changed_files_to_a_matrix_and_writes_the_step_output() {
    let ws = Workspace::example();
    ws.write(
        "changed.txt",
        b"packages/checkout/src/Cart.js\npackages/main/webpack.config.js\nREADME.md\n",
    );
    let output_file = ws.path().join("github_output");
    std::fs::write(&output_file, "").unwrap();
    let output = cli_command(&ws)
        .env("GITHUB_OUTPUT", &output_file)
        .args([
            "modules",
            "--changed-files",
            "changed.txt",
            "--github-output",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#"["packages/checkout","packages/main"]"#
    );
    let written =
        mfe_deploy::github::outputs::parse_outputs(&std::fs::read_to_string(&output_file).unwrap());
    assert_eq!(
        written,
        [(
            "packages".to_owned(),
            r#"["packages/checkout","packages/main"]"#.to_owned()
        )]
    );

    ws.write("changed.txt", b"mfe-deploy.yml\n");
    let all = cli_command(&ws)
        .args(["modules", "--changed-files", "changed.txt"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&all.stdout).trim(),
        r#"["packages/checkout","packages/main","packages/subscriptions"]"#
    );
}

#[test]
fn a_change_to_the_config_deploys_every_module_whatever_all_when_changed_says() {
    let ws = Workspace::example();
    ws.write(
        "mfe-deploy.yml",
        b"modules:\n  folders: [\"packages/*\"]\n  all-when-changed: [\"package-lock.json\"]\n",
    );
    ws.write("changed.txt", b"./mfe-deploy.yml\n");
    let all = cli_command(&ws)
        .args(["modules", "--changed-files", "changed.txt"])
        .output()
        .unwrap();
    let every = r#"["packages/checkout","packages/main","packages/subscriptions"]"#;
    assert_eq!(String::from_utf8_lossy(&all.stdout).trim(), every);
    let listed = cli_command(&ws)
        .args(["modules", "--all"])
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), every);
}

/// Runs the example workflow's "List changed files" script in a real repository.
fn changed_files_step(
    repo: &std::path::Path,
    base: &str,
    head: &str,
    ref_type: &str,
    forced: bool,
) -> (String, String, String) {
    let workflow: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/workflows/deploy-changed-modules.yml"),
        )
        .unwrap(),
    )
    .unwrap();
    let steps = workflow["jobs"]["detect"]["steps"].as_sequence().unwrap();
    let script = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("diff"))
        .and_then(|s| s["run"].as_str())
        .unwrap();
    let temp = tempfile::tempdir().unwrap();
    let output = temp.path().join("output");
    let ran = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(repo)
        .env("BASE", base)
        .env("HEAD", head)
        .env("FORCED", if forced { "true" } else { "false" })
        .env("REF_TYPE", ref_type)
        .env("GITHUB_OUTPUT", &output)
        .env("RUNNER_TEMP", temp.path())
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    (
        std::fs::read_to_string(&output).unwrap(),
        std::fs::read_to_string(temp.path().join("changed.txt")).unwrap_or_default(),
        String::from_utf8_lossy(&ran.stdout).into_owned(),
    )
}

#[test]
fn the_changed_files_step_falls_back_to_every_module_without_a_usable_base() {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    std::fs::create_dir_all(repo.path().join("packages/a")).unwrap();
    std::fs::write(repo.path().join("packages/a/x.js"), "1").unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "one"]);
    let first = git(&["rev-parse", "HEAD"]);
    std::fs::write(repo.path().join("packages/a/x.js"), "2").unwrap();
    git(&["commit", "-qam", "two"]);
    let second = git(&["rev-parse", "HEAD"]);

    let (outputs, changed, log) = changed_files_step(repo.path(), &first, &second, "branch", false);
    assert_eq!(outputs.trim(), "all=false", "{log}");
    assert_eq!(changed.trim(), "packages/a/x.js");
    assert!(log.contains(&format!("diffing {first}..{second}")), "{log}");

    // A force push whose `before` is still known: the diff between the two trees
    // names what the discarded commits changed too (here `b`, added then dropped).
    git(&["checkout", "-qb", "discarded"]);
    std::fs::create_dir_all(repo.path().join("packages/b")).unwrap();
    std::fs::write(repo.path().join("packages/b/y.js"), "1").unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "discarded"]);
    let discarded = git(&["rev-parse", "HEAD"]);
    let (outputs, changed, _) =
        changed_files_step(repo.path(), &discarded, &second, "branch", true);
    assert_eq!(outputs.trim(), "all=false");
    assert_eq!(changed.trim(), "packages/b/y.js");

    for (base, ref_type, forced, why) in [
        (
            "0000000000000000000000000000000000000000",
            "branch",
            false,
            "this is the branch's first push",
        ),
        (
            "1234567890abcdef1234567890abcdef12345678",
            "branch",
            true,
            "(1234567890abcdef1234567890abcdef12345678) is not in the history: a force push replaced it",
        ),
        (
            "1234567890abcdef1234567890abcdef12345678",
            "branch",
            false,
            "is not in the history\n",
        ),
        (
            first.as_str(),
            "tag",
            false,
            "a tag push has no commit before it",
        ),
        (second.as_str(), "branch", false, "nothing to diff"),
    ] {
        let (outputs, _, log) = changed_files_step(repo.path(), base, &second, ref_type, forced);
        assert_eq!(outputs.trim(), "all=true", "{base} {ref_type}: {log}");
        assert!(
            log.contains("deploying every module: ") && log.contains(why),
            "{why}: {log}"
        );
    }
}
