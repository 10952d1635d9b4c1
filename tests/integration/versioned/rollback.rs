//! Rolling a versioned module back: to the previous version, to a named one, and
//! refused for a version that is missing or incomplete.

use super::*;

/// Deploys two versions of `subscriptions`; returns their labels.
fn two_versions(moto: &Moto, bucket: &str, ws: &Workspace) -> (String, String) {
    let first = versioned(ws, moto, "subscriptions", bucket).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    ws.write("packages/subscriptions/dist/remoteEntry.js", b"// v2 entry");
    let second = versioned(ws, moto, "subscriptions", bucket).run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    (
        first.out("version").to_owned(),
        second.out("version").to_owned(),
    )
}

fn rollback<'a>(ws: &'a Workspace, moto: &Moto, bucket: &str, to: &str) -> ActionStep<'a> {
    versioned(ws, moto, "subscriptions", bucket)
        .event(
            "workflow_dispatch",
            "refs/heads/master",
            "workflow_dispatch_master.json",
        )
        .input("rollback-to", to)
}

fn live_version(moto: &Moto, bucket: &str) -> String {
    json(moto, bucket, "mfe-manifest.json")["modules"]["subscriptions"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn rollback_to_previous_repoints_the_manifest_uploads_nothing_and_is_recorded() {
    let (moto, bucket, ws) = setup("rollback-prev");
    let (v1, v2) = two_versions(moto, &bucket, &ws);
    // Another module in the same manifest is left alone.
    let other = versioned(&ws, moto, "checkout", &bucket).run();
    assert_eq!(other.code(), 0, "{}", other.all_text());
    // The build folder is gone: a rollback never reads it.
    std::fs::remove_dir_all(ws.dist("subscriptions")).unwrap();
    let before = moto.requests(&bucket).len();

    let step = rollback(&ws, moto, &bucket, "previous").run();

    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(live_version(moto, &bucket), v1);
    assert_eq!(step.out("version"), v1);
    assert_eq!(step.out("previous-version"), v2);
    assert_eq!(step.out("uploaded"), "0");
    let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
    assert_eq!(results[0]["status"], "rolled-back");
    let native = json(moto, &bucket, "mfe-manifest.json");
    assert_eq!(
        native["modules"]["checkout"]["version"],
        other.out("version")
    );
    let entry = &native["modules"]["subscriptions"];
    assert_eq!(entry["previous"], v2.as_str());
    assert_eq!(
        entry["entry"],
        format!("https://shop.example.com/subscriptions/{v1}/remoteEntry.js")
    );
    let puts: Vec<_> = moto
        .requests(&bucket)
        .into_iter()
        .skip(before)
        .filter(|r| r.method == "PUT")
        .map(|r| r.key)
        .collect();
    assert!(
        puts.iter()
            .all(|k| k == "mfe-manifest.json" || k.starts_with("_mfe-deploy/")),
        "only the manifest and the tool's own objects are written: {puts:?}"
    );
    let rollback_records: Vec<serde_json::Value> = keys(moto, &bucket)
        .into_iter()
        .filter(|k| k.starts_with("_mfe-deploy/modules/subscriptions/records/"))
        .map(|k| json(moto, &bucket, &k))
        .filter(|r| r["kind"] == "rollback")
        .collect();
    assert_eq!(rollback_records.len(), 1);
    assert_eq!(rollback_records[0]["version"], v1.as_str());
    assert_eq!(rollback_records[0]["previous-version"], v2.as_str());

    // Previous again goes back to v2: `previous` toggles like `cd -`.
    let again = rollback(&ws, moto, &bucket, "previous").run();
    assert_eq!(again.code(), 0, "{}", again.all_text());
    assert_eq!(live_version(moto, &bucket), v2);

    // `history` lists it all from the records, newest first.
    let history = json_output(cli_command(&ws).args([
        "history",
        "--module",
        "subscriptions",
        "--bucket",
        &bucket,
        "--endpoint-url",
        &moto.endpoint,
        "--json",
    ]));
    let rows: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("rollback".to_owned(), v2.clone()),
            ("rollback".to_owned(), v1.clone()),
            ("deploy".to_owned(), v2.clone()),
            ("deploy".to_owned(), v1.clone()),
        ]
    );
    assert_eq!(history[0]["actor"], "octocat");
    assert!(history[0]["manifest-revision"].is_string(), "{history}");
}

#[test]
fn rollback_to_an_explicit_version() {
    let (moto, bucket, ws) = setup("rollback-explicit");
    let (v1, _) = two_versions(moto, &bucket, &ws);
    ws.write("packages/subscriptions/dist/remoteEntry.js", b"// v3 entry");
    let third = versioned(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(third.code(), 0, "{}", third.all_text());

    let step = rollback(&ws, moto, &bucket, &v1).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(live_version(moto, &bucket), v1);
}

#[test]
fn rollback_to_a_missing_or_incomplete_version_is_refused_and_the_manifest_unchanged() {
    let (moto, bucket, ws) = setup("rollback-refused");
    let (v1, _) = two_versions(moto, &bucket, &ws);
    let manifest = get(moto, &bucket, "mfe-manifest.json");

    let missing = rollback(&ws, moto, &bucket, "nosuchversion").run();
    assert_eq!(missing.code(), 1, "{}", missing.all_text());
    assert!(
        missing.all_text().contains("never deployed here"),
        "{}",
        missing.all_text()
    );
    assert_eq!(get(moto, &bucket, "mfe-manifest.json"), manifest);

    // Someone removed a chunk of v1.
    let client = moto.client();
    block_on(
        client
            .delete_object()
            .bucket(&bucket)
            .key(format!("subscriptions/{v1}/plans.c26adcf8b3876430bc92.js"))
            .send(),
    )
    .unwrap();
    let incomplete = rollback(&ws, moto, &bucket, &v1).run();
    assert_eq!(incomplete.code(), 1, "{}", incomplete.all_text());
    let text = incomplete.all_text();
    assert!(text.contains("is incomplete"), "{text}");
    assert!(text.contains("plans.c26adcf8b3876430bc92.js"), "{text}");
    assert_eq!(get(moto, &bucket, "mfe-manifest.json"), manifest);
}
