//! Deploys of the example monorepo in action mode, checked through the S3 API and
//! moto's request recording.

use crate::common::*;

const SUBSCRIPTIONS_FILES: usize = 12;

#[test]
fn first_deploy_uploads_every_file_with_its_policy_and_reports_it() {
    let (moto, bucket, ws) = setup("first-deploy");
    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("public-url", "https://shop.example.com")
        .run();
    assert_eq!(step.code(), 0, "{}", step.all_text());

    assert_eq!(step.out("uploaded"), SUBSCRIPTIONS_FILES.to_string());
    assert_eq!(step.out("unchanged"), "0");
    assert_eq!(step.out("deleted"), "0");
    assert_eq!(step.out("skipped"), "false");
    assert_eq!(step.out("environment"), "production");
    assert_eq!(step.out("invalidation-id"), "");
    assert_eq!(step.out("invalidation-paths"), "[]");
    assert_eq!(
        step.out("entry-url"),
        "https://shop.example.com/subscriptions/remoteEntry.js"
    );
    let bytes: u64 = walk(&ws.dist("subscriptions"))
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(step.out("bytes-uploaded"), bytes.to_string());
    assert_eq!(step.out("version").len(), 12);

    let keys = keys(moto, &bucket);
    let (tool, build): (Vec<&String>, Vec<&String>) =
        keys.iter().partition(|k| k.starts_with("_mfe-deploy/"));
    assert_eq!(build.len(), SUBSCRIPTIONS_FILES, "{keys:?}");
    assert!(
        build.iter().all(|k| k.starts_with("subscriptions/")),
        "the module prefix holds the build and nothing else: {keys:?}"
    );
    let module = "_mfe-deploy/modules/subscriptions/";
    assert!(tool.contains(&&format!("{module}state.json")), "{keys:?}");
    assert!(tool.contains(&&format!("{module}latest.json")), "{keys:?}");
    assert_eq!(
        tool.iter()
            .filter(|k| k.starts_with(&format!("{module}records/")))
            .count(),
        1,
        "{keys:?}"
    );
    let expect = [
        (
            "subscriptions/remoteEntry.js",
            "no-cache",
            "text/javascript; charset=utf-8",
        ),
        (
            "subscriptions/mf-manifest.json",
            "no-cache",
            "application/json; charset=utf-8",
        ),
        (
            "subscriptions/plans.c26adcf8b3876430bc92.js",
            "public, max-age=31536000, immutable",
            "text/javascript; charset=utf-8",
        ),
        (
            "subscriptions/__federation_expose_Widget.5add7282c0bb401072e6.css",
            "public, max-age=31536000, immutable",
            "text/css; charset=utf-8",
        ),
        (
            "subscriptions/assets/icon.236fd66d3db34a57978c.svg",
            "public, max-age=31536000, immutable",
            "image/svg+xml; charset=utf-8",
        ),
        (
            "subscriptions/assets/badge.d51044b4726936c00c54.png",
            "public, max-age=31536000, immutable",
            "image/png",
        ),
        (
            "subscriptions/mf-stats.json",
            "public, max-age=300",
            "application/json; charset=utf-8",
        ),
    ];
    for (key, cache_control, content_type) in expect {
        let (cc, ct, _) = head(moto, &bucket, key);
        assert_eq!(
            (cc.as_str(), ct.as_str()),
            (cache_control, content_type),
            "{key}"
        );
    }
    let local = std::fs::read(ws.dist("subscriptions").join("remoteEntry.js")).unwrap();
    assert_eq!(get(moto, &bucket, "subscriptions/remoteEntry.js"), local);

    assert!(
        step.summary.contains("#### Caching policy"),
        "{}",
        step.summary
    );
    assert!(
        step.summary
            .contains("| entry | `no-cache` | 2: `mf-manifest.json`, `remoteEntry.js` |"),
        "{}",
        step.summary
    );
    assert!(
        step.summary
            .contains(&format!("| Uploaded | {SUBSCRIPTIONS_FILES} files")),
        "{}",
        step.summary
    );
}

