//! Environment resolution in action mode: each run lands in its environment's bucket
//! and nowhere else; skipped and refused runs write nothing.

use crate::common::*;

mod modules;

struct Buckets {
    production: String,
    staging: String,
    development: String,
}

/// Three buckets and a config that maps the usual flow onto them.
fn three_environments(moto: &Moto, ws: &Workspace, name: &str) -> Buckets {
    let b = Buckets {
        production: bucket(moto, &format!("{name}-prod")),
        staging: bucket(moto, &format!("{name}-stage")),
        development: bucket(moto, &format!("{name}-dev")),
    };
    let config = format!(
        "environments:\n  production:\n    branches: [master, main]\n    bucket: {}\n    public-url: https://shop.example.com\n  staging:\n    branches: [stage]\n    bucket: {}\n    public-url: https://stage.shop.example.com\n  development:\n    pull-requests-into: [stage]\n    manual: [\"**\"]\n    bucket: {}\n",
        b.production, b.staging, b.development
    );
    ws.write("mfe-deploy.yml", config.as_bytes());
    b
}

fn counts(moto: &Moto, b: &Buckets) -> [usize; 3] {
    [
        keys(moto, &b.production).len(),
        keys(moto, &b.staging).len(),
        keys(moto, &b.development).len(),
    ]
}

fn step<'a>(ws: &'a Workspace, moto: &Moto) -> ActionStep<'a> {
    ActionStep::push(ws, moto, "subscriptions", "").input("bucket", "")
}

#[test]
fn push_to_stage_lands_in_staging_only() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "push-stage");
    let run = step(&ws, moto)
        .event("push", "refs/heads/stage", "push_stage.json")
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(run.out("environment"), "staging");
    assert_eq!(
        run.out("entry-url"),
        "https://stage.shop.example.com/subscriptions/remoteEntry.js"
    );
    assert_eq!(counts(moto, &b), [0, 15, 0]);
}

#[test]
fn pull_request_into_stage_lands_in_development_only() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "pr-dev");
    let run = step(&ws, moto)
        .event(
            "pull_request",
            "refs/pull/42/merge",
            "pull_request_opened_into_stage.json",
        )
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(run.out("environment"), "development");
    assert_eq!(counts(moto, &b), [0, 0, 15]);
}

#[test]
fn push_to_a_feature_branch_is_skipped_with_the_reason() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "skip-feature");
    let run = step(&ws, moto)
        .event(
            "push",
            "refs/heads/feature/plan-picker",
            "push_feature.json",
        )
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(run.out("skipped"), "true");
    assert_eq!(run.out("environment"), "");
    assert_eq!(run.out("uploaded"), "0");
    assert!(run.summary.contains("skipped"), "{}", run.summary);
    assert!(
        run.summary.contains("push to `feature/plan-picker`"),
        "{}",
        run.summary
    );
    assert!(
        run.stderr().contains("no environment lists this branch"),
        "{}",
        run.stderr()
    );
    assert_eq!(counts(moto, &b), [0, 0, 0]);
    for bucket in [&b.production, &b.staging, &b.development] {
        assert!(
            moto.requests(bucket).iter().all(|r| r.key.is_empty()),
            "a skipped run touches no bucket"
        );
    }
}

#[test]
fn pull_request_from_a_fork_is_skipped_because_it_has_no_secrets() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "fork");
    let run = step(&ws, moto)
        .event(
            "pull_request",
            "refs/pull/44/merge",
            "pull_request_from_fork_into_stage.json",
        )
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(run.out("skipped"), "true");
    assert!(
        run.summary.contains("forks get no secrets"),
        "{}",
        run.summary
    );
    assert_eq!(counts(moto, &b), [0, 0, 0]);
}

#[test]
fn pull_request_target_is_refused_and_writes_nothing() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "pr-target");
    let run = step(&ws, moto)
        .event(
            "pull_request_target",
            "refs/heads/master",
            "pull_request_target_into_stage.json",
        )
        .run();
    assert_eq!(run.code(), 2, "{}", run.all_text());
    assert!(
        run.all_text().contains("allow-pull-request-target"),
        "{}",
        run.all_text()
    );
    assert_eq!(counts(moto, &b), [0, 0, 0]);
}

#[test]
fn manual_run_for_production_from_a_feature_branch_is_refused() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "manual-prod");
    let run = step(&ws, moto)
        .event(
            "workflow_dispatch",
            "refs/heads/feature/plan-picker",
            "workflow_dispatch_feature_production.json",
        )
        .input("environment", "production")
        .run();
    assert_eq!(run.code(), 2, "{}", run.all_text());
    assert!(run.all_text().contains("environment `production` does not accept a manual run from branch `feature/plan-picker`"), "{}", run.all_text());
    assert_eq!(counts(moto, &b), [0, 0, 0]);
}

#[test]
fn manual_run_on_a_feature_branch_lands_in_development() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "manual-dev");
    let run = step(&ws, moto)
        .event(
            "workflow_dispatch",
            "refs/heads/feature/plan-picker",
            "workflow_dispatch_feature.json",
        )
        .input("environment", "development")
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(run.out("environment"), "development");
    assert_eq!(counts(moto, &b), [0, 0, 15]);
}

