//! Pull-request previews against moto: each pull request gets its own overlay over
//! the environment's live manifest, nothing of the environment changes, and a closed
//! pull request leaves nothing behind.

use crate::common::*;

const CONFIG: &str = "retention:\n  keep-versions: 1\nenvironments:\n  staging:\n    branches: [stage]\n    previews:\n      pull-requests-into: [stage]\n      public-url: https://preview.stage.example.com\n";

fn staging<'a>(ws: &'a Workspace, moto: &Moto, package: &str, bucket: &str) -> ActionStep<'a> {
    ActionStep::push(ws, moto, package, bucket)
        .input("mode", "versioned")
        .event("push", "refs/heads/stage", "push_stage.json")
}

fn pull_request<'a>(
    ws: &'a Workspace,
    moto: &Moto,
    package: &str,
    bucket: &str,
    fixture: &'a str,
) -> ActionStep<'a> {
    ActionStep::push(ws, moto, package, bucket).event("pull_request", "refs/pull/42/merge", fixture)
}

fn json(moto: &Moto, bucket: &str, key: &str) -> serde_json::Value {
    serde_json::from_slice(&get(moto, bucket, key)).unwrap()
}

/// The keys of the environment: its manifest, the manifest's history, the modules'
/// records (not the previews' own).
fn environment_keys(moto: &Moto, bucket: &str) -> Vec<String> {
    keys(moto, bucket)
        .into_iter()
        .filter(|k| {
            k == "mfe-manifest.json"
                || k.starts_with("_mfe-deploy/manifests/")
                || k.starts_with("_mfe-deploy/modules/")
        })
        .collect()
}

