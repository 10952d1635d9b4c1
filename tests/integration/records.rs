//! Deploy records, conditional writes and the reserved prefix, against moto.

use std::sync::Arc;

use sha2::Digest as _;

use crate::common::*;

const MODULE: &str = "_mfe-deploy/modules/subscriptions/";

fn record_keys(moto: &Moto, bucket: &str, module: &str) -> Vec<String> {
    keys(moto, bucket)
        .into_iter()
        .filter(|k| k.starts_with(&format!("_mfe-deploy/modules/{module}/records/")))
        .collect()
}

fn json(moto: &Moto, bucket: &str, key: &str) -> serde_json::Value {
    serde_json::from_slice(&get(moto, bucket, key)).unwrap()
}

#[test]
fn the_record_names_every_published_key_with_its_sha256_and_who_deployed_it() {
    let (moto, bucket, ws) = setup("record");
    let step = deployed(&ws, moto, "subscriptions", &bucket);

    let records = record_keys(moto, &bucket, "subscriptions");
    assert_eq!(records.len(), 1);
    let record = json(moto, &bucket, &records[0]);
    assert_eq!(record["schema"], "mfe-deploy/record@1");
    assert_eq!(record["kind"], "deploy");
    assert_eq!(record["module"], "subscriptions");
    assert_eq!(record["environment"], "production");
    assert_eq!(record["version"], step.out("version"));
    assert_eq!(record["commit"], "5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e");
    assert_eq!(record["ref"], "refs/heads/master");
    assert_eq!(record["actor"], "octocat");
    assert_eq!(
        record["run-url"],
        "https://github.com/acme/storefront/actions/runs/7301234567/attempts/1"
    );
    let files = record["files"].as_object().unwrap();
    let dist = ws.dist("subscriptions");
    let local = walk(&dist);
    assert_eq!(files.len(), local.len());
    for path in local {
        let rel = path
            .strip_prefix(&dist)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let entry = &files[&rel];
        let key = format!("subscriptions/{rel}");
        assert_eq!(entry["key"], key);
        let bytes = std::fs::read(&path).unwrap();
        let sha = hex(&sha2::Sha256::digest(&bytes));
        assert_eq!(entry["sha256"], sha, "{rel}");
        assert_eq!(entry["size"], bytes.len());
        assert_eq!(get(moto, &bucket, &key), bytes, "{key} is in the bucket");
    }
    let pointer = json(moto, &bucket, &format!("{MODULE}latest.json"));
    assert_eq!(pointer["latest"], records[0].as_str());
    assert!(
        step.summary.contains(records[0].as_str()),
        "{}",
        step.summary
    );

    // A rebuild records nothing new; an edit records the new version, naming the old.
    ws.rebuild_same_bytes("subscriptions");
    deployed(&ws, moto, "subscriptions", &bucket);
    assert_eq!(record_keys(moto, &bucket, "subscriptions").len(), 1);
    ws.write("packages/subscriptions/dist/remoteEntry.js", b"// v2");
    let third = deployed(&ws, moto, "subscriptions", &bucket);
    let records = record_keys(moto, &bucket, "subscriptions");
    assert_eq!(records.len(), 2);
    let newest = json(moto, &bucket, records.iter().max().unwrap());
    assert_eq!(newest["previous-version"], step.out("version"));
    assert_eq!(third.out("previous-version"), step.out("version"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_object_carries_the_sha256_of_its_bytes() {
    let (moto, bucket, ws) = setup("sha-meta");
    deployed(&ws, moto, "checkout", &bucket);
    let client = moto.client();
    let head = block_on(
        client
            .head_object()
            .bucket(&bucket)
            .key("checkout/remoteEntry.js")
            .send(),
    )
    .unwrap();
    let bytes = std::fs::read(ws.dist("checkout").join("remoteEntry.js")).unwrap();
    assert_eq!(
        head.metadata().and_then(|m| m.get("sha256")).cloned(),
        Some(hex(&sha2::Sha256::digest(&bytes)))
    );
}

#[test]
fn every_upload_is_signed_with_the_sha256_the_scan_computed_and_carries_it_as_its_checksum() {
    let (moto, bucket, ws) = setup("signed-payload");
    // Over 256 KiB: streamed from disk rather than read into memory.
    let streamed: Vec<u8> = (0..300 * 1024).map(|i| (i % 251) as u8).collect();
    ws.write("packages/checkout/dist/vendor.0a1b2c3d4e5f.js", &streamed);
    let before = moto.requests(&bucket).len();
    deployed(&ws, moto, "checkout", &bucket);
    let dist = ws.dist("checkout");
    let uploads: Vec<_> = moto
        .requests(&bucket)
        .into_iter()
        .skip(before)
        .filter(|r| r.is_upload() && r.key.starts_with("checkout/"))
        .collect();
    assert_eq!(uploads.len(), walk(&dist).len());
    for upload in &uploads {
        let bytes = std::fs::read(dist.join(&upload.key["checkout/".len()..])).unwrap();
        let sha256 = sha2::Sha256::digest(&bytes);
        assert_eq!(upload.content_sha256, Some(hex(&sha256)), "{}", upload.key);
        // New files: no MD5 is computed for them; the store checks the SHA-256.
        assert_eq!(
            upload.checksum_sha256,
            Some(aws_smithy_types::base64::encode(sha256)),
            "{}",
            upload.key
        );
        assert_eq!(upload.content_md5, None, "{}", upload.key);
    }
    // The store kept it as the object's checksum.
    let head = block_on(
        moto.client()
            .head_object()
            .bucket(&bucket)
            .key("checkout/vendor.0a1b2c3d4e5f.js")
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send(),
    )
    .unwrap();
    assert_eq!(
        head.checksum_sha256(),
        Some(aws_smithy_types::base64::encode(sha2::Sha256::digest(&streamed)).as_str())
    );
}

/// A proxy in front of `moto` that, right before the deploy's PUT of `key`, has
/// another writer store `bytes` there.
fn racing_writer(moto: &Moto, bucket: &str, key: &'static str, bytes: Vec<u8>) -> FaultProxy {
    let proxy = FaultProxy::start(&moto.endpoint);
    let (endpoint, race_bucket) = (moto.endpoint.clone(), bucket.to_owned());
    proxy.add(Rule {
        method: "PUT",
        target_prefix: format!("/{bucket}/{key}?"),
        fault: Fault::Before(Arc::new(move || {
            let other = client(&endpoint, ACCESS_KEY, SECRET_KEY);
            let put = other
                .put_object()
                .bucket(&race_bucket)
                .key(key)
                .body(bytes.clone().into())
                .send();
            block_on(put).unwrap();
        })),
        times: Some(1),
    });
    proxy
}

const CHUNK: &str = "subscriptions/plans.c26adcf8b3876430bc92.js";

#[test]
fn a_writer_that_fills_a_hashed_key_between_plan_and_write_is_refused_and_nothing_later_goes_live()
{
    let (moto, bucket, ws) = setup("race");
    let theirs = b"console.log('another build')".to_vec();
    let proxy = racing_writer(moto, &bucket, CHUNK, theirs.clone());

    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .run();

    assert_eq!(step.code(), 1, "{}", step.all_text());
    let text = step.all_text();
    assert!(text.contains("appeared with other bytes"), "{text}");
    assert_eq!(get(moto, &bucket, CHUNK), theirs);
    let stored = keys(moto, &bucket);
    assert!(
        !stored
            .iter()
            .any(|k| k.ends_with("remoteEntry.js") || k.ends_with("mf-manifest.json")),
        "{stored:?}"
    );
    assert!(record_keys(moto, &bucket, "subscriptions").is_empty());
    let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
    assert_eq!(results[0]["status"], "failed");
}

#[test]
fn a_writer_that_stores_the_same_bytes_first_is_no_conflict() {
    let (moto, bucket, ws) = setup("race-same");
    let same = std::fs::read(
        ws.dist("subscriptions")
            .join("plans.c26adcf8b3876430bc92.js"),
    )
    .unwrap();
    let proxy = racing_writer(moto, &bucket, CHUNK, same);

    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .run();

    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert!(keys(moto, &bucket).contains(&"subscriptions/remoteEntry.js".to_owned()));
}

#[test]
fn a_failed_invalidation_is_owed_and_a_clean_rerun_makes_it_and_exits_0() {
    let (moto, bucket, ws) = setup("owed");
    ws.write(
        "mfe-deploy.yml",
        b"requests:\n  attempt-timeout: 5\n  max-attempts: 2\n",
    );
    let distribution = create_distribution(moto, &bucket, "");
    let first = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());

    ws.write("packages/main/dist/index.html", b"<!doctype html><p>v2</p>");
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.add(Rule {
        method: "POST",
        target_prefix: format!("/2020-05-31/distribution/{distribution}/invalidation"),
        fault: Fault::Answer {
            status: 500,
            body: "<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error></ErrorResponse>".to_owned(),
        },
        times: None,
    });
    let failed = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .input("endpoint-url", &proxy.endpoint)
        .run();
    assert_eq!(failed.code(), 1, "{}", failed.all_text());
    assert_eq!(
        failed.out("uploaded"),
        "1",
        "outputs are written on failure"
    );
    assert_eq!(failed.out("invalidation-id"), "");
    let results: serde_json::Value = serde_json::from_str(failed.out("results")).unwrap();
    assert_eq!(results[0]["status"], "failed");
    assert_eq!(results[0]["uploaded"], 1);
    assert!(invalidations(moto, &distribution).is_empty());
    let pointer = json(moto, &bucket, "_mfe-deploy/modules/main/latest.json");
    let mut owed: Vec<String> = serde_json::from_value(pointer["owed"]["paths"].clone()).unwrap();
    owed.sort();
    assert_eq!(owed, ["/main/", "/main/index.html"]);

    // "Re-run failed jobs": nothing to upload, and the CDN is made fresh.
    let rerun = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(rerun.code(), 0, "{}", rerun.all_text());
    assert_eq!(rerun.out("uploaded"), "0");
    let id = rerun.out("invalidation-id");
    assert!(!id.is_empty(), "{}", rerun.all_text());
    let created = invalidations(moto, &distribution);
    assert_eq!(created.len(), 1);
    let mut sent = created[0].1.clone();
    sent.sort();
    assert_eq!(sent, owed);
    let pointer = json(moto, &bucket, "_mfe-deploy/modules/main/latest.json");
    assert!(pointer["owed"].is_null(), "{pointer}");
}

#[test]
fn a_state_left_by_an_earlier_release_moves_out_of_the_module_prefix() {
    let (moto, bucket, ws) = setup("migrate");
    deployed(&ws, moto, "subscriptions", &bucket);
    let client = moto.client();
    let state = get(moto, &bucket, &format!("{MODULE}state.json"));
    block_on(
        client
            .put_object()
            .bucket(&bucket)
            .key("subscriptions/.mfe-deploy/state.json")
            .body(state.clone().into())
            .send(),
    )
    .unwrap();
    block_on(
        client
            .delete_object()
            .bucket(&bucket)
            .key(format!("{MODULE}state.json"))
            .send(),
    )
    .unwrap();
    let before = moto.requests(&bucket).len();

    let step = deployed(&ws, moto, "subscriptions", &bucket);

    assert_eq!(step.out("uploaded"), "0");
    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(before).collect();
    assert_eq!(
        requests.iter().filter(|r| r.method == "HEAD").count(),
        0,
        "the old state still vouches for every file"
    );
    let stored = keys(moto, &bucket);
    assert!(
        !stored.contains(&"subscriptions/.mfe-deploy/state.json".to_owned()),
        "{stored:?}"
    );
    assert_eq!(get(moto, &bucket, &format!("{MODULE}state.json")), state);
}

#[test]
fn a_role_that_may_not_read_the_shell_still_deploys_a_remote_with_an_audit_finding() {
    // S3 enforces IAM; CloudFront lives on a second emulator, because moto cannot
    // authenticate CloudFront requests at all. One endpoint routes to both.
    let s3 = Moto::start(&[]);
    let cdn = shared();
    let bucket = bucket(&s3, "least-privilege");
    let distribution = create_distribution(
        cdn,
        &bucket,
        "config['DefaultRootObject'] = 'main/index.html'",
    );
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{bucket}"}},
            {{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::{bucket}/checkout/*","arn:aws:s3:::{bucket}/_mfe-deploy/modules/checkout/*"]}}
        ]}}"#
    );
    let (key, secret) = iam_user(&s3, Some(&policy));
    enforce_auth(&s3);
    let router = FaultProxy::routed(&s3.endpoint, &cdn.endpoint);

    let ws = Workspace::example();
    let step = ActionStep::push(&ws, &s3, "checkout", &bucket)
        .credentials(&key, &secret)
        .input("distribution-id", &distribution)
        .input("endpoint-url", &router.endpoint)
        .run();

    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert!(
        step.stdout().contains("could not check s3://"),
        "a warning annotation says what could not be checked:\n{}",
        step.stdout()
    );
    assert!(step.summary.contains("could not check"), "{}", step.summary);
    assert_ne!(step.out("uploaded"), "0");
    assert!(
        router
            .seen()
            .iter()
            .any(|r| r.starts_with(&format!("HEAD /{bucket}/main/index.html"))),
        "the denied HEAD was made: {:?}",
        router.seen()
    );
}
