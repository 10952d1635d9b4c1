//! Deploys that must stop: an immutable key with other bytes, and a failure mid-phase.

use crate::common::*;

#[test]
fn immutable_key_with_other_bytes_is_refused_before_anything_is_written() {
    let (moto, bucket, ws) = setup("immutable");
    deployed(&ws, moto, "subscriptions", &bucket);
    let before = moto.requests(&bucket).len();
    let original = get(moto, &bucket, "subscriptions/plans.c26adcf8b3876430bc92.js");

    // Same hashed name, other bytes: the bundler's hashing is broken. Also edit the
    // entry so there is something the deploy would otherwise write.
    ws.write(
        "packages/subscriptions/dist/plans.c26adcf8b3876430bc92.js",
        b"console.log('not what the hash says')",
    );
    ws.write(
        "packages/subscriptions/dist/remoteEntry.js",
        b"// new entry",
    );
    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(step.code(), 1, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        text.contains("subscriptions/plans.c26adcf8b3876430bc92.js"),
        "{text}"
    );
    assert!(
        text.contains("hashing is broken or non-deterministic"),
        "{text}"
    );
    assert!(text.contains("Nothing was written"), "{text}");

    let writes = moto
        .requests(&bucket)
        .into_iter()
        .skip(before)
        .filter(|r| r.method != "GET" && r.method != "HEAD")
        .count();
    assert_eq!(writes, 0);
    assert_eq!(
        get(moto, &bucket, "subscriptions/plans.c26adcf8b3876430bc92.js"),
        original
    );
}

#[test]
fn failure_mid_phase_exits_1_names_what_made_it_and_never_publishes_entries() {
    let moto = Moto::start(&[]);
    let bucket = bucket(&moto, "mid-run");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}},{{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::{bucket}/checkout/*.js"}}]}}"#
    );
    let (key, secret) = iam_user(&moto, Some(&policy));
    enforce_auth(&moto);

    let ws = Workspace::example();
    let step = ActionStep::push(&ws, &moto, "checkout", &bucket)
        .credentials(&key, &secret)
        .run();
    assert_eq!(step.code(), 1, "{}", step.all_text());
    let summary = &step.summary;
    assert!(
        summary.contains("deploy failed in the assets phase"),
        "{summary}"
    );
    assert!(
        summary.contains("the entries and html phase(s) did not run"),
        "{summary}"
    );
    assert!(summary.contains("access denied: PutObject"), "{summary}");

    // No entry went live, and every object that did make it is named in the report.
    let reader = client(&moto.endpoint, &key, &secret);
    let landed: Vec<String> = block_on(reader.list_objects_v2().bucket(&bucket).send())
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert!(
        !landed.is_empty(),
        "some scripts were allowed and should have landed"
    );
    assert!(
        !landed
            .iter()
            .any(|k| k.ends_with("remoteEntry.js") || k.ends_with("mf-manifest.json")),
        "{landed:?}"
    );
    // The outputs say what was done before the run stopped.
    let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
    assert_eq!(results[0]["status"], "failed");
    assert_eq!(step.out("uploaded"), landed.len().to_string());
    assert_eq!(results[0]["uploaded"], landed.len());
    let reported = summary.split("Already uploaded").nth(1).unwrap_or_default();
    for key in &landed {
        let rel = key.trim_start_matches("checkout/");
        assert!(
            reported.contains(rel),
            "{rel} landed but is not reported:\n{summary}"
        );
    }
}

/// Starts a multipart upload of `key` and leaves it, as a killed run would.
fn abandoned_upload(moto: &Moto, bucket: &str, key: &str) -> String {
    let client = moto.client();
    let created = block_on(
        client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send(),
    )
    .unwrap();
    created.upload_id().unwrap().to_owned()
}

fn uploads(moto: &Moto, bucket: &str) -> Vec<String> {
    let client = moto.client();
    let listed = block_on(client.list_multipart_uploads().bucket(bucket).send()).unwrap();
    listed
        .uploads()
        .iter()
        .filter_map(|u| u.key().map(str::to_owned))
        .collect()
}

#[test]
fn incomplete_uploads_an_interrupted_run_left_are_aborted_by_the_next_deploy() {
    let (moto, bucket, ws) = setup("abandoned");
    abandoned_upload(moto, &bucket, "checkout/big.0a1b2c3d.bin");
    abandoned_upload(moto, &bucket, "other/big.0a1b2c3d.bin");

    // NOTE: moto reports every upload as initiated in 2010, so here both are older
    // than the bound; that a fresh one (maybe another run's) stays is proven on the
    // in-memory store (`cleanup::tests`).
    let step = deployed(&ws, moto, "checkout", &bucket);
    assert!(
        step.stderr()
            .contains("aborted 1 incomplete multipart upload(s)"),
        "{}",
        step.stderr()
    );
    assert_eq!(
        uploads(moto, &bucket),
        ["other/big.0a1b2c3d.bin"],
        "only the module's own prefix is cleaned"
    );
}
