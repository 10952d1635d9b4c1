//! The release: it tests the tag, attests what it publishes, and pins the image's
//! digest into `action.yml`.

use super::*;

#[test]
fn the_release_tests_the_tag_and_attests_everything_it_publishes_before_publishing() {
    let release = workflow(".github/workflows/release.yml");
    let jobs = &release["jobs"];
    let steps = |job: &str| -> Vec<serde_yaml_ng::Value> {
        jobs[job]["steps"]
            .as_sequence()
            .unwrap_or_else(|| panic!("release.yml: no job `{job}`"))
            .clone()
    };
    let position = |steps: &[serde_yaml_ng::Value],
                    find: &dyn Fn(&serde_yaml_ng::Value) -> bool| {
        steps.iter().position(find)
    };
    let uses = |s: &serde_yaml_ng::Value| s["uses"].as_str().unwrap_or_default().to_owned();
    let runs = |s: &serde_yaml_ng::Value| s["run"].as_str().unwrap_or_default().to_owned();
    let attests =
        |s: &serde_yaml_ng::Value| uses(s).starts_with("actions/attest-build-provenance@");

    // The suite runs on the tag, and nothing is drafted or built before it passes.
    assert!(
        steps("test")
            .iter()
            .any(|s| runs(s).trim() == "scripts/test")
    );
    assert_eq!(jobs["draft"]["needs"].as_str(), Some("test"));
    assert_eq!(jobs["build"]["needs"].as_str(), Some("draft"));

    // Every attestation action is pinned by a full commit SHA.
    for job in ["build", "publish"] {
        for step in steps(job).iter().filter(|s| attests(s)) {
            let pin = uses(step).split_once('@').unwrap().1.to_owned();
            assert!(
                pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
                "{job}: {pin}"
            );
        }
    }
    // Per architecture: the image by its digest, the binary and its archive.
    let build = steps("build");
    let attested: Vec<&serde_yaml_ng::Value> = build.iter().filter(|s| attests(s)).collect();
    assert!(attested.iter().any(|s| {
        s["with"]["subject-digest"]
            .as_str()
            .is_some_and(|d| d.contains("steps.image.outputs.digest"))
    }));
    assert!(attested.iter().any(|s| {
        s["with"]["subject-path"]
            .as_str()
            .is_some_and(|p| p.contains("target/release/mfe-deploy") && p.contains(".tar.gz"))
    }));
    let upload = position(&build, &|s| runs(s).contains("gh release upload")).unwrap();
    assert!(position(&build, &|s| attests(s)).unwrap() < upload);
    // The index users pull (`:vX.Y.Z`) is attested before the release is published.
    let publish = steps("publish");
    let index = position(&publish, &|s| runs(s).contains("imagetools create")).unwrap();
    let attest_index = position(&publish, &|s| {
        attests(s)
            && s["with"]["subject-digest"]
                .as_str()
                .is_some_and(|d| d.contains("steps.index.outputs.digest"))
    })
    .expect("publish attests the image index");
    let published = position(&publish, &|s| runs(s).contains("gh release edit")).unwrap();
    assert!(index < attest_index && attest_index < published);
    // Then the version tag moves to the commit that pins that digest, before the
    // release is published, and the major tag follows it there.
    let pin = position(&publish, &|s| s["id"].as_str() == Some("pin"))
        .expect("publish pins the image digest in action.yml");
    assert!(attest_index < pin && pin < published);
    assert_eq!(
        publish[pin]["env"]["DIGEST"].as_str(),
        Some("${{ steps.index.outputs.digest }}")
    );
    assert_eq!(
        publish[published]["env"]["COMMIT"].as_str(),
        Some("${{ steps.pin.outputs.commit }}")
    );
    // No `gh release` failure is swallowed.
    for job in ["draft", "build", "publish"] {
        for step in steps(job) {
            let script = runs(&step);
            for line in script.lines().filter(|l| l.contains("gh release")) {
                assert!(
                    !line.contains("|| true") && !line.contains("2>/dev/null ||"),
                    "{job}: {line}"
                );
            }
        }
    }
}

/// A step's script from release.yml, found by its `id` or its `name`.
fn release_script(job: &str, step: &str) -> String {
    let release = workflow(".github/workflows/release.yml");
    steps(&release["jobs"][job])
        .iter()
        .find(|s| s["id"].as_str() == Some(step) || s["name"].as_str() == Some(step))
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("release.yml: no step `{step}` in `{job}`"))
        .to_owned()
}

/// Runs a release script as the runner does (`bash -eo pipefail`) in `dir`, with `gh`
/// and `docker` replaced by stubs that log their arguments (and stdin) to `dir`.
fn run_release_script(dir: &Path, script: &str, env: &[(&str, &str)]) -> std::process::Output {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}")).unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).unwrap();
    };
    stub(
        "gh",
        r#"echo "gh $*" >> calls.log
case "$*" in
  *"git/trees"*) cat > tree.json; echo 2222222222222222222222222222222222222222 ;;
  *"--method POST"*"git/commits"*) echo 3333333333333333333333333333333333333333 ;;
  *"git/commits/"*) echo 1111111111111111111111111111111111111111 ;;
