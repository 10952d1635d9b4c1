//! Retention against moto: the window is respected, the cap aborts the whole
//! deletion, other modules are untouched, a dry run deletes nothing, and in versioned
//! mode the live version and the history's are kept.

use crate::common::*;

/// Puts one extra content-hashed chunk `chunk.<n>.js` in the build in place of the
/// earlier ones: each is a new version.
fn next_chunk(ws: &Workspace, n: u32) {
    for old in 0..n {
        let _ = std::fs::remove_file(
            ws.dist("subscriptions")
                .join(format!("chunk.{old:016x}.js")),
        );
    }
    ws.write(
        &format!("packages/subscriptions/dist/chunk.{n:016x}.js"),
        format!("console.log({n})").as_bytes(),
    );
}

fn deploy_version(ws: &Workspace, moto: &Moto, bucket: &str, n: u32) -> StepResult {
    next_chunk(ws, n);
    deployed(ws, moto, "subscriptions", bucket)
}

fn chunk(n: u32) -> String {
    format!("subscriptions/chunk.{n:016x}.js")
}

#[test]
fn objects_no_kept_record_references_go_and_the_window_stays() {
    let (moto, bucket, ws) = setup("retain");
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 2\n");
    deploy_version(&ws, moto, &bucket, 1);
    let second = deploy_version(&ws, moto, &bucket, 2);
    assert_eq!(second.out("deleted"), "0", "two versions are kept");
    let third = deploy_version(&ws, moto, &bucket, 3);
    assert_eq!(third.out("deleted"), "1", "{}", third.all_text());
    let keys = keys(moto, &bucket);
    assert!(!keys.contains(&chunk(1)), "v1's own chunk went");
    assert!(
        keys.contains(&chunk(2)) && keys.contains(&chunk(3)),
        "{keys:?}"
    );
    assert!(keys.contains(&"subscriptions/remoteEntry.js".to_owned()));
    assert!(
        keys.iter()
            .any(|k| k.starts_with("_mfe-deploy/modules/subscriptions/records/")),
        "records are never deleted"
    );
}

#[test]
fn more_than_max_deletions_deletes_nothing_and_fails_saying_why() {
    let (moto, bucket, ws) = setup("retain-cap");
    ws.write(
        "mfe-deploy.yml",
        b"retention:\n  keep-versions: 1\n  max-deletions: 0\n",
    );
    deploy_version(&ws, moto, &bucket, 1);
    next_chunk(&ws, 2);
    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(step.code(), 1, "{}", step.all_text());
    assert!(
        step.all_text().contains("max-deletions: 0"),
        "{}",
        step.all_text()
    );
    assert!(
        keys(moto, &bucket).contains(&chunk(1)),
        "nothing was deleted"
    );
    assert_eq!(step.out("deleted"), "0");
}

#[test]
fn other_modules_and_nested_ones_are_untouched_and_a_dry_run_deletes_nothing() {
    let (moto, bucket, ws) = setup("retain-others");
    // A module nested inside this one's prefix, and a neighbour.
    deployed_with(
        &ws,
        moto,
        "checkout",
        &bucket,
        &[("prefix", "subscriptions/cart")],
    );
    deployed(&ws, moto, "main", &bucket);
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 1\n");
    deploy_version(&ws, moto, &bucket, 1);
    let before = keys(moto, &bucket);

    next_chunk(&ws, 2);
    let dry = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("dry-run", "true")
        .run();
    assert_eq!(dry.code(), 0, "{}", dry.all_text());
    assert!(
        dry.stdout().contains(&format!("    {}", chunk(1))),
        "the dry run lists it:\n{}",
        dry.stdout()
    );
    assert_eq!(dry.out("deleted"), "0");
    assert_eq!(keys(moto, &bucket), before, "a dry run deletes nothing");

    let step = deploy_version(&ws, moto, &bucket, 2);
    assert_eq!(step.out("deleted"), "1", "{}", step.all_text());
    let after = keys(moto, &bucket);
    for key in before
        .iter()
        .filter(|k| !k.starts_with("subscriptions/") || k.starts_with("subscriptions/cart/"))
    {
        assert!(after.contains(key), "{key} is another module's");
    }
    assert!(!after.contains(&chunk(1)));
}

