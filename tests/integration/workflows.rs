//! The reusable workflow and the example callers: one run per module and environment
//! at a time, without the caller/called deadlock GitHub cancels.

use std::path::Path;

fn workflow(path: &str) -> serde_yaml::Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The job's concurrency group, checked to let the running deploy finish.
fn queued_group<'a>(job: &'a serde_yaml::Value, name: &str) -> &'a str {
    let concurrency = &job["concurrency"];
    assert_eq!(
        concurrency["cancel-in-progress"].as_bool(),
        Some(false),
        "{name}: a deploy cancelled mid-way skips its invalidation"
    );
    concurrency["group"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no concurrency group"))
}

#[test]
fn the_reusable_workflow_queues_deploys_per_module_and_environment() {
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let group = queued_group(&reusable["jobs"]["deploy"], "deploy-module.yml");
    assert!(
        group.starts_with("mfe-deploy-${{ inputs.package }}-"),
        "{group}"
    );
    for key in ["needs.resolve.outputs.environment", "inputs.dry-run"] {
        assert!(group.contains(key), "{key} missing in {group}");
    }
    assert!(
        !group.contains("github.workflow"),
        "every caller of one module must share the group: {group}"
    );
    assert!(reusable["concurrency"].is_null(), "{reusable:?}");
}

#[test]
fn example_callers_queue_per_module_and_never_reuse_the_reusable_workflows_group() {
    for (path, module) in [
        (
            "examples/workflows/deploy-subscriptions.yml",
            "packages/subscriptions",
        ),
        (
            "examples/workflows/deploy-changed-modules.yml",
            "${{ matrix.package }}",
        ),
    ] {
        let caller = workflow(path);
        assert!(
            caller["concurrency"].is_null(),
            "{path}: a workflow-level group would serialise every module"
        );
        let job = &caller["jobs"]["deploy"];
        assert!(
            job["uses"]
                .as_str()
                .is_some_and(|u| u.contains("/.github/workflows/deploy-module.yml@")),
            "{path}"
        );
        let group = queued_group(job, path);
        assert!(group.contains(module), "{path}: {group}");
        assert!(group.contains("github.ref"), "{path}: {group}");
        assert!(
            !group.to_lowercase().starts_with("mfe-deploy-"),
            "{path}: the called job's group would equal its caller's: {group}"
        );
    }
}

/// Runs the reusable workflow's resolve step as the runner would: its `args` with
/// `inputs.package` filled in, the event's variables, and a `$GITHUB_OUTPUT` file.
fn resolve_as_the_workflow_does(
    event: &str,
    git_ref: &str,
    fixture: &str,
) -> std::collections::BTreeMap<String, String> {
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let step = &reusable["jobs"]["resolve"]["steps"][1];
    assert_eq!(step["id"].as_str(), Some("resolve"));
    let args = step["with"]["args"]
        .as_str()
        .unwrap()
        .replace("${{ inputs.package }}", "packages/checkout")
        // A run without the `environment` input.
        .replace(
            "${{ inputs.environment && format('--environment {0}', inputs.environment) || '' }}",
            "",
        );
    assert!(!args.contains("${{"), "{args}");
    let ws = crate::common::Workspace::example();
    run_resolve(&ws, &args, event, git_ref, fixture)
}

/// Runs `mfe-deploy` with a resolve step's `args` in `ws` as the runner would, with
/// a config for `production`, and returns what it wrote to `$GITHUB_OUTPUT`.
fn run_resolve(
    ws: &crate::common::Workspace,
    args: &str,
    event: &str,
    git_ref: &str,
    fixture: &str,
) -> std::collections::BTreeMap<String, String> {
    ws.write(
        "mfe-deploy.yml",
        b"environments:\n  production:\n    branches: [master]\n    bucket: prod\n    public-url: https://www.example.com\n",
    );
    let output = ws.path().join("github_output");
    let event_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(fixture);
    let ran = crate::common::cli_command(ws)
        .args(args.split_whitespace())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_REF", git_ref)
        .env("GITHUB_EVENT_PATH", event_path)
        .env("GITHUB_OUTPUT", &output)
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let written = std::fs::read_to_string(&output).unwrap();
    mfe_deploy::github::outputs::parse_outputs(&written)
        .into_iter()
        .collect()
}

