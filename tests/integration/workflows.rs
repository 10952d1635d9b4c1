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
    for key in [
        "inputs.environment",
        "github.base_ref",
        "github.ref",
        "inputs.dry-run",
    ] {
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