#[test]
fn versioned_mode_keeps_the_live_version_and_those_the_window_history_names() {
    let (moto, bucket, ws) = setup("retain-versioned");
    let step = |ws: &Workspace| {
        ActionStep::push(ws, moto, "subscriptions", &bucket)
            .input("mode", "versioned")
            .run()
    };
    ws.write(
        "mfe-deploy.yml",
        b"retention:\n  keep-versions: 1\n  keep-days: 30\n",
    );
    let v1 = step(&ws);
    assert_eq!(v1.code(), 0, "{}", v1.all_text());
    ws.write("packages/subscriptions/dist/remoteEntry.js", b"// v2");
    let v2 = step(&ws);
    assert_eq!(v2.code(), 0, "{}", v2.all_text());
    assert_eq!(v2.out("deleted"), "0", "v1 was live within the window");

    // Without the day window only the newest version (the live one) stays.
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 1\n");
    ws.write("packages/subscriptions/dist/remoteEntry.js", b"// v3");
    let v3 = step(&ws);
    assert_eq!(v3.code(), 0, "{}", v3.all_text());
    let keys = keys(moto, &bucket);
    let v1_prefix = format!("subscriptions/{}/", v1.out("version"));
    assert!(!keys.iter().any(|k| k.starts_with(&v1_prefix)), "{keys:?}");
    let v3_prefix = format!("subscriptions/{}/", v3.out("version"));
    assert!(keys.iter().any(|k| k.starts_with(&v3_prefix)));
    assert!(keys.contains(&"mfe-manifest.json".to_owned()));
    assert!(
        keys.iter().any(|k| k.starts_with("_mfe-deploy/manifests/")),
        "history stays"
    );
}

#[test]
fn prune_does_only_retention_and_says_when_there_are_no_records() {
    let (moto, bucket, ws) = setup("prune");
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 1\n");
    let put_legacy = || {
        let client = moto.client();
        block_on(
            client
                .put_object()
                .bucket(&bucket)
                .key("subscriptions/legacy.js")
                .body(b"x".to_vec().into())
                .send(),
        )
        .unwrap();
    };
    let prune = |extra: &[&str]| {
        let mut command = cli_command(&ws);
        command.args([
            "prune",
            "--package",
            "packages/subscriptions",
            "--bucket",
            &bucket,
            "--endpoint-url",
            &moto.endpoint,
        ]);
        command.args(extra);
        command.output().unwrap()
    };
    // An object another tool put there, and no records: nothing goes.
    put_legacy();
    let none = prune(&[]);
    assert!(
        none.status.success(),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    assert!(String::from_utf8_lossy(&none.stdout).contains("has no deploy records yet"));
    assert!(keys(moto, &bucket).contains(&"subscriptions/legacy.js".to_owned()));

    // A deploy writes the first record (and its retention removes the stray object).
    let step = deployed(&ws, moto, "subscriptions", &bucket);
    assert_eq!(step.out("deleted"), "1");
    put_legacy();
    let before = moto.requests(&bucket).len();
    let dry = prune(&["--dry-run"]);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("subscriptions/legacy.js"));
    assert!(keys(moto, &bucket).contains(&"subscriptions/legacy.js".to_owned()));
    let pruned = prune(&[]);
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    assert!(String::from_utf8_lossy(&pruned.stdout).contains("deleted 1 object(s)"));
    assert!(!keys(moto, &bucket).contains(&"subscriptions/legacy.js".to_owned()));
    // With `endpoint-url` it asks the store about conditional writes on a scratch
    // object under the reserved prefix, and removes it; nothing else is written.
    let uploads: Vec<String> = moto
        .requests(&bucket)
        .into_iter()
        .skip(before)
        .filter(Recorded::is_upload)
        .map(|r| r.key)
        .filter(|k| !k.starts_with("_mfe-deploy/probe/"))
        .collect();
    assert_eq!(uploads, Vec::<String>::new(), "prune uploads nothing");
    assert!(
        !keys(moto, &bucket)
            .iter()
            .any(|k| k.starts_with("_mfe-deploy/probe/"))
    );
}

