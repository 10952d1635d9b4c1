//! Merge-queue and tag refs (never matched against branch patterns), and pull
//! request previews and their close.

use super::*;

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
