//! Events and payloads: skips and their reasons, reusable workflows, pull requests
//! and forks, configured environments, manual and local runs.

use super::*;

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