/// `mfe-deploy prune` of the subscriptions module, straight to moto.
fn prune_command(dir: &std::path::Path, moto: &Moto, bucket: &str) -> std::process::Command {
    let mut command = cli_command_in(dir);
    command.args([
        "prune",
        "--package",
        "packages/subscriptions",
        "--bucket",
        bucket,
        "--endpoint-url",
        &moto.endpoint,
    ]);
    command
}

#[test]
fn keep_days_alone_never_deletes_the_live_in_place_build() {
    let (moto, bucket, ws) = setup("retain-days-alone");
    // A day is 0 days here: every record is already older than the window.
    ws.write("mfe-deploy.yml", b"retention:\n  keep-days: 0\n");
    deploy_version(&ws, moto, &bucket, 1);
    let second = deploy_version(&ws, moto, &bucket, 2);
    assert_eq!(second.out("deleted"), "1", "{}", second.all_text());
    let live: Vec<String> = keys(moto, &bucket)
        .into_iter()
        .filter(|k| k.starts_with("subscriptions/"))
        .collect();
    assert!(
        live.contains(&chunk(2)) && !live.contains(&chunk(1)),
        "{live:?}"
    );

    let unchanged = deployed(&ws, moto, "subscriptions", &bucket);
    assert_eq!(unchanged.out("uploaded"), "0");
    assert_eq!(unchanged.out("deleted"), "0", "{}", unchanged.all_text());
    let pruned = prune_command(ws.path(), moto, &bucket).output().unwrap();
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    let after: Vec<String> = keys(moto, &bucket)
        .into_iter()
        .filter(|k| k.starts_with("subscriptions/"))
        .collect();
    assert_eq!(after, live, "the live build is whole");
}

#[test]
fn a_versioned_deploy_held_mid_upload_loses_nothing_to_a_prune_keeping_one_version() {
    let (moto, bucket, ws) = setup("retain-in-flight");
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 1\n");
    let step = |ws: &Workspace, version: &str, endpoint: &str| {
        ActionStep::push(ws, moto, "subscriptions", &bucket)
            .input("mode", "versioned")
            .input("version", version)
            .input("endpoint-url", endpoint)
            .run()
    };
    let v1 = step(&ws, "v1", &moto.endpoint);
    assert_eq!(v1.code(), 0, "{}", v1.all_text());
    next_chunk(&ws, 2);

    // v2's chunks are up and its entry is on its way when another run prunes.
    let proxy = FaultProxy::start(&moto.endpoint);
    let pruned = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (slot, dir, b) = (pruned.clone(), ws.path().to_owned(), bucket.clone());
    proxy.add(Rule {
        method: "PUT",
        target_prefix: format!("/{bucket}/subscriptions/v2/remoteEntry.js"),
        fault: Fault::Before(std::sync::Arc::new(move || {
            let output = prune_command(&dir, moto, &b).output().unwrap();
            *slot.lock().unwrap() = Some(output);
        })),
        times: Some(1),
    });
    let v2 = step(&ws, "v2", &proxy.endpoint);
    assert_eq!(v2.code(), 0, "{}", v2.all_text());

    let output = pruned
        .lock()
        .unwrap()
        .take()
        .expect("the prune ran mid-deploy");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("deletes 0 object(s)"), "{printed}");
    let keys = keys(moto, &bucket);
    for rel in ["remoteEntry.js", &format!("chunk.{:016x}.js", 2)] {
        let key = format!("subscriptions/v2/{rel}");
        assert!(keys.contains(&key), "{key} is still there: {keys:?}");
    }
    assert!(
        !keys.iter().any(|k| k.starts_with("_mfe-deploy/in-flight/")),
        "the deploy removed its intent: {keys:?}"
    );
}