#[test]
fn rebuild_with_new_mtimes_uploads_nothing_and_makes_no_per_file_requests() {
    let (moto, bucket, ws) = setup("rebuild");
    let first = ActionStep::push(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let before = moto.requests(&bucket).len();

    ws.rebuild_same_bytes("subscriptions");
    let second = ActionStep::push(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    assert_eq!(second.out("uploaded"), "0");
    assert_eq!(second.out("unchanged"), SUBSCRIPTIONS_FILES.to_string());
    assert_eq!(second.out("bytes-uploaded"), "0");
    assert_eq!(second.out("version"), first.out("version"));

    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(before).collect();
    let puts = requests.iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 0, "{requests:?}");
    // The module's LIST page and the state GET, the pointer GET and the LIST of
    // incomplete uploads: nothing per file. The state names the record the pointer
    // names, so the records are not listed.
    assert_eq!(
        requests.iter().filter(|r| r.is_list()).count(),
        1,
        "{requests:?}"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.query.starts_with("uploads"))
            .count(),
        1,
        "{requests:?}"
    );
    assert_eq!(requests.len(), 4, "{requests:?}");
    // The binary's own count agrees with what the server recorded.
    assert!(
        second.stderr().contains(
            "requests: LIST 2, GET 2, HEAD 0, PUT 0, COPY 0, MULTIPART 0, DELETE 0; 0 bytes sent"
        ),
        "{}",
        second.stderr()
    );
}

#[test]
fn one_edited_entry_is_the_only_upload() {
    let (moto, bucket, ws) = setup("one-entry");
    deployed(&ws, moto, "subscriptions", &bucket);
    let before = moto.requests(&bucket).len();

    let entry = ws.dist("subscriptions").join("remoteEntry.js");
    let mut bytes = std::fs::read(&entry).unwrap();
    bytes.extend_from_slice(b"\n//# edited\n");
    std::fs::write(&entry, &bytes).unwrap();
    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(step.out("uploaded"), "1");
    assert_eq!(step.out("unchanged"), (SUBSCRIPTIONS_FILES - 1).to_string());

    let uploads: Vec<_> = moto
        .requests(&bucket)
        .into_iter()
        .skip(before)
        .filter(Recorded::is_upload)
        .map(|r| r.key)
        .collect();
    assert!(
        uploads[0].starts_with("_mfe-deploy/in-flight/subscriptions/"),
        "first what the run will publish: {uploads:?}"
    );
    assert_eq!(uploads[1], "subscriptions/remoteEntry.js");
    assert!(
        uploads[2..]
            .iter()
            .all(|k| k.starts_with("_mfe-deploy/modules/")),
        "then the state, the record and the pointer: {uploads:?}"
    );
    assert_eq!(uploads.len(), 5, "{uploads:?}");
    assert_eq!(get(moto, &bucket, "subscriptions/remoteEntry.js"), bytes);
}

#[test]
fn uploads_follow_the_safe_order_assets_entries_html_then_state_and_record() {
    let (moto, bucket, ws) = setup("order");
    let step = ActionStep::push(&ws, moto, "main", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let order: Vec<String> = moto
        .requests(&bucket)
        .into_iter()
        .filter(Recorded::is_upload)
        .map(|r| r.key)
        .collect();
    let rank = |key: &str| {
        let name = key.rsplit('/').next().unwrap_or(key);
        match name {
            _ if key.starts_with("_mfe-deploy/in-flight/") => -1,
            _ if key.starts_with("_mfe-deploy/") => 3,
            "index.html" => 2,
            "remoteEntry.js" | "mf-manifest.json" => 1,
            _ => 0,
        }
    };
    let ranks: Vec<_> = order.iter().map(|k| rank(k)).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "out of order: {order:?}"
    );
    assert_eq!(ranks.iter().filter(|r| **r == -1).count(), 1, "one intent");
    assert_eq!(ranks.iter().filter(|r| **r == 2).count(), 1);
    assert_eq!(ranks.iter().filter(|r| **r == 3).count(), 3);
    assert_eq!(step.out("entry-url"), "");
}