/// A pull request event payload for `number` at `sha`, written under `dir`.
fn payload(dir: &std::path::Path, number: u64, action: &str, sha: &str) -> String {
    let path = dir.join(format!("pr-{number}-{action}.json"));
    let body = serde_json::json!({
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "base": {"ref": "stage", "repo": {"full_name": "acme/storefront"}},
            "head": {"ref": format!("feature/{number}"), "sha": sha, "repo": {"full_name": "acme/storefront"}},
        },
    });
    std::fs::write(&path, body.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn pull_requests_preview_over_staging_each_in_its_own_overlay_and_closing_leaves_nothing() {
    let (moto, bucket, ws) = setup("previews");
    ws.write("mfe-deploy.yml", CONFIG.as_bytes());
    for module in ["checkout", "subscriptions"] {
        let step = staging(&ws, moto, module, &bucket).run();
        assert_eq!(step.code(), 0, "{}", step.all_text());
    }
    let manifest = get(moto, &bucket, "mfe-manifest.json");
    let environment = environment_keys(moto, &bucket);

    // At once: PR 42 previews two modules (one overlay names both), and PR 43 the
    // same checkout (its own overlay).
    let opened = "pull_request_opened_into_stage.json";
    let dir = tempfile::tempdir().unwrap();
    let pr43 = payload(
        dir.path(),
        43,
        "opened",
        "abcdef0123456789abcdef0123456789abcdef01",
    );
    let runs = [
        ("checkout", opened),
        ("subscriptions", opened),
        ("checkout", pr43.as_str()),
    ];
    let mut steps: Vec<StepResult> = std::thread::scope(|s| {
        let runs: Vec<_> = runs
            .map(|(m, event)| {
                let (ws, bucket) = (&ws, &bucket);
                s.spawn(move || pull_request(ws, moto, m, bucket, event).run())
            })
            .into_iter()
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let step = steps.pop().unwrap();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(step.out("version"), "pr-43-abcdef0");
    for step in &steps {
        assert_eq!(step.code(), 0, "{}", step.all_text());
        assert_eq!(step.out("version"), "pr-42-5e4e162");
        assert_eq!(
            step.out("preview-url"),
            "https://preview.stage.example.com?mfe-preview=pr-42"
        );
        let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
        assert_eq!(results[0]["status"], "previewed", "{results}");
        assert!(
            step.summary.contains("mfe-preview=pr-42"),
            "{}",
            step.summary
        );
    }
    let overlay = json(moto, &bucket, "mfe-manifest.pr-42.json");
    for module in ["checkout", "subscriptions"] {
        let entry = &overlay["modules"][module];
        assert_eq!(entry["version"], "pr-42-5e4e162", "{overlay}");
        assert_eq!(
            entry["entry"],
            format!("/{module}/pr-42-5e4e162/remoteEntry.js"),
            "root-relative, served on the preview host too: {overlay}"
        );
    }
    assert_eq!(
        get(moto, &bucket, "mfe-manifest.json"),
        manifest,
        "byte for byte"
    );
    assert_eq!(environment_keys(moto, &bucket), environment);

    let overlay43 = json(moto, &bucket, "mfe-manifest.pr-43.json");
    assert_eq!(overlay43["modules"]["checkout"]["version"], "pr-43-abcdef0");
    assert!(
        overlay43["modules"].get("subscriptions").is_none(),
        "{overlay43}"
    );

    // A new push to PR 42 replaces its checkout entry, and keeps subscriptions'.
    ws.write(
        "packages/checkout/dist/remoteEntry.js",
        b"/* pr 42, second push */",
    );
    let sync = "pull_request_synchronize_into_stage.json";
    let step = pull_request(&ws, moto, "checkout", &bucket, sync).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let overlay = json(moto, &bucket, "mfe-manifest.pr-42.json");
    assert_eq!(overlay["modules"]["checkout"]["version"], "pr-42-0c18d9d");
    assert_eq!(
        overlay["modules"]["subscriptions"]["version"],
        "pr-42-5e4e162"
    );

    // Staging moves on with retention keeping one version: the live previews stay.
    ws.write(
        "packages/checkout/dist/remoteEntry.js",
        b"/* staging, next */",
    );
    let step = staging(&ws, moto, "checkout", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let all = keys(moto, &bucket);
    for version in ["pr-42-0c18d9d", "pr-43-abcdef0"] {
        assert!(
            all.contains(&format!("checkout/{version}/remoteEntry.js")),
            "retention kept the live preview {version}: {all:?}"
        );
    }
    let manifest = get(moto, &bucket, "mfe-manifest.json");
    let environment = environment_keys(moto, &bucket);

    // PR 42 closes: its overlay and files go; PR 43's and staging's stay.
    let closed = "pull_request_closed_into_stage.json";
    for module in ["checkout", "subscriptions"] {
        let step = pull_request(&ws, moto, module, &bucket, closed).run();
        assert_eq!(step.code(), 0, "{}", step.all_text());
        let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
        assert_eq!(results[0]["status"], "preview-closed", "{results}");
    }
    let all = keys(moto, &bucket);
    assert!(
        !all.contains(&"mfe-manifest.pr-42.json".to_owned()),
        "{all:?}"
    );
    assert!(
        !all.iter()
            .any(|k| k.contains("/pr-42-") && !k.starts_with("_mfe-deploy/")),
        "every file of PR 42 is gone: {all:?}"
    );
    assert!(all.contains(&"mfe-manifest.pr-43.json".to_owned()));
    assert!(all.contains(&"checkout/pr-43-abcdef0/remoteEntry.js".to_owned()));
    assert_eq!(get(moto, &bucket, "mfe-manifest.json"), manifest);
    assert_eq!(environment_keys(moto, &bucket), environment);
    assert!(
        all.iter()
            .any(|k| k.starts_with("_mfe-deploy/previews/pr-42/modules/checkout/records/")),
        "the close is recorded: {all:?}"
    );
}

#[test]
fn the_previews_command_lists_live_previews_and_closes_or_prunes_them() {
    let (moto, bucket, ws) = setup("previews-cli");
    let config = CONFIG.replace(
        "    branches: [stage]\n",
        "    branches: [stage]\n    manual: [\"**\"]\n",
    ) + "      keep-days: 1\n";
    ws.write("mfe-deploy.yml", config.as_bytes());
    let step = staging(&ws, moto, "checkout", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let dir = tempfile::tempdir().unwrap();
    for number in [7, 8] {
        let sha = format!("{number}{}", "0".repeat(39));
        let event = payload(dir.path(), number, "opened", &sha);
        for module in ["checkout", "subscriptions"] {
            let step = pull_request(&ws, moto, module, &bucket, &event).run();
            assert_eq!(step.code(), 0, "{}", step.all_text());
        }
    }
    let previews = |extra: &[&str]| {
        let mut command = cli_command(&ws);
        command.args([
            "previews",
            "--environment",
            "staging",
            "--bucket",
            &bucket,
            "--endpoint-url",
            &moto.endpoint,
        ]);
        command.args(extra);
        command.output().unwrap()
    };
    let listed = previews(&["--json"]);
    assert!(listed.status.success(), "{listed:?}");
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert_eq!(rows[0]["pull-request"], 7);
    assert_eq!(rows[0]["modules"]["checkout"], "pr-7-7000000");
    assert_eq!(
        rows[0]["url"],
        "https://preview.stage.example.com?mfe-preview=pr-7"
    );

    let closed = previews(&["--close", "7"]);
    let text = String::from_utf8_lossy(&closed.stdout);
    assert!(
        closed.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&closed.stderr)
    );
    assert!(text.contains("preview-closed"), "{text}");
    let all = keys(moto, &bucket);
    assert!(
        !all.contains(&"mfe-manifest.pr-7.json".to_owned()),
        "{all:?}"
    );
    assert!(
        !all.iter()
            .any(|k| k.starts_with("checkout/pr-7-") || k.starts_with("subscriptions/pr-7-"))
    );
    assert!(all.contains(&"checkout/pr-8-8000000/remoteEntry.js".to_owned()));

    // Nothing is older than `keep-days: 1` yet: `--prune` ends nothing.
    let pruned = previews(&["--prune"]);
    assert!(pruned.status.success(), "{pruned:?}");
    assert!(keys(moto, &bucket).contains(&"mfe-manifest.pr-8.json".to_owned()));
}
