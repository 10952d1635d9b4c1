//! Gradual rollouts against moto: a canary starts at N%, moves, is promoted or
//! aborted, each step a conditional write of the native manifest and a record; the
//! other formats keep the stable version; retention keeps the canary; concurrent
//! rollouts of different modules lose nothing.

use crate::common::*;

const CONFIG: &str = "retention:\n  keep-versions: 1\nenvironments:\n  production:\n    branches: [master]\n    manual: [\"**\"]\n    manifest-formats:\n      flat: remotes.json\n";

fn versioned<'a>(ws: &'a Workspace, moto: &Moto, package: &str, bucket: &str) -> ActionStep<'a> {
    ActionStep::push(ws, moto, package, bucket).input("mode", "versioned")
}

fn json(moto: &Moto, bucket: &str, key: &str) -> serde_json::Value {
    serde_json::from_slice(&get(moto, bucket, key)).unwrap()
}

fn result(step: &StepResult) -> serde_json::Value {
    let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
    results[0].clone()
}

fn edit(ws: &Workspace, package: &str, marker: &str) {
    ws.write(
        &format!("packages/{package}/dist/remoteEntry.js"),
        format!("/* {marker} */").as_bytes(),
    );
}

#[test]
fn a_canary_starts_moves_and_is_promoted_while_the_other_formats_keep_stable() {
    let (moto, bucket, ws) = setup("rollout");
    ws.write("mfe-deploy.yml", CONFIG.as_bytes());
    let v1 = versioned(&ws, moto, "checkout", &bucket).run();
    assert_eq!(v1.code(), 0, "{}", v1.all_text());
    let v1 = v1.out("version").to_owned();
    let flat = get(moto, &bucket, "remotes.json");

    edit(&ws, "checkout", "v2");
    let at10 = versioned(&ws, moto, "checkout", &bucket)
        .input("rollout", "10%")
        .run();
    assert_eq!(at10.code(), 0, "{}", at10.all_text());
    let v2 = at10.out("version").to_owned();
    assert_eq!(result(&at10)["status"], "canary");
    assert_eq!(
        result(&at10)["canary"],
        serde_json::json!({"version": v2, "percent": 10})
    );
    let entry = &json(moto, &bucket, "mfe-manifest.json")["modules"]["checkout"];
    assert_eq!(entry["version"], v1.as_str(), "stable stays: {entry}");
    assert_eq!(entry["canary"]["version"], v2.as_str());
    assert_eq!(entry["canary"]["percent"], 10);
    let rollout = entry["canary"]["rollout"].as_str().unwrap().to_owned();
    let started = entry["canary"]["started"].clone();
    assert_eq!(
        get(moto, &bucket, "remotes.json"),
        flat,
        "the flat format has no canary"
    );

    // The same build moves it; so does the version alone, with no build at hand.
    let at25 = versioned(&ws, moto, "checkout", &bucket)
        .input("rollout", "25%")
        .run();
    assert_eq!(at25.code(), 0, "{}", at25.all_text());
    assert_eq!(at25.out("uploaded"), "0");
    std::fs::remove_dir_all(ws.path().join("packages/checkout/dist")).unwrap();
    let at50 = versioned(&ws, moto, "checkout", &bucket)
        .input("rollout", "50%")
        .input("version", &v2)
        .run();
    assert_eq!(at50.code(), 0, "{}", at50.all_text());
    let entry = &json(moto, &bucket, "mfe-manifest.json")["modules"]["checkout"];
    assert_eq!(entry["canary"]["percent"], 50);
    assert_eq!(
        entry["canary"]["rollout"],
        rollout.as_str(),
        "one rollout: {entry}"
    );
    assert_eq!(entry["canary"]["started"], started);
    let all = keys(moto, &bucket);
    for version in [&v1, &v2] {
        assert!(
            all.contains(&format!("checkout/{version}/remoteEntry.js")),
            "retention (keep-versions: 1) kept the stable and the canary {version}"
        );
    }

    let promoted = versioned(&ws, moto, "checkout", &bucket)
        .input("rollout", "promote")
        .run();
    assert_eq!(promoted.code(), 0, "{}", promoted.all_text());
    assert_eq!(result(&promoted)["status"], "promoted");
    let entry = &json(moto, &bucket, "mfe-manifest.json")["modules"]["checkout"];
    assert_eq!(entry["version"], v2.as_str());
    assert_eq!(entry["previous"], v1.as_str());
    assert!(entry.get("canary").is_none(), "{entry}");
    let flat = json(moto, &bucket, "remotes.json");
    assert!(
        flat["checkout"].as_str().unwrap().contains(&v2),
        "promoted, every format names it: {flat}"
    );

    // `history` shows every step: who, when, how many.
    let output = cli_command(&ws)
        .args([
            "history", "--module", "checkout", "--json", "--bucket", &bucket,
        ])
        .args(["--endpoint-url", &moto.endpoint])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let steps: Vec<(String, Option<u64>)> = rows
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["rollout"]["percent"].as_u64(),
            )
        })
        .collect();
    let step = |kind: &str, percent: Option<u64>| (kind.to_owned(), percent);
    assert_eq!(
        steps,
        [
            step("deploy", None),
            step("canary", Some(10)),
            step("canary", Some(25)),
            step("canary", Some(50)),
            step("promote", Some(100)),
        ],
        "{rows:#}"
    );
    assert!(rows[0]["actor"].is_string() && rows[0]["time"].is_string());
}

