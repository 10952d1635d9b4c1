//! No request hangs: a request that is accepted and never answered ends in a retry,
//! and a stall that persists ends the run with exit 1 and nothing after it published.
//! The fault proxy sits between the binary and moto.

use crate::common::*;

/// Small bounds so a stall costs seconds: 2 s an attempt, 3 attempts.
const FAST_BOUNDS: &str = "requests:\n  connect-timeout: 2\n  attempt-timeout: 2\n  timeout-per-mib: 1\n  max-attempts: 3\n";

fn stall(proxy: &FaultProxy, method: &'static str, target: String, times: Option<usize>) {
    proxy.add(Rule {
        method,
        target_prefix: target,
        fault: Fault::Stall,
        times,
    });
}

#[test]
fn a_stalled_upload_is_retried_and_the_deploy_completes() {
    let (moto, bucket, ws) = setup("stall-once");
    ws.write("mfe-deploy.yml", FAST_BOUNDS.as_bytes());
    let proxy = FaultProxy::start(&moto.endpoint);
    let entry = format!("/{bucket}/subscriptions/remoteEntry.js?");
    stall(&proxy, "PUT", entry.clone(), Some(1));

    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .deadline(std::time::Duration::from_secs(60))
        .run();

    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(proxy.faulted().len(), 1, "{:?}", proxy.seen());
    let puts = proxy
        .seen()
        .into_iter()
        .filter(|r| r.starts_with(&format!("PUT {entry}")))
        .count();
    assert_eq!(puts, 2, "the stalled PUT is sent again");
    assert_eq!(
        get(moto, &bucket, "subscriptions/remoteEntry.js"),
        std::fs::read(ws.dist("subscriptions").join("remoteEntry.js")).unwrap()
    );
}

#[test]
fn a_stall_that_persists_fails_the_run_and_publishes_nothing_after_it() {
    let (moto, bucket, ws) = setup("stall-always");
    ws.write("mfe-deploy.yml", FAST_BOUNDS.as_bytes());
    let proxy = FaultProxy::start(&moto.endpoint);
    let chunk = format!("/{bucket}/checkout/items.2738bcefd8210fa92271.js?");
    stall(&proxy, "PUT", chunk.clone(), None);

    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .deadline(std::time::Duration::from_secs(120))
        .run();

    assert_eq!(step.code(), 1, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        text.contains("checkout/items.2738bcefd8210fa92271.js"),
        "{text}"
    );
    assert_eq!(
        proxy.faulted().len(),
        3,
        "every attempt was made: {:?}",
        proxy.faulted()
    );
    let stored = keys(moto, &bucket);
    assert!(
        !stored
            .iter()
            .any(|k| k.ends_with("remoteEntry.js") || k.ends_with("mf-manifest.json")),
        "no entry goes live while a chunk is missing: {stored:?}"
    );
}

#[test]
fn a_stalled_listing_is_retried() {
    let (moto, bucket, ws) = setup("stall-list");
    ws.write("mfe-deploy.yml", FAST_BOUNDS.as_bytes());
    let proxy = FaultProxy::start(&moto.endpoint);
    stall(&proxy, "GET", format!("/{bucket}/?list-type=2"), Some(1));

    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .deadline(std::time::Duration::from_secs(60))
        .run();

    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(proxy.faulted().len(), 1, "{:?}", proxy.seen());
    assert!(keys(moto, &bucket).contains(&"subscriptions/remoteEntry.js".to_owned()));
}

#[test]
fn bounds_out_of_range_are_config_errors_naming_the_key() {
    let (moto, bucket, ws) = setup("bad-bounds");
    ws.write("mfe-deploy.yml", b"requests:\n  max-attempts: 0\n");
    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    assert!(
        step.all_text().contains("requests.max-attempts"),
        "{}",
        step.all_text()
    );
    assert!(keys(moto, &bucket).is_empty());
}

