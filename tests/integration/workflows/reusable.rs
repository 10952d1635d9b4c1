//! The reusable workflow: it builds, then deploys the build in the module's queue,
//! passes every output of the action through, and callers leave the queue to it.

use super::*;

#[test]
fn the_reusable_workflow_builds_then_deploys_the_build_in_the_modules_queue() {
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let jobs = &reusable["jobs"];
    assert!(reusable["concurrency"].is_null(), "{reusable:?}");
    let build = &jobs["build"];
    assert!(runs_package_manager(build));
    assert!(!holds_id_token(build) && build["environment"].is_null());
    assert_eq!(
        build["if"].as_str(),
        Some("needs.resolve.outputs.skipped != 'true' && needs.resolve.outputs.closing != 'true'")
    );
    let deploy = &jobs["deploy"];
    assert!(!runs_package_manager(deploy) && holds_id_token(deploy));
    assert_eq!(needs(deploy), ["resolve", "build"]);
    let group = deploy["concurrency"]["group"].as_str().unwrap();
    let (environment, module) = queue_parts(group).unwrap();
    assert!(names_environment(
        &environment,
        &part("${{ needs.resolve.outputs.github-environment }}")
    ));
    assert_eq!(module, part("${{ inputs.package }}"));
    assert!(
        !group.contains("github.workflow"),
        "every caller of one module must share the group: {group}"
    );
    // The artifact is named where no dependency's script runs, once per module.
    let named = jobs["resolve"]["outputs"]["artifact"].as_str().unwrap();
    assert_eq!(named, "${{ steps.artifact.outputs.name }}");
    let script = steps(&jobs["resolve"])
        .iter()
        .find(|s| s["id"].as_str() == Some("artifact"))
        .and_then(|s| s["run"].as_str())
        .unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let ran = std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .env("PACKAGE", "packages/sub scriptions")
        .env("GITHUB_OUTPUT", out.path())
        .status()
        .unwrap();
    assert!(ran.success());
    assert_eq!(
        std::fs::read_to_string(out.path()).unwrap(),
        "name=dist-packages-sub-scriptions\n"
    );
}

#[test]
fn callers_of_the_reusable_workflow_leave_the_queue_to_it() {
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
        assert!(
            job["concurrency"].is_null(),
            "{path}: deadlock with the called job"
        );
        assert_eq!(job["with"]["package"].as_str(), Some(module), "{path}");
    }
}

#[test]
fn the_rollback_runs_in_its_environment_in_the_modules_queue() {
    let rollback = workflow("examples/workflows/rollback-module.yml");
    let job = &rollback["jobs"]["rollback"];
    assert_eq!(environment_of(job), Some(part("${{ inputs.environment }}")));
    assert_eq!(
        job["concurrency"]["group"].as_str(),
        Some("mfe-deploy-${{ inputs.environment }}-${{ inputs.package }}")
    );
    assert_eq!(
        deploy_step(job).unwrap()["with"]["rollback-to"].as_str(),
        Some("${{ inputs.to }}")
    );
}

#[test]
fn the_all_modules_artifact_keeps_each_modules_dist_where_the_deploy_looks() {
    let example = workflow("examples/workflows/deploy-all-modules.yml");
    let upload = steps(&example["jobs"]["build"])
        .iter()
        .find(|s| uses(s).starts_with("actions/upload-artifact@"))
        .unwrap();
    let path = upload["with"]["path"].as_str().unwrap();
    assert_eq!(path, "packages/*/dist");
    assert_eq!(artifact_root(path).as_deref(), Some("packages"));
    let deploy = &example["jobs"]["deploy"];
    assert_eq!(
        deploy_step(deploy).unwrap()["with"]["packages"].as_str(),
        Some("packages/*")
    );
    assert_eq!(
        deploy["concurrency"]["group"].as_str(),
        Some("mfe-deploy-${{ needs.resolve.outputs.environment }}-packages/*")
    );
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
