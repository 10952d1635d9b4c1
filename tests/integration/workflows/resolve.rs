//! The `resolve` step as the runner runs it: the environment, name and URL it feeds
//! the deploy job, skipped events, and pull requests' previews.

use super::*;

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
        b"environments:\n  production:\n    branches: [master]\n    bucket: prod\n    public-url: https://www.example.com\n  staging:\n    branches: [stage]\n    bucket: stage\n    previews:\n      pull-requests-into: [stage]\n      public-url: https://preview.example.com\n",
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
        Some("${{ needs.resolve.outputs.github-environment }}")
    );
    assert_eq!(
        deploy["environment"]["url"].as_str(),
        Some(
            "${{ needs.resolve.outputs.closing != 'true' && needs.resolve.outputs.environment-url || '' }}"
        )
    );
    assert_eq!(
        deploy["if"].as_str(),
        Some(
            "!cancelled() && needs.resolve.outputs.skipped != 'true' && (needs.build.result == 'success' || needs.resolve.outputs.closing == 'true')"
        )
    );
    assert_eq!(outputs["github-environment"], "production");
    assert_eq!(
        (outputs["preview"].as_str(), outputs["closing"].as_str()),
        ("", "false")
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
fn a_pull_requests_preview_runs_in_an_environment_and_queue_of_its_own_and_its_close_builds_nothing()
 {
    let opened = resolve_as_the_workflow_does(
        "pull_request",
        "refs/pull/42/merge",
        "pull_request_opened_into_stage.json",
    );
    assert_eq!(opened["environment"], "staging");
    assert_eq!(opened["github-environment"], "staging-pr-42");
    assert_eq!(opened["preview"], "pr-42");
    assert_eq!(opened["closing"], "false");
    assert_eq!(
        opened["environment-url"],
        "https://preview.example.com?mfe-preview=pr-42"
    );
    let closed = resolve_as_the_workflow_does(
        "pull_request",
        "refs/pull/42/merge",
        "pull_request_closed_into_stage.json",
    );
    assert_eq!(closed["github-environment"], "staging-pr-42");
    assert_eq!(closed["closing"], "true");
    // The close marks the preview's deployments inactive, after the deploy job.
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let deactivate = &reusable["jobs"]["deactivate"];
    assert_eq!(needs(deactivate), ["resolve", "deploy"]);
    assert_eq!(
        deactivate["permissions"]["deployments"].as_str(),
        Some("write")
    );
    assert!(!holds_id_token(deactivate) && !runs_package_manager(deactivate));
}