#[test]
fn throttled_requests_are_retried_within_the_attempts() {
    let (moto, bucket, ws) = setup("slowdown");
    ws.write("mfe-deploy.yml", FAST_BOUNDS.as_bytes());
    let proxy = FaultProxy::start(&moto.endpoint);
    let entry = format!("/{bucket}/subscriptions/remoteEntry.js?");
    proxy.add(Rule {
        method: "PUT",
        target_prefix: entry.clone(),
        fault: Fault::Answer {
            status: 503,
            body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".to_owned(),
        },
        times: Some(2),
    });

    let step = ActionStep::push(&ws, moto, "subscriptions", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .run();

    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(proxy.faulted().len(), 2);
    assert!(keys(moto, &bucket).contains(&"subscriptions/remoteEntry.js".to_owned()));
}

#[test]
fn a_stalled_invalidation_request_is_retried() {
    let (moto, bucket, ws) = setup("stall-cf");
    ws.write("mfe-deploy.yml", FAST_BOUNDS.as_bytes());
    let distribution = create_distribution(moto, &bucket, "");
    let first = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    ws.write(
        "packages/main/dist/index.html",
        b"<!doctype html><p>new</p>",
    );

    let proxy = FaultProxy::start(&moto.endpoint);
    stall(
        &proxy,
        "POST",
        format!("/2020-05-31/distribution/{distribution}/invalidation"),
        Some(1),
    );
    let step = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .input("endpoint-url", &proxy.endpoint)
        .deadline(std::time::Duration::from_secs(60))
        .run();

    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(proxy.faulted().len(), 1, "{:?}", proxy.seen());
    assert!(!step.out("invalidation-id").is_empty());
    assert_eq!(invalidations(moto, &distribution).len(), 1);
}

#[test]
fn a_token_endpoint_that_never_answers_ends_the_run_with_a_clear_error() {
    let (moto, bucket, ws) = setup("stall-oidc");
    ws.write("mfe-deploy.yml", FAST_BOUNDS.as_bytes());
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/idtoken?api-version=2.0",
        silent.local_addr().unwrap()
    );

    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("aws-access-key-id", "")
        .input("aws-secret-access-key", "")
        .input(
            "role-to-assume",
            "arn:aws:iam::111111111111:role/mfe-deploy-production",
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "runtime-request-token-Qm4kP7vX2",
        )
        .deadline(std::time::Duration::from_secs(60))
        .run();

    assert_eq!(step.code(), 1, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        text.contains("no answer within 2s (attempt 3 of 3)"),
        "{text}"
    );
    assert!(keys(moto, &bucket).is_empty());
    drop(silent);
}

#[test]
fn a_large_file_s_server_side_copy_gets_the_time_its_size_allows() {
    let (moto, bucket, ws) = setup("copy-sized");
    ws.write("mfe-deploy.yml", FAST_BOUNDS.as_bytes());
    // 8 MiB: one request, so its ETag can be a copy source; bounded at 2 + 8 s.
    let large: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    ws.write("packages/checkout/dist/media.0a1b2c3d.bin", &large);
    let first = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("mode", "versioned")
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    ws.write("packages/checkout/dist/remoteEntry.js", b"// v2 entry");
    let planned = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("mode", "versioned")
        .input("dry-run", "true")
        .run();
    assert_eq!(planned.code(), 0, "{}", planned.all_text());
    let v2 = planned.out("version").to_owned();

    // The copy takes 4 s: longer than a request without a body may (2 s), well
    // within what an 8 MiB body gets.
    let proxy = FaultProxy::start(&moto.endpoint);
    let copied_key = format!("checkout/{v2}/media.0a1b2c3d.bin");
    proxy.add(Rule {
        method: "PUT",
        target_prefix: format!("/{bucket}/{copied_key}?"),
        fault: Fault::Delay(std::time::Duration::from_secs(4)),
        times: None,
    });
    let before = moto.requests(&bucket).len();
    let second = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("mode", "versioned")
        .input("endpoint-url", &proxy.endpoint)
        .deadline(std::time::Duration::from_secs(120))
        .run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    assert_eq!(second.out("version"), v2);
    let writes: Vec<_> = moto
        .requests(&bucket)
        .into_iter()
        .skip(before)
        .filter(|r| r.method == "PUT" && r.key == copied_key)
        .collect();
    assert_eq!(writes.len(), 1, "one attempt, not retried: {writes:?}");
    assert!(
        writes[0].copy_source.is_some(),
        "copied, not sent from the runner: {writes:?}"
    );
    assert_eq!(second.out("uploaded"), "1", "only the entry is sent");
}
