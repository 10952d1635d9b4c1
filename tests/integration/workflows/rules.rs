//! The checks themselves: every shipped workflow keeps every rule, and a workflow
//! that breaks one is caught.

use super::*;

#[test]
fn every_shipped_workflow_builds_without_the_token_and_deploys_in_its_environment_and_queue() {
    let mut found = Vec::new();
    let mut deploying = 0;
    for (name, text) in shipped_workflows() {
        let broken = if name == ".github/workflows/release.yml" {
            // Its `id-token: write` signs provenance attestations (Sigstore) and deploys
            // nothing; the hardening rules still hold.
            hygiene_problems(&text, &serde_yaml_ng::from_str(&text).unwrap())
        } else {
            problems(&text)
        };
        found.extend(broken.into_iter().map(|p| format!("{name}: {p}")));
        let parsed: Value = serde_yaml_ng::from_str(&text).unwrap();
        deploying += usize::from(jobs(&parsed).iter().any(|(_, job)| {
            deploy_step(job).is_some()
                || job["uses"]
                    .as_str()
                    .is_some_and(|u| u.contains("deploy-module.yml"))
        }));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The reusable workflow, four examples and the README's: the checks saw them deploy.
    assert!(deploying >= 6, "only {deploying} workflows deploy");
}

#[test]
fn our_action_workflow_and_image_are_named_by_the_version_action_yml_names() {
    let action = workflow("action.yml");
    let image = action["runs"]["image"].as_str().unwrap();
    let version = our_version(image).expect("action.yml runs our image");
    assert!(is_release_tag(version), "{image}");
    for (name, text) in shipped_workflows() {
        let parsed: Value = serde_yaml_ng::from_str(&text).unwrap();
        for (id, job) in jobs(&parsed) {
            let called = job["uses"].as_str().into_iter();
            for used in called.chain(steps(job).iter().filter_map(|s| s["uses"].as_str())) {
                if let Some(named) = our_version(used) {
                    assert_eq!(named, version, "{name}: job `{id}`: {used}");
                }
            }
        }
    }
}

#[test]
fn the_queue_name_is_documented_where_the_workflows_point() {
    let docs = read("docs/workflows.md");
    assert!(docs.contains(QUEUE_AS_DOCUMENTED), "docs/workflows.md");
    assert!(
        docs.contains("mfe-deploy-${{ <environment> }}-${{ <module folder> }}"),
        "docs/workflows.md"
    );
    assert!(read("README.md").contains(QUEUE_AS_DOCUMENTED), "README.md");
}

/// A workflow that keeps every rule: the base the broken ones below start from.
const GOOD: &str = r#"
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-24.04
    permissions: { contents: read }
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: { persist-credentials: false }
      - run: npm ci && npm run build
        working-directory: packages/a
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with: { name: dist, path: packages/a/dist }
  deploy:
    needs: build
    runs-on: ubuntu-24.04
    environment: production
    concurrency: { group: mfe-deploy-production-packages/a, cancel-in-progress: false }
    permissions: { contents: read, id-token: write }
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: { persist-credentials: false }
      - uses: actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1
        with: { name: dist, path: packages/a/dist }
      - uses: mfe-deploy/mfe-deploy@v0.1.0
        with: { package: packages/a }
"#;

/// `text` with `from` replaced by `to`, which must be there.
fn broken(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the workflow");
    text.replace(from, to)
}

#[test]
fn a_workflow_that_keeps_every_rule_passes() {
    assert_eq!(problems(GOOD), Vec::<String>::new());
}

#[test]
fn each_broken_rule_is_found() {
    let upload = "name: dist, path: packages/a/dist }\n  deploy:";
    for (what, from, to, expected) in [
        (
            "the build holds the token",
            "permissions: { contents: read }\n",
            "permissions: { contents: read, id-token: write }\n",
            "job `build` runs a package manager and holds `id-token: write`",
        ),
        (
            "the build runs in the environment",
            "  build:\n    runs-on: ubuntu-24.04\n",
            "  build:\n    runs-on: ubuntu-24.04\n    environment: production\n",
            "job `build` runs a package manager inside an environment",
        ),
        (
            "the deploy installs packages",
            "      - uses: mfe-deploy/mfe-deploy@v0.1.0\n",
            "      - run: npm ci\n      - uses: mfe-deploy/mfe-deploy@v0.1.0\n",
            "job `deploy` runs a package manager and holds `id-token: write`",
        ),
        (
            "the deploy runs outside the environment",
            "    environment: production\n",
            "",
            "job `deploy` holds `id-token: write` outside an environment",
        ),
        (
            "the deploy is in another queue",
            "group: mfe-deploy-production-packages/a,",
            "group: deploy-packages/a-production,",
            "job `deploy` is not in its module's queue",
        ),
        (
            "the deploy queues as another module",
            "group: mfe-deploy-production-packages/a,",
            "group: mfe-deploy-production-packages/b,",
            "job `deploy` queues as module",
        ),
        (
            "the deploy queues in another environment",
            "group: mfe-deploy-production-packages/a,",
            "group: mfe-deploy-staging-packages/a,",
            "job `deploy` queues in environment",
        ),
        (
            "a running deploy may be cancelled",
            "cancel-in-progress: false",
            "cancel-in-progress: true",
            "job `deploy` does not say `cancel-in-progress: false`",
        ),
        (
            "the deploy has no queue at all",
            "    concurrency: { group: mfe-deploy-production-packages/a, cancel-in-progress: false }\n",
            "",
            "job `deploy` does not say `cancel-in-progress: false`",
        ),
        (
            "an action by tag",
            "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0",
            "actions/upload-artifact@v7",
            "`actions/upload-artifact@v7` is not pinned by a full commit SHA",
        ),
        (
            "a SHA without its version",
            "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0",
            "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
            "has no `# vX` comment",
        ),
        (
            "our action by its major tag",
            "mfe-deploy/mfe-deploy@v0.1.0",
            "mfe-deploy/mfe-deploy@v0",
            "ours is named by an exact release tag",
        ),
        (
            "an expression pasted into a script",
            "run: npm ci && npm run build",
            "run: npm ci && npm run ${{ github.head_ref }}",
            "pastes `${{ }}` into `run:`",
        ),
        (
            "no `permissions: {}` at the top",
            "permissions: {}\n",
            "permissions: { contents: read }\n",
            "does not start from `permissions: {}`",
        ),
        (
            "the deploy gets no build",
            "      - uses: actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1\n        with: { name: dist, path: packages/a/dist }\n",
            "",
            "job `deploy` deploys without downloading the build job's artifact",
        ),
        (
            "the build unpacks elsewhere",
            upload,
            "name: dist, path: packages/*/dist }\n  deploy:",
            "job `deploy` unpacks \"dist\" into \"packages/a/dist\", but its root is Some(\"packages\")",
        ),
        (
            "the deploy does not wait for the build",
            "    needs: build\n",
            "",
            "job `deploy` downloads \"dist\" without needing `build`",
        ),
    ] {
        let found = problems(&broken(GOOD, from, to));
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{what}: expected `{expected}` in {found:#?}"
        );
    }
    let kept = broken(
        GOOD,
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n        with: { persist-credentials: false }\n      - run:",
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n      - run:",
    );
    assert!(
        problems(&kept)
            .iter()
            .any(|p| p.contains("job `build` checks out with `persist-credentials` left on")),
        "{:#?}",
        problems(&kept)
    );
}

#[test]
fn a_caller_leaves_the_queue_to_the_called_deploy_job() {
    let caller = |concurrency: &str| {
        format!(
            "on: push\npermissions: {{}}\njobs:\n  deploy:\n{concurrency}    permissions: {{ contents: read, id-token: write }}\n    uses: mfe-deploy/mfe-deploy/.github/workflows/deploy-module.yml@v0.1.0\n    with: {{ package: packages/a }}\n"
        )
    };
    assert_eq!(problems(&caller("")), Vec::<String>::new());
    let deadlock = problems(&caller(
        "    concurrency: { group: mfe-deploy-production-packages/a, cancel-in-progress: false }\n",
    ));
    assert!(
        deadlock.iter().any(|p| p.contains("deadlock")),
        "{deadlock:#?}"
    );
    let elsewhere = problems(&caller("").replace(
        "mfe-deploy/mfe-deploy/.github/workflows/deploy-module.yml@v0.1.0",
        "someone/else/.github/workflows/build.yml@0123456789abcdef0123456789abcdef01234567",
    ));
    assert!(
        elsewhere
            .iter()
            .any(|p| p.contains("not the reusable deploy workflow")),
        "{elsewhere:#?}"
    );
}

#[test]
fn a_dry_run_may_take_a_queue_of_its_own_and_a_resolve_step_deploys_nothing() {
    let environment = part("${{ needs.resolve.outputs.environment }}");
    let (queued, module) = queue_parts(
        "mfe-deploy-${{\ninputs.dry-run && format('dry-run-{0}', github.run_id)\n|| needs.resolve.outputs.environment }}-${{ inputs.package }}",
    )
    .unwrap();
    assert!(names_environment(&queued, &environment));
    assert_eq!(module, Part::Expr("inputs.package".into()));
    let (other, _) =
        queue_parts("mfe-deploy-${{ github.ref || needs.resolve.outputs.environment }}-x").unwrap();
    assert!(!names_environment(&other, &environment));
    assert_eq!(queue_parts("mfe-deploy-production"), None);
    assert_eq!(queue_parts("deploy-production-packages/a"), None);

    let resolve: Value = serde_yaml_ng::from_str(
        "steps:\n  - uses: docker://ghcr.io/mfe-deploy/mfe-deploy:v0.1.0\n    with: { args: resolve --github-output --package packages/a }\n",
    )
    .unwrap();
    assert!(deploy_step(&resolve).is_none());
    let deploy: Value = serde_yaml_ng::from_str(
        "steps:\n  - uses: docker://ghcr.io/mfe-deploy/mfe-deploy:v0.1.0\n    with: { args: deploy --package packages/a }\n",
    )
    .unwrap();
    assert!(deploy_step(&deploy).is_some());
}

#[test]
fn the_checks_catch_a_broken_copy_of_the_shipped_workflows() {
    let reusable = read(".github/workflows/deploy-module.yml");
    assert_eq!(problems(&reusable), Vec::<String>::new());
    let build_with_token = broken(
        &reusable,
        "    permissions:\n      contents: read # check out the module\n    steps:",
        "    permissions:\n      contents: read # check out the module\n      id-token: write\n    steps:",
    );
    assert!(
        problems(&build_with_token)
            .iter()
            .any(|p| p.contains("job `build` runs a package manager and holds `id-token: write`")),
        "{:#?}",
        problems(&build_with_token)
    );

    let rollback = read("examples/workflows/rollback-module.yml");
    assert_eq!(problems(&rollback), Vec::<String>::new());
    let outside = broken(
        &rollback,
        "    environment:\n      name: ${{ inputs.environment }}\n      url: ${{ steps.rollback.outputs.environment-url }}\n",
        "",
    );
    assert!(
        problems(&outside)
            .iter()
            .any(|p| p.contains("job `rollback` holds `id-token: write` outside an environment")),
        "{:#?}",
        problems(&outside)
    );
    let old_queue = broken(
        &rollback,
        "group: mfe-deploy-${{ inputs.environment }}-${{ inputs.package }}",
        "group: deploy-${{ inputs.package }}-environment-${{ inputs.environment }}",
    );
    assert!(
        problems(&old_queue)
            .iter()
            .any(|p| p.contains("job `rollback` is not in its module's queue")),
        "{:#?}",
        problems(&old_queue)
    );
}
