//! `doctor` behind a real HTTP cache (nginx in front of moto) holding the SPA
//! fallback's answer under a chunk's URL: found, named with the cache's headers,
//! invalidated, and then clean.

use crate::common::cache::{Behaviour, Cache};
use crate::common::*;

const CHUNK: &str = "items.2738bcefd8210fa92271.js";

fn versioned<'a>(ws: &'a Workspace, moto: &Moto, bucket: &str, public: &str) -> ActionStep<'a> {
    ActionStep::push(ws, moto, "checkout", bucket)
        .input("mode", "versioned")
        .input("public-url", public)
}

/// What an SPA fallback answers for a key the origin lacks: the shell, as a 200.
/// Here the origin itself answers so for a moment, under the chunk's key (the
/// moment an S3 incident or a fallback rule lasts).
fn serve_shell_at(moto: &Moto, bucket: &str, key: &str) {
    let shell = b"<!doctype html><title>shell</title>";
    put_served(moto, bucket, key, "text/html", "no-cache", shell);
}

#[test]
fn a_chunk_url_poisoned_by_the_spa_fallback_is_named_invalidated_and_then_clean() {
    let (moto, bucket, ws) = setup("doctor");
    public_read(moto, &bucket);
    let cache = Cache::start(moto, &bucket, Behaviour::Stale);
    let distribution = create_distribution(moto, &bucket, "");
    // A browser asks for a chunk of v1 before it exists and gets the shell with a
    // 200 (the SPA fallback), which the cache keeps under the chunk's URL.
    let url = format!("/checkout/v1/{CHUNK}");
    let key = url.trim_start_matches('/');
    serve_shell_at(moto, &bucket, key);
    let poisoned = cache.get(&url);
    delete(moto, &bucket, key);
    assert_eq!(
        poisoned.status,
        200,
        "{:?} {}",
        poisoned.headers,
        cache.error_log()
    );
    assert!(poisoned.header("content-type").starts_with("text/html"));

    let deploy = versioned(&ws, moto, &bucket, &cache.url)
        .input("version", "v1")
        .run();
    assert_eq!(deploy.code(), 0, "{}", deploy.all_text());
    let files = walk(&ws.dist("checkout")).len();

    let doctor = versioned(&ws, moto, &bucket, &cache.url)
        .input("doctor", "true")
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(doctor.code(), 1, "{}", doctor.all_text());
    let text = doctor.all_text();
    let full = format!("{}{url}", cache.url);
    assert!(
        text.contains(&format!("WRONG {full}")) && text.contains("Content-Type text/html"),
        "{text}"
    );
    assert!(
        text.contains("X-Cache: HIT"),
        "the cache's own header: {text}"
    );
    assert!(
        text.contains(&format!("1 of {files} served wrong")),
        "{text}"
    );
    assert!(text.contains("another edge location"), "{text}");
    let results: serde_json::Value = serde_json::from_str(doctor.out("results")).unwrap();
    assert_eq!(results[0]["status"], "checked");
    assert!(
        doctor.summary.contains("#### Served through public-url"),
        "{}",
        doctor.summary
    );
    assert!(
        doctor.summary.contains(&format!("| `{full}` |")),
        "{}",
        doctor.summary
    );
    assert!(
        invalidations(moto, &distribution).is_empty(),
        "a plain doctor run writes nothing"
    );

    // `invalidate`: exactly the wrong path, on the distribution.
    let invalidated = versioned(&ws, moto, &bucket, &cache.url)
        .input("doctor", "invalidate")
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(invalidated.code(), 1, "{}", invalidated.all_text());
    assert!(!invalidated.out("invalidation-id").is_empty());
    let sent = invalidations(moto, &distribution);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, std::slice::from_ref(&url));
    // The CDN applies it (here: each invalidated path is refreshed in nginx).
    for path in &sent[0].1 {
        assert_eq!(cache.purge(path).status, 200);
    }
    let clean = versioned(&ws, moto, &bucket, &cache.url)
        .input("doctor", "true")
        .run();
    assert_eq!(clean.code(), 0, "{}", clean.all_text());
    assert!(
        clean
            .all_text()
            .contains(&format!("0 of {files} served wrong"))
    );

    // And from the command line.
    let output = cli_command(&ws)
        .args([
            "doctor",
            "--package",
            "packages/checkout",
            "--mode",
            "versioned",
        ])
        .args(["--bucket", &bucket, "--endpoint-url", &moto.endpoint])
        .args(["--public-url", &cache.url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains(&format!("checked {files} file(s), 0 served wrong")),
        "{stdout}"
    );
}

#[test]
fn doctor_without_public_url_is_bad_input() {
    let (moto, bucket, ws) = setup("doctor-no-url");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("doctor", "true")
        .run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    assert!(
        step.all_text().contains("public-url"),
        "{}",
        step.all_text()
    );
}

#[test]
fn doctor_checks_an_in_place_build_and_a_versioned_canary_beside_its_stable_version() {
    let (moto, bucket, ws) = setup("doctor-live");
    public_read(moto, &bucket);
    let cache = Cache::start(moto, &bucket, Behaviour::Honest);
    let files = walk(&ws.dist("checkout")).len();

    // In place: the newest record's build.
    let step = || ActionStep::push(&ws, moto, "checkout", &bucket).input("public-url", &cache.url);
    let deployed = step().run();
    assert_eq!(deployed.code(), 0, "{}", deployed.all_text());
    let doctor = step().input("doctor", "true").run();
    assert_eq!(doctor.code(), 0, "{}", doctor.all_text());
    let text = doctor.all_text();
    assert!(
        text.contains(&format!(
            "{files} file(s) of live {}",
            deployed.out("version")
        )) && text.contains(&format!("0 of {files} served wrong")),
        "{text}"
    );

    // Versioned, with a canary: both versions' files.
    let (moto, bucket, ws) = setup("doctor-canary");
    public_read(moto, &bucket);
    let cache = Cache::start(moto, &bucket, Behaviour::Honest);
    let versioned = || {
        ActionStep::push(&ws, moto, "checkout", &bucket)
            .input("mode", "versioned")
            .input("public-url", &cache.url)
    };
    let stable = versioned().run();
    assert_eq!(stable.code(), 0, "{}", stable.all_text());
    ws.write(
        "packages/checkout/dist/remoteEntry.js",
        b"// the canary's entry",
    );
    let canary = versioned().input("rollout", "10%").run();
    assert_eq!(canary.code(), 0, "{}", canary.all_text());
    let doctor = versioned().input("doctor", "true").run();
    assert_eq!(doctor.code(), 0, "{}", doctor.all_text());
    let text = doctor.all_text();
    assert!(
        text.contains(&format!(
            "{} file(s) of stable {}, canary {} (10%)",
            2 * files,
            stable.out("version"),
            canary.out("version")
        )),
        "{text}"
    );
}
