use std::collections::HashMap;
use std::path::Path;

use super::*;

/// The runner's variables for a fixture payload, as GitHub sets them.
fn runner(event: &str, git_ref: &str, fixture: &str) -> HashMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(fixture);
    let payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut vars: HashMap<String, String> = [
        ("GITHUB_EVENT_NAME", event.to_owned()),
        ("GITHUB_REF", git_ref.to_owned()),
        ("GITHUB_EVENT_PATH", path.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(pr) = payload.get("pull_request") {
        vars.insert(
            "GITHUB_BASE_REF".to_owned(),
            pr["base"]["ref"].as_str().unwrap().to_owned(),
        );
        vars.insert(
            "GITHUB_HEAD_REF".to_owned(),
            pr["head"]["ref"].as_str().unwrap().to_owned(),
        );
    }
    vars
}

fn trigger(event: &str, git_ref: &str, fixture: &str) -> Trigger {
    let vars = runner(event, git_ref, fixture);
    Trigger::from_runner(&|k| vars.get(k).cloned()).unwrap()
}

fn defaults() -> Environments {
    Environments::new(&Config::default()).unwrap()
}

fn configured(yaml: &str) -> Environments {
    let config = Config::parse(yaml, Path::new("mfe-deploy.yml")).unwrap();
    config.validate(Path::new("mfe-deploy.yml")).unwrap();
    Environments::new(&config).unwrap()
}

#[derive(Debug, PartialEq)]
enum Want {
    Deploy(&'static str),
    Skip,
    Refuse,
    /// A pull request's preview over the environment.
    Preview(&'static str),
    /// The end of a pull request's preview over the environment.
    Close(&'static str),
}

fn known(environment: &str) -> &'static str {
    match environment {
        "production" => "production",
        "staging" => "staging",
        "development" => "development",
        "preview" => "preview",
        other => panic!("unexpected environment {other}"),
    }
}

fn outcome(envs: &Environments, t: &Trigger, requested: Option<&str>) -> Want {
    match envs.resolve(t, requested) {
        Ok(Resolution::Deploy { environment, .. }) => Want::Deploy(known(&environment)),
        Ok(Resolution::Preview { environment, .. }) => Want::Preview(known(&environment)),
        Ok(Resolution::ClosePreview { environment, .. }) => Want::Close(known(&environment)),
        Ok(Resolution::Skip { .. }) => Want::Skip,
        Err(ResolveError::Refused(_)) => Want::Refuse,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn default_mapping_covers_every_row_of_the_table() {
    /// (case, event, GITHUB_REF, payload fixture, `environment` input, outcome)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Want,
    );
    let rows: [Row; 24] = [
        (
            "push to master",
            "push",
            "refs/heads/master",
            "push_master.json",
            None,
            Want::Deploy("production"),
        ),
        (
            "push to main",
            "push",
            "refs/heads/main",
            "push_main.json",
            None,
            Want::Deploy("production"),
        ),
        (
            "push to stage",
            "push",
            "refs/heads/stage",
            "push_stage.json",
            None,
            Want::Deploy("staging"),
        ),
        (
            "push to a feature branch",
            "push",
            "refs/heads/feature/plan-picker",
            "push_feature.json",
            None,
            Want::Skip,
        ),
        (
            "push of a tag",
            "push",
            "refs/tags/v1.4.0",
            "push_tag.json",
            None,
            Want::Skip,
        ),
        (
            "deleted branch (runner points GITHUB_REF at the default branch)",
            "push",
            "refs/heads/master",
            "push_deleted.json",
            None,
            Want::Skip,
        ),
        (
            "pull request opened into stage",
            "pull_request",
            "refs/pull/42/merge",
            "pull_request_opened_into_stage.json",
            None,
            Want::Deploy("development"),
        ),
        (
            "pull request synchronized into stage",
            "pull_request",
            "refs/pull/42/merge",
            "pull_request_synchronize_into_stage.json",
            None,
            Want::Deploy("development"),
        ),
        (
            "pull request reopened into stage",
            "pull_request",
            "refs/pull/42/merge",
            "pull_request_reopened_into_stage.json",
            None,
            Want::Deploy("development"),
        ),
        (
            "pull request closed",
            "pull_request",
            "refs/pull/42/merge",
            "pull_request_closed_into_stage.json",
            None,
            Want::Skip,
        ),
        (
            "pull request labeled",
            "pull_request",
            "refs/pull/42/merge",
            "pull_request_labeled_into_stage.json",
            None,
            Want::Skip,
        ),
        (
            "pull request into master",
            "pull_request",
            "refs/pull/43/merge",
            "pull_request_opened_into_master.json",
            None,
            Want::Skip,
        ),
        (
            "pull request from a fork",
            "pull_request",
            "refs/pull/44/merge",
            "pull_request_from_fork_into_stage.json",
            None,
            Want::Skip,
        ),
        (
            "pull_request_target",
            "pull_request_target",
            "refs/heads/master",
            "pull_request_target_into_stage.json",
            None,
            Want::Refuse,
        ),
        (
            "manual run on master",
            "workflow_dispatch",
            "refs/heads/master",
            "workflow_dispatch_master.json",
            None,
            Want::Deploy("production"),
        ),
        (
            "manual run on stage",
            "workflow_dispatch",
            "refs/heads/stage",
            "workflow_dispatch_stage.json",
            None,
            Want::Deploy("staging"),
        ),
        (
            "manual run on a feature branch",
            "workflow_dispatch",
            "refs/heads/feature/plan-picker",
            "workflow_dispatch_feature.json",
            None,
            Want::Deploy("development"),
        ),
        (
            "manual run asking for development",
            "workflow_dispatch",
            "refs/heads/feature/plan-picker",
            "workflow_dispatch_feature.json",
            Some("development"),
            Want::Deploy("development"),
        ),
        (
            "manual run asking for production off-branch",
            "workflow_dispatch",
            "refs/heads/feature/plan-picker",
            "workflow_dispatch_feature_production.json",
            Some("production"),
            Want::Refuse,
        ),
        (
            "manual run on a tag",
            "workflow_dispatch",
            "refs/tags/v1.2.3",
            "workflow_dispatch_tag.json",
            None,
            Want::Skip,
        ),
        (
            "manual run on a tag asking for production",
            "workflow_dispatch",
            "refs/tags/v1.2.3",
            "workflow_dispatch_tag_production.json",
            Some("production"),
            Want::Refuse,
        ),
        (
            "manual run on a tag asking for development, which takes manual runs from anywhere",
            "workflow_dispatch",
            "refs/tags/v1.2.3",
            "workflow_dispatch_tag.json",
            Some("development"),
            Want::Refuse,
        ),
        (
            "push of a merge queue branch",
            "push",
            "refs/heads/gh-readonly-queue/master/pr-42-6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "push_merge_queue.json",
            None,
            Want::Skip,
        ),
        (
            "merge queue",
            "merge_group",
            "refs/heads/gh-readonly-queue/master/pr-42-6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "merge_group.json",
            None,
            Want::Skip,
        ),
    ];
    let envs = defaults();
    for (name, event, git_ref, fixture, requested, want) in rows {
        let t = trigger(event, git_ref, fixture);
        assert_eq!(outcome(&envs, &t, requested), want, "{name}: {t:?}");
    }
}

#[test]
fn other_events_are_skipped_with_the_reason() {
    let t = trigger("schedule", "refs/heads/master", "schedule.json");
    let Ok(Resolution::Skip { reason }) = defaults().resolve(&t, None) else {
        panic!()
    };
    assert!(reason.contains("`schedule` event"), "{reason}");
}

#[test]
fn reusable_workflow_sees_the_callers_event() {
    // Inside `on: workflow_call` the runner sets the caller's event name and payload.
    let t = trigger("push", "refs/heads/stage", "push_stage.json");
    assert_eq!(
        t,
        Trigger::Push {
            branch: "stage".to_owned()
        }
    );
    assert_eq!(outcome(&defaults(), &t, None), Want::Deploy("staging"));
}

#[test]
fn pull_request_branches_come_from_the_payload_not_the_merge_ref() {
    let t = trigger(
        "pull_request",
        "refs/pull/42/merge",
        "pull_request_opened_into_stage.json",
    );
    let Trigger::PullRequest(pr) = t else {
        panic!("{t:?}")
    };
    assert_eq!(
        (pr.base.as_str(), pr.head.as_str(), pr.number, pr.from_fork),
        ("stage", "feature/plan-picker", 42, false)
    );
    let fork = trigger(
        "pull_request",
        "refs/pull/44/merge",
        "pull_request_from_fork_into_stage.json",
    );
    assert!(matches!(
        fork,
        Trigger::PullRequest(PullRequest {
            from_fork: true,
            ..
        })
    ));
}

#[test]
fn a_pull_request_whose_payload_names_no_head_repository_is_treated_as_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    for payload in [
        r#"{"action": "opened", "number": 7, "pull_request": {"base": {"ref": "stage"}, "head": {"ref": "x"}}}"#,
        r#"{"action": "opened", "number": 7, "pull_request": {"base": {"ref": "stage", "repo": {"full_name": "acme/shop"}}, "head": {"ref": "x", "repo": null}}}"#,
        r#"{"action": "opened", "number": 7, "pull_request": {"base": {"ref": "stage"}, "head": {"ref": "x", "repo": {"full_name": "acme/shop", "fork": false}}}}"#,
    ] {
        let path = dir.path().join("event.json");
        std::fs::write(&path, payload).unwrap();
        let vars = |k: &str| match k {
            "GITHUB_EVENT_NAME" => Some("pull_request".to_owned()),
            "GITHUB_REF" => Some("refs/pull/7/merge".to_owned()),
            "GITHUB_EVENT_PATH" => Some(path.display().to_string()),
            _ => None,
        };
        let t = Trigger::from_runner(&vars).unwrap();
        let Trigger::PullRequest(pr) = &t else {
            panic!("{t:?}")
        };
        assert!(pr.from_fork, "{payload}");
        let Ok(Resolution::Skip { reason }) = defaults().resolve(&t, None) else {
            panic!("{payload}")
        };
        assert!(reason.contains("forks get no secrets"), "{reason}");
    }
}

#[test]
fn skip_reasons_say_why() {
    let envs = defaults();
    let fork = trigger(
        "pull_request",
        "refs/pull/44/merge",
        "pull_request_from_fork_into_stage.json",
    );
    let Ok(Resolution::Skip { reason }) = envs.resolve(&fork, None) else {
        panic!()
    };
    assert!(reason.contains("forks get no secrets"), "{reason}");
    let deleted = trigger("push", "refs/heads/master", "push_deleted.json");
    assert_eq!(
        deleted,
        Trigger::BranchDeleted {
            branch: "feature/old".to_owned()
        }
    );
    let Ok(Resolution::Skip { reason }) = envs.resolve(&deleted, None) else {
        panic!()
    };
    assert!(reason.contains("deleted branch"), "{reason}");
}

#[test]
fn pull_request_target_deploys_only_where_explicitly_allowed() {
    let t = trigger(
        "pull_request_target",
        "refs/heads/master",
        "pull_request_target_into_stage.json",
    );
    let Err(ResolveError::Refused(reason)) = defaults().resolve(&t, None) else {
        panic!()
    };
    assert!(reason.contains("allow-pull-request-target"), "{reason}");
    let envs = configured(
        "environments:\n  development:\n    pull-requests-into: [stage]\n    allow-pull-request-target: true\n    bucket: dev-bucket\n",
    );
    assert_eq!(envs.resolve(&t, None).unwrap(), Resolution::Deploy {
        environment: "development".to_owned(),
        reason: "pull_request_target #44 (opened) from `patch-1` into `stage` deploys to `development`, which sets `allow-pull-request-target: true`".to_owned(),
    });
}

#[test]
fn configured_globs_and_order_decide() {
    let envs = configured(
        "environments:\n  production:\n    branches: [main]\n  release:\n    branches: [\"release/*\"]\n  preview:\n    manual: [\"**\"]\n    pull-requests-into: [\"**\"]\n",
    );
    let push = |b: &str| Trigger::Push {
        branch: b.to_owned(),
    };
    let deploys = |t: &Trigger| match envs.resolve(t, None) {
        Ok(Resolution::Deploy { environment, .. }) => environment,
        other => format!("{other:?}"),
    };
    assert_eq!(deploys(&push("release/1.2")), "release");
    assert!(
        matches!(
            envs.resolve(&push("release/1.2/hotfix"), None),
            Ok(Resolution::Skip { .. })
        ),
        "* stays within one folder, as in GitHub's branch filters"
    );
    assert_eq!(
        deploys(&Trigger::Manual {
            branch: "main".to_owned()
        }),
        "production"
    );
    assert_eq!(
        deploys(&Trigger::Manual {
            branch: "x/y".to_owned()
        }),
        "preview"
    );
}

#[test]
fn requested_environment_must_exist_and_accept_the_ref() {
    let envs = defaults();
    let manual = Trigger::Manual {
        branch: "master".to_owned(),
    };
    let Err(ResolveError::Unknown { known, .. }) = envs.resolve(&manual, Some("qa")) else {
        panic!()
    };
    assert!(
        known.contains("production, staging, development"),
        "{known}"
    );
    assert_eq!(
        outcome(&envs, &manual, Some("development")),
        Want::Deploy("development")
    );
    assert_eq!(
        outcome(
            &envs,
            &Trigger::Push {
                branch: "stage".to_owned()
            },
            Some("production")
        ),
        Want::Refuse
    );
}

#[test]
fn manual_run_nowhere_is_refused_not_skipped() {
    let envs = configured("environments:\n  production:\n    branches: [main]\n");
    assert_eq!(
        outcome_named(
            &envs,
            &Trigger::Manual {
                branch: "feature/x".to_owned()
            }
        ),
        "refused"
    );
}

fn outcome_named(envs: &Environments, t: &Trigger) -> &'static str {
    match envs.resolve(t, None) {
        Ok(Resolution::Deploy { .. }) => "deploy",
        Ok(Resolution::Preview { .. }) => "preview",
        Ok(Resolution::ClosePreview { .. }) => "close preview",
        Ok(Resolution::Skip { .. }) => "skip",
        Err(_) => "refused",
    }
}

#[test]
fn local_runs_read_the_checked_out_branch() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/stage\n").unwrap();
    assert_eq!(
        Trigger::local(dir.path()),
        Trigger::Local {
            branch: Some("stage".to_owned())
        }
    );
    assert_eq!(
        outcome(&defaults(), &Trigger::local(dir.path()), None),
        Want::Deploy("staging")
    );
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(
        outcome(&defaults(), &Trigger::local(elsewhere.path()), None),
        Want::Deploy("development")
    );
}

#[test]
fn missing_event_name_is_an_error() {
    assert!(matches!(
        Trigger::from_runner(&|_| None),
        Err(EventError::NoEventName)
    ));
}

/// A config under which every branch, manual run and pull request deploys.
fn everything_deploys() -> Environments {
    configured(
        "environments:\n  preview:\n    branches: [\"**\"]\n    manual: [\"**\"]\n    pull-requests-into: [\"**\"]\n",
    )
}

/// The trigger for a run whose only facts are the event name and `GITHUB_REF` (no payload).
fn from_ref(event: &str, git_ref: &str) -> Trigger {
    let vars: HashMap<&str, &str> = [("GITHUB_EVENT_NAME", event), ("GITHUB_REF", git_ref)].into();
    Trigger::from_runner(&|k| vars.get(k).map(|v| (*v).to_owned())).unwrap()
}

#[test]
fn merge_queue_and_tag_refs_are_never_matched_against_branch_patterns() {
    const QUEUE: &str =
        "refs/heads/gh-readonly-queue/master/pr-42-6113728f27ae82c7b1a177c8d03f9e96e0adf246";
    /// (case, trigger, `environment` input, outcome, words the reason must hold)
    type Row = (
        &'static str,
        Trigger,
        Option<&'static str>,
        Want,
        &'static str,
    );
    let rows: Vec<Row> = vec![
        (
            "push of a merge queue branch, though `**` matches it",
            trigger("push", QUEUE, "push_merge_queue.json"),
            None,
            Want::Skip,
            "merge queue checks do not deploy",
        ),
        (
            "push of a merge queue branch for main, known only from GITHUB_REF",
            from_ref("push", "refs/heads/gh-readonly-queue/main/pr-12-abc"),
            None,
            Want::Skip,
            "merge queue check `refs/heads/gh-readonly-queue/main/pr-12-abc`",
        ),
        (
            "push of a merge queue branch asking for an environment that matches it",
            trigger("push", QUEUE, "push_merge_queue.json"),
            Some("preview"),
            Want::Skip,
            "merge queue checks do not deploy",
        ),
        (
            "merge_group event",
            trigger("merge_group", QUEUE, "merge_group.json"),
            None,
            Want::Skip,
            "merge queue checks do not deploy",
        ),
        (
            "manual run on a merge queue branch",
            from_ref("workflow_dispatch", QUEUE),
            None,
            Want::Skip,
            "merge queue checks do not deploy",
        ),
        (
            "branch that only mentions the queue further in",
            from_ref("push", "refs/heads/feature/gh-readonly-queue/x"),
            None,
            Want::Deploy("preview"),
            "push to `feature/gh-readonly-queue/x` matches the branches of `preview`",
        ),
        (
            "manual run on a tag, though `**` matches every branch",
            trigger(
                "workflow_dispatch",
                "refs/tags/v1.2.3",
                "workflow_dispatch_tag.json",
            ),
            None,
            Want::Skip,
            "manual run on tag `v1.2.3`: tags do not deploy",
        ),
        (
            "manual run on a tag naming an environment",
            trigger(
                "workflow_dispatch",
                "refs/tags/v1.2.3",
                "workflow_dispatch_tag_production.json",
            ),
            Some("preview"),
            Want::Refuse,
            "tags cannot deploy manually to `preview`, because environments accept manual runs by their `branches` and `manual` patterns",
        ),
        (
            "manual run on a ref that is neither branch nor tag",
            from_ref("workflow_dispatch", "refs/pull/42/merge"),
            None,
            Want::Skip,
            "`workflow_dispatch on refs/pull/42/merge` event",
        ),
    ];
    let envs = everything_deploys();
    for (name, t, requested, want, words) in rows {
        let reason = match envs.resolve(&t, requested) {
            Ok(
                Resolution::Deploy { reason, .. }
                | Resolution::Skip { reason }
                | Resolution::Preview { reason, .. }
                | Resolution::ClosePreview { reason, .. },
            ) => reason,
            Err(e) => e.to_string(),
        };
        assert_eq!(outcome(&envs, &t, requested), want, "{name}: {reason}");
        assert!(reason.contains(words), "{name}: {reason}");
    }
}

#[test]
fn merge_queue_and_tag_refs_are_read_from_the_payload() {
    assert_eq!(
        trigger(
            "push",
            "refs/heads/gh-readonly-queue/master/pr-42-6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "push_merge_queue.json"
        ),
        Trigger::MergeQueue {
            head_ref:
                "refs/heads/gh-readonly-queue/master/pr-42-6113728f27ae82c7b1a177c8d03f9e96e0adf246"
                    .to_owned()
        }
    );
    assert_eq!(
        trigger(
            "workflow_dispatch",
            "refs/tags/v1.2.3",
            "workflow_dispatch_tag.json"
        ),
        Trigger::ManualTag {
            tag: "v1.2.3".to_owned()
        }
    );
}

#[test]
fn manual_run_on_a_tag_naming_an_unknown_environment_says_it_is_unknown() {
    let t = Trigger::ManualTag {
        tag: "v1.2.3".to_owned(),
    };
    assert!(matches!(
        defaults().resolve(&t, Some("qa")),
        Err(ResolveError::Unknown { .. })
    ));
}

#[test]
fn a_pull_request_into_a_previewed_base_previews_and_its_close_ends_the_preview() {
    let envs = configured(
        "environments:\n  staging:\n    branches: [stage]\n    previews:\n      pull-requests-into: [stage]\n  development:\n    pull-requests-into: [stage]\n",
    );
    let rows = [
        (
            "pull_request_opened_into_stage.json",
            Want::Preview("staging"),
        ),
        (
            "pull_request_synchronize_into_stage.json",
            Want::Preview("staging"),
        ),
        (
            "pull_request_reopened_into_stage.json",
            Want::Preview("staging"),
        ),
        (
            "pull_request_closed_into_stage.json",
            Want::Close("staging"),
        ),
        ("pull_request_labeled_into_stage.json", Want::Skip),
        ("pull_request_from_fork_into_stage.json", Want::Skip),
    ];
    for (fixture, want) in rows {
        let t = trigger("pull_request", "refs/pull/42/merge", fixture);
        assert_eq!(outcome(&envs, &t, None), want, "{fixture}");
    }
    let opened = trigger(
        "pull_request",
        "refs/pull/42/merge",
        "pull_request_opened_into_stage.json",
    );
    let Ok(Resolution::Preview {
        number, head_sha, ..
    }) = envs.resolve(&opened, None)
    else {
        panic!()
    };
    assert_eq!((number, &head_sha[..7]), (42, "5e4e162"));
    // Without `previews`, the same pull request deploys to development as before.
    let plain = configured(
        "environments:\n  staging:\n    branches: [stage]\n  development:\n    pull-requests-into: [stage]\n",
    );
    assert_eq!(outcome(&plain, &opened, None), Want::Deploy("development"));
}