#[test]
fn the_resolve_job_feeds_the_deploy_jobs_environment_name_and_url() {
    let outputs = resolve_as_the_workflow_does("push", "refs/heads/master", "push_master.json");
    assert_eq!(outputs["environment"], "production");
    assert_eq!(outputs["environment-url"], "https://www.example.com");
    assert_eq!(outputs["skipped"], "false");
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let deploy = &reusable["jobs"]["deploy"];
    assert_eq!(
        deploy["environment"]["name"].as_str(),
        Some("${{ needs.resolve.outputs.environment }}")
    );
    assert_eq!(
        deploy["environment"]["url"].as_str(),
        Some("${{ needs.resolve.outputs.environment-url }}")
    );
    assert_eq!(
        deploy["if"].as_str(),
        Some("needs.resolve.outputs.skipped != 'true'")
    );
}

#[test]
fn the_all_modules_workflow_resolves_before_the_build_and_deploys_in_the_environment() {
    let path = "examples/workflows/deploy-all-modules.yml";
    let example = workflow(path);
    let step = &example["jobs"]["resolve"]["steps"][1];
    assert_eq!(step["id"].as_str(), Some("resolve"));
    let args = step["with"]["args"].as_str().unwrap();
    assert!(!args.contains("${{"), "{args}");
    // The resolve job checks out the sources and builds nothing.
    let ws = crate::common::Workspace::example();
    for module in ["checkout", "main", "subscriptions"] {
        std::fs::remove_dir_all(ws.dist(module)).unwrap();
    }
    let outputs = run_resolve(&ws, args, "push", "refs/heads/master", "push_master.json");
    assert_eq!(outputs["environment"], "production");
    assert_eq!(outputs["environment-url"], "https://www.example.com");
    assert_eq!(outputs["skipped"], "false");
    let deploy = &example["jobs"]["deploy"];
    assert_eq!(
        deploy["environment"]["name"].as_str(),
        Some("${{ needs.resolve.outputs.environment }}"),
        "{path}"
    );
    assert_eq!(
        deploy["environment"]["url"].as_str(),
        Some("${{ needs.resolve.outputs.environment-url }}"),
        "{path}"
    );
    assert_eq!(
        deploy["if"].as_str(),
        Some("needs.resolve.outputs.skipped != 'true'"),
        "{path}"
    );
    let skipped = run_resolve(&ws, args, "push", "refs/tags/v1.0.0", "push_tag.json");
    assert_eq!(skipped["skipped"], "true");
}

#[test]
fn a_skipped_event_resolves_to_no_deploy_job() {
    let outputs = resolve_as_the_workflow_does("push", "refs/tags/v1.0.0", "push_tag.json");
    assert_eq!(outputs["skipped"], "true");
    assert_eq!(outputs["environment"], "");
    assert!(!outputs["reason"].is_empty());
}

#[test]
fn the_release_tests_the_tag_and_attests_everything_it_publishes_before_publishing() {
    let release = workflow(".github/workflows/release.yml");
    let jobs = &release["jobs"];
    let steps = |job: &str| -> Vec<serde_yaml::Value> {
        jobs[job]["steps"]
            .as_sequence()
            .unwrap_or_else(|| panic!("release.yml: no job `{job}`"))
            .clone()
    };
    let position = |steps: &[serde_yaml::Value], find: &dyn Fn(&serde_yaml::Value) -> bool| {
        steps.iter().position(find)
    };
    let uses = |s: &serde_yaml::Value| s["uses"].as_str().unwrap_or_default().to_owned();
    let runs = |s: &serde_yaml::Value| s["run"].as_str().unwrap_or_default().to_owned();
    let attests = |s: &serde_yaml::Value| uses(s).starts_with("actions/attest-build-provenance@");

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
    let attested: Vec<&serde_yaml::Value> = build.iter().filter(|s| attests(s)).collect();
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

#[test]
fn the_reusable_workflow_passes_every_output_of_the_action_through() {
    let action = workflow("action.yml");
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let passed = &reusable["on"]["workflow_call"]["outputs"];
    let job_outputs = &reusable["jobs"]["deploy"]["outputs"];
    for (name, _) in action["outputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let value = passed[name]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("deploy-module.yml does not pass `{name}` through"));
        let from_deploy = format!("${{{{ jobs.deploy.outputs.{name} }}}}");
        let from_resolve = format!("${{{{ jobs.resolve.outputs.{name} }}}}");
        assert!(
            value == from_resolve
                || (value == from_deploy
                    && job_outputs[name].as_str()
                        == Some(format!("${{{{ steps.deploy.outputs.{name} }}}}").as_str())),
            "{name}: {value}"
        );
    }
}