esac
"#,
    );
    stub(
        "docker",
        r#"echo "docker $*" >> calls.log
case "$1" in login) cat > /dev/null ;; manifest) exit 1 ;; esac
"#,
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("IMAGE", "ghcr.io/mfe-deploy/mfe-deploy")
        .env("GITHUB_OUTPUT", dir.join("github_output"))
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn the_release_pins_the_digest_it_built_into_action_yml_and_its_own_check_accepts_it() {
    let release = workflow(".github/workflows/release.yml");
    assert_eq!(
        release["env"]["IMAGE"].as_str(),
        Some("ghcr.io/${{ github.repository }}")
    );
    let original = read("action.yml");
    let image = workflow("action.yml")["runs"]["image"]
        .as_str()
        .unwrap()
        .to_owned();
    let tag = image
        .strip_prefix("docker://ghcr.io/mfe-deploy/mfe-deploy:")
        .expect("main's action.yml names our image by tag");
    assert!(is_release_tag(tag), "main names the tag alone: {image}");
    let digest = format!("sha256:{}", "ab".repeat(32));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("action.yml"), &original).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), read("Cargo.toml")).unwrap();
    std::fs::create_dir(dir.path().join("runtime")).unwrap();
    std::fs::write(
        dir.path().join("runtime/package.json"),
        read("runtime/package.json"),
    )
    .unwrap();
    let check = release_script("check", "Check versions");
    let check_env = [("TAG", tag), ("ACTOR", "someone"), ("GH_TOKEN", "token")];

    // Main's action.yml passes the check.
    let checked = run_release_script(dir.path(), &check, &check_env);
    assert!(checked.status.success(), "{checked:?}");

    let sha = "0123456789abcdef0123456789abcdef01234567";
    let pin_env = [
        ("TAG", tag),
        ("SHA", sha),
        ("REPO", "mfe-deploy/mfe-deploy"),
        ("DIGEST", digest.as_str()),
        ("GH_TOKEN", "token"),
    ];
    let pinned = run_release_script(dir.path(), &release_script("publish", "pin"), &pin_env);
    assert!(pinned.status.success(), "{pinned:?}");
    let pinned_text = std::fs::read_to_string(dir.path().join("action.yml")).unwrap();
    let pinned_yaml: Value = serde_yaml_ng::from_str(&pinned_text).unwrap();
    assert_eq!(
        pinned_yaml["runs"]["image"].as_str(),
        Some(format!("{image}@{digest}").as_str())
    );
    // Only that line changed, and that file is the tree's one change.
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(pinned_text.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(original.lines().count(), pinned_text.lines().count());
    let tree: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tree.json")).unwrap())
            .unwrap();
    assert_eq!(
        tree["base_tree"],
        "1111111111111111111111111111111111111111"
    );
    assert_eq!(tree["tree"][0]["path"], "action.yml");
    assert_eq!(
        tree["tree"][0]["content"].as_str(),
        Some(pinned_text.as_str())
    );
    let calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    assert!(calls.contains(&format!(
        "gh api repos/mfe-deploy/mfe-deploy/git/commits/{sha} "
    )));
    assert!(calls.contains(&format!("parents[]={sha}")), "{calls}");
    assert!(
        calls.contains(&format!(
            "gh api --method PATCH repos/mfe-deploy/mfe-deploy/git/refs/tags/{tag} -f sha=3333333333333333333333333333333333333333 -F force=true"
        )),
        "{calls}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("github_output")).unwrap(),
        "commit=3333333333333333333333333333333333333333\n"
    );

    // The pinned action.yml passes the same check; another tag or a broken digest not.
    let checked = run_release_script(dir.path(), &check, &check_env);
    assert!(checked.status.success(), "{checked:?}");
    for wrong in [
        pinned_text.replace(&format!(":{tag}@"), ":v0.0.0@"),
        pinned_text.replace(&digest, "sha256:abc"),
    ] {
        std::fs::write(dir.path().join("action.yml"), wrong).unwrap();
        let refused = run_release_script(dir.path(), &check, &check_env);
        assert!(!refused.status.success(), "{refused:?}");
        assert!(
            String::from_utf8_lossy(&refused.stdout).contains("action.yml must use"),
            "{refused:?}"
        );
    }
    // An action.yml naming another image is not pinned: the step fails, nothing moves.
    std::fs::write(
        dir.path().join("action.yml"),
        original.replace(&image, "docker://elsewhere/image:v1.2.3"),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("calls.log")).unwrap();
    let refused = run_release_script(dir.path(), &release_script("publish", "pin"), &pin_env);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(!dir.path().join("calls.log").exists());
}