/// Skipped: exit 0, `skipped=true`, the reason in the log and the summary, no bucket touched.
fn assert_skipped(run: &StepResult, moto: &Moto, b: &Buckets, reason: &str) {
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(run.out("skipped"), "true");
    assert_eq!(run.out("environment"), "");
    assert!(run.summary.contains(reason), "{}", run.summary);
    assert!(run.stderr().contains(reason), "{}", run.stderr());
    assert_eq!(counts(moto, b), [0, 0, 0]);
    for bucket in [&b.production, &b.staging, &b.development] {
        assert!(
            moto.requests(bucket).iter().all(|r| r.key.is_empty()),
            "a skipped run touches no bucket"
        );
    }
}

#[test]
fn push_of_a_merge_queue_branch_is_skipped_even_where_branches_match_it() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "queue-push");
    // Every branch deploys to staging: only the merge queue rule keeps the queue out.
    let config = std::fs::read_to_string(ws.path().join("mfe-deploy.yml")).unwrap();
    ws.write(
        "mfe-deploy.yml",
        config
            .replace("branches: [stage]", "branches: [\"**\"]")
            .as_bytes(),
    );
    let run = step(&ws, moto)
        .event(
            "push",
            "refs/heads/gh-readonly-queue/master/pr-42-6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "push_merge_queue.json",
        )
        .run();
    assert_skipped(&run, moto, &b, "merge queue checks do not deploy");
}

#[test]
fn manual_run_on_a_tag_is_skipped_not_matched_as_an_empty_branch() {
    let moto = shared();
    let ws = Workspace::example();
    // development takes manual runs from `**`, which an empty branch name would match.
    let b = three_environments(moto, &ws, "manual-tag");
    let run = step(&ws, moto)
        .event(
            "workflow_dispatch",
            "refs/tags/v1.2.3",
            "workflow_dispatch_tag.json",
        )
        .run();
    assert_skipped(
        &run,
        moto,
        &b,
        "manual run on tag `v1.2.3`: tags do not deploy",
    );
}

#[test]
fn manual_run_on_a_tag_for_a_named_environment_is_refused() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "manual-tag-prod");
    let run = step(&ws, moto)
        .event(
            "workflow_dispatch",
            "refs/tags/v1.2.3",
            "workflow_dispatch_tag_production.json",
        )
        .input("environment", "production")
        .run();
    assert_eq!(run.code(), 2, "{}", run.all_text());
    assert!(
        run.stdout().contains(
            "::error title=mfe-deploy failed::refusing to deploy: manual run on tag `v1.2.3`: tags cannot deploy manually to `production`, because environments accept manual runs by their `branches` and `manual` patterns"
        ),
        "{}",
        run.all_text()
    );
    assert!(run.summary.contains("failed"), "{}", run.summary);
    assert_eq!(counts(moto, &b), [0, 0, 0]);
}

#[test]
fn resolve_prints_the_environment_and_its_settings_without_touching_aws() {
    let moto = shared();
    let ws = Workspace::example();
    let b = three_environments(moto, &ws, "resolve");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/push_stage.json");
    let json = json_output(
        cli_command(&ws)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", "push")
            .env("GITHUB_REF", "refs/heads/stage")
            .env("GITHUB_EVENT_PATH", fixture)
            // A closed port: any AWS request would fail the command.
            .args([
                "resolve",
                "--package",
                "packages/subscriptions",
                "--endpoint-url",
                "http://127.0.0.1:9",
                "--json",
            ]),
    );
    assert_eq!(json["environment"], "staging");
    assert_eq!(json["skipped"], false);
    assert_eq!(json["bucket"], b.staging.as_str());
    assert_eq!(json["prefix"], "subscriptions/");
    assert_eq!(json["public-url"], "https://stage.shop.example.com");
    assert_eq!(json["trigger"], "push to `stage`");
    assert_eq!(counts(moto, &b), [0, 0, 0]);
}

#[test]
fn credentials_from_the_standard_chain_reach_the_container() {
    // What aws-actions/configure-aws-credentials exports arrives as AWS_* variables.
    let (moto, bucket, ws) = setup("chain");
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("aws-access-key-id", "")
        .input("aws-secret-access-key", "")
        .env("AWS_ACCESS_KEY_ID", "AKIACHAINEXAMPLE0001")
        .env("AWS_SECRET_ACCESS_KEY", "chain-secret-value-Lk29dj")
        .env("AWS_SESSION_TOKEN", "chain-session-token-Pq81mz")
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    let signed: Vec<_> = moto
        .requests(&bucket)
        .into_iter()
        .filter(|r| !r.key.is_empty())
        .filter_map(|r| r.access_key)
        .collect();
    assert!(
        !signed.is_empty() && signed.iter().all(|k| k == "AKIACHAINEXAMPLE0001"),
        "{signed:?}"
    );
    assert!(!run.all_text().contains("chain-secret-value-Lk29dj"));
    assert!(!run.all_text().contains("chain-session-token-Pq81mz"));
}