#[test]
fn an_aborted_canary_leaves_stable_for_everyone_and_a_rollback_clears_one() {
    let (moto, bucket, ws) = setup("rollout-abort");
    ws.write("mfe-deploy.yml", CONFIG.as_bytes());
    let v1 = versioned(&ws, moto, "checkout", &bucket).run();
    assert_eq!(v1.code(), 0, "{}", v1.all_text());
    let before = get(moto, &bucket, "mfe-manifest.json");
    edit(&ws, "checkout", "v2");
    let canary = versioned(&ws, moto, "checkout", &bucket)
        .input("rollout", "10%")
        .run();
    assert_eq!(canary.code(), 0, "{}", canary.all_text());
    let aborted = versioned(&ws, moto, "checkout", &bucket)
        .input("rollout", "abort")
        .run();
    assert_eq!(aborted.code(), 0, "{}", aborted.all_text());
    assert_eq!(result(&aborted)["status"], "aborted");
    let entry = &json(moto, &bucket, "mfe-manifest.json")["modules"]["checkout"];
    let stable: serde_json::Value = serde_json::from_slice(&before).unwrap();
    assert_eq!(
        *entry, stable["modules"]["checkout"],
        "stable, as before the rollout"
    );

    // Abort again: nothing to abort is bad input, and nothing is written.
    let again = versioned(&ws, moto, "checkout", &bucket)
        .input("rollout", "abort")
        .run();
    assert_eq!(again.code(), 2, "{}", again.all_text());
    assert!(
        again.all_text().contains("has no canary live"),
        "{}",
        again.all_text()
    );

    // A rollback clears a canary.
    edit(&ws, "checkout", "v3");
    let canary = versioned(&ws, moto, "checkout", &bucket)
        .input("rollout", "20%")
        .run();
    assert_eq!(canary.code(), 0, "{}", canary.all_text());
    let back = versioned(&ws, moto, "checkout", &bucket)
        .event(
            "workflow_dispatch",
            "refs/heads/master",
            "workflow_dispatch_master.json",
        )
        .input("rollback-to", v1.out("version"))
        .run();
    assert_eq!(back.code(), 0, "{}", back.all_text());
    let entry = &json(moto, &bucket, "mfe-manifest.json")["modules"]["checkout"];
    assert!(entry.get("canary").is_none(), "{entry}");
}

#[test]
fn sixteen_concurrent_rollout_steps_of_different_modules_lose_nothing() {
    let (moto, bucket, ws) = setup("rollout-16");
    ws.write("mfe-deploy.yml", CONFIG.as_bytes());
    let modules: Vec<String> = (1..=16).map(|i| format!("m{i:02}")).collect();
    let source = ws.dist("subscriptions");
    for module in &modules {
        for file in walk(&source) {
            let rel = file.strip_prefix(&source).unwrap();
            ws.write(
                &format!("packages/{module}/dist/{}", rel.display()),
                &std::fs::read(&file).unwrap(),
            );
        }
        ws.write(
            &format!("packages/{module}/dist/mf-manifest.json"),
            format!(r#"{{"id": "{module}", "name": "{module}"}}"#).as_bytes(),
        );
        let stable = versioned(&ws, moto, module, &bucket).run();
        assert_eq!(stable.code(), 0, "{}", stable.all_text());
        edit(&ws, module, &format!("{module} canary"));
    }
    let steps: Vec<StepResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = modules
            .iter()
            .enumerate()
            .map(|(i, module)| {
                let (ws, bucket) = (&ws, &bucket);
                let percent = format!("{}%", 5 + i);
                scope.spawn(move || {
                    versioned(ws, moto, module, bucket)
                        .input("rollout", &percent)
                        .run()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let native = json(moto, &bucket, "mfe-manifest.json");
    for (i, (module, step)) in modules.iter().zip(&steps).enumerate() {
        assert_eq!(step.code(), 0, "{}", step.all_text());
        let entry = &native["modules"][module];
        assert_eq!(entry["canary"]["version"], step.out("version"), "{module}");
        assert_eq!(entry["canary"]["percent"], 5 + i, "{module}");
    }
}