#[test]
fn caching_policy_change_rewrites_headers_without_resending_bytes() {
    let (moto, bucket, ws) = setup("policy");
    deployed(&ws, moto, "main", &bucket);
    let before = moto.requests(&bucket).len();
    let (_, _, etag_before) = head(moto, &bucket, "main/robots.txt");

    ws.write(
        "mfe-deploy.yml",
        b"caching:\n  cache-control:\n    other: public, max-age=60\n",
    );
    let step = ActionStep::push(&ws, moto, "main", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(step.out("uploaded"), "0");
    // robots.txt, favicon.ico and mf-stats.json are the shell's short-lived files.
    assert_eq!(step.out("headers-updated"), "3");

    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(before).collect();
    let copies: Vec<_> = requests
        .iter()
        .filter(|r| r.is_copy())
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(copies.len(), 3, "{requests:?}");
    assert!(copies.contains(&"main/robots.txt"));
    let uploads: Vec<_> = requests
        .iter()
        .filter(|r| r.is_upload())
        .map(|r| r.key.as_str())
        .collect();
    assert!(
        uploads
            .iter()
            .all(|k| k.starts_with("_mfe-deploy/modules/main/")
                || k.starts_with("_mfe-deploy/in-flight/main/")),
        "bytes are not sent again: {uploads:?}"
    );

    let (cache_control, content_type, etag_after) = head(moto, &bucket, "main/robots.txt");
    assert_eq!(cache_control, "public, max-age=60");
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert_eq!(etag_after, etag_before);
}

#[test]
fn losing_everything_under_the_reserved_prefix_uploads_nothing_and_reads_headers_once() {
    let (moto, bucket, ws) = setup("adopt");
    let first = deployed(&ws, moto, "subscriptions", &bucket);
    // Lose the records, the pointer and the state cache (or: another tool uploaded
    // the same files).
    let client = moto.client();
    for key in keys(moto, &bucket) {
        if key.starts_with("_mfe-deploy/") {
            block_on(client.delete_object().bucket(&bucket).key(&key).send()).unwrap();
        }
    }
    let before = moto.requests(&bucket).len();

    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(step.out("uploaded"), "0");
    assert_eq!(step.out("headers-updated"), "0");
    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(before).collect();
    assert_eq!(
        requests.iter().filter(|r| r.method == "HEAD").count(),
        SUBSCRIPTIONS_FILES
    );
    let uploads: Vec<_> = requests
        .iter()
        .filter(|r| r.is_upload())
        .map(|r| r.key.as_str())
        .collect();
    assert!(
        uploads.iter().all(|k| k.starts_with("_mfe-deploy/")),
        "{uploads:?}"
    );
    // The version is recorded again, naming every file.
    let records: Vec<String> = keys(moto, &bucket)
        .into_iter()
        .filter(|k| k.starts_with("_mfe-deploy/modules/subscriptions/records/"))
        .collect();
    assert_eq!(records.len(), 1);
    let record: serde_json::Value =
        serde_json::from_slice(&get(moto, &bucket, &records[0])).unwrap();
    assert_eq!(record["version"], first.out("version"));
    assert_eq!(
        record["files"].as_object().unwrap().len(),
        SUBSCRIPTIONS_FILES
    );
}

#[test]
fn dry_run_prints_the_whole_plan_and_writes_nothing() {
    let (moto, bucket, ws) = setup("dry-run");
    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("dry-run", "true")
        .run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let stdout = step.stdout();
    assert!(
        stdout.contains(&format!("Plan for s3://{bucket}/subscriptions/")),
        "{stdout}"
    );
    assert!(stdout.contains("phase 1 · assets"), "{stdout}");
    let entry = stdout
        .lines()
        .find(|l| l.contains("remoteEntry.js ("))
        .unwrap_or_default();
    for column in [
        "upload (new)",
        "entry",
        "no-cache",
        "text/javascript; charset=utf-8",
    ] {
        assert!(entry.contains(column), "{column} missing in {entry:?}");
    }
    assert_eq!(step.out("uploaded"), "0", "a dry run sends nothing");
    let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
    assert_eq!(results[0]["status"], "planned");
    assert_eq!(results[0]["uploaded"], SUBSCRIPTIONS_FILES);
    assert!(step.summary.contains("**Dry run**"));
    assert!(keys(moto, &bucket).is_empty());
    assert!(
        moto.requests(&bucket).iter().all(|r| r.method == "GET"
            || r.method == "HEAD"
            || r.key.is_empty() && r.method == "PUT")
    );
}

#[test]
fn plan_subcommand_prints_the_same_plan_locally() {
    let (moto, bucket, ws) = setup("cli-plan");
    let output = cli_command(&ws)
        .args([
            "plan",
            "--package",
            "packages/checkout",
            "--bucket",
            &bucket,
            "--endpoint-url",
            &moto.endpoint,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("Plan for s3://{bucket}/checkout/")),
        "{stdout}"
    );
    assert!(stdout.contains("items.2738bcefd8210fa92271.js"), "{stdout}");
    assert!(stdout.contains("would upload 14 file(s)"), "{stdout}");
    assert!(
        !stdout.contains("::"),
        "no workflow commands outside the runner: {stdout}"
    );
    assert!(keys(moto, &bucket).is_empty());
}

#[test]
fn unhashed_scripts_get_warning_annotations_naming_the_file_and_the_fix() {
    let (moto, bucket, ws) = setup("unhashed");
    ws.write("packages/checkout/dist/legacy.js", b"window.legacy = 1;");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let stdout = step.stdout();
    let warning = stdout
        .lines()
        .find(|l| l.starts_with("::warning file=packages/checkout/dist/legacy.js,"))
        .unwrap_or_else(|| panic!("no annotation in {stdout}"));
    assert!(warning.contains("[name].[contenthash].js"), "{warning}");
    assert_eq!(
        head(moto, &bucket, "checkout/legacy.js").0,
        "public, max-age=300"
    );
}

#[test]
fn large_file_goes_up_in_parts_and_is_recognised_as_unchanged_without_state() {
    let moto = Moto::start(&[]);
    let bucket = bucket(&moto, "multipart");
    let ws = Workspace::example();
    let big: Vec<u8> = (0..(17 * 1024 * 1024 + 3))
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    ws.write(
        "packages/checkout/dist/assets/video.0a1b2c3d4e5f6a7b.mp4",
        &big,
    );
    let first = ActionStep::push(&ws, &moto, "checkout", &bucket).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let (_, content_type, etag) =
        head(&moto, &bucket, "checkout/assets/video.0a1b2c3d4e5f6a7b.mp4");
    assert!(etag.ends_with("-3"), "multipart ETag expected, got {etag}");
    assert_eq!(content_type, "video/mp4");
    assert_eq!(
        get(&moto, &bucket, "checkout/assets/video.0a1b2c3d4e5f6a7b.mp4"),
        big
    );

    // Without the state, the multipart ETag itself must prove the bytes unchanged.
    let client = moto.client();
    block_on(
        client
            .delete_object()
            .bucket(&bucket)
            .key("checkout/.mfe-deploy/state.json")
            .send(),
    )
    .unwrap();
    ws.rebuild_same_bytes("checkout");
    let second = ActionStep::push(&ws, &moto, "checkout", &bucket).run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    assert_eq!(second.out("uploaded"), "0");
    assert_eq!(second.out("unchanged"), "15");
}

#[test]
fn a_long_listing_is_complete_and_still_one_page_per_thousand_objects() {
    let (moto, bucket, ws) = setup("pages");
    let icon = |i: usize| format!("icons/i{i:04}.{:016x}.svg", i * 7919 + 1);
    for i in 0..2_100 {
        ws.write(
            &format!("packages/checkout/dist/{}", icon(i)),
            format!("<svg id='{i}'/>").as_bytes(),
        );
    }
    deployed(&ws, moto, "checkout", &bucket);
    // Gone behind the state's back, one from each range after the first page: the
    // ranges the state foresees must still list what is really there.
    let client = moto.client();
    for i in [1_500, 2_050] {
        block_on(
            client
                .delete_object()
                .bucket(&bucket)
                .key(format!("checkout/{}", icon(i)))
                .send(),
        )
        .unwrap();
    }
    let before = moto.requests(&bucket).len();
    let step = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(step.out("uploaded"), "2", "{}", step.all_text());
    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(before).collect();
    let lists: Vec<_> = requests.iter().filter(|r| r.is_list()).collect();
    assert_eq!(lists.len(), 3, "{lists:?}");
    assert!(
        lists
            .iter()
            .skip(1)
            .all(|r| r.query.contains("start-after=")),
        "the pages after the first start after a key the state names: {lists:?}"
    );
}
