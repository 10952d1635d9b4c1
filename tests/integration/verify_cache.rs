//! `verify` behind a real HTTP cache (nginx on loopback, in front of moto): an
//! honest cache lets a rewritten entry through, a cache that overrides the origin's
//! `Cache-Control` keeps serving the old one and the deploy fails saying so.

use crate::common::cache::{Behaviour, Cache};
use crate::common::*;

const ENTRY: &str = "/checkout/remoteEntry.js";
const CHUNK: &str = "/checkout/items.2738bcefd8210fa92271.js";
const NEW_ENTRY: &[u8] = b"// checkout, rebuilt with other bytes\n";

/// A push deploy of `checkout` whose entries are read back through `cache`.
fn verified<'a>(ws: &'a Workspace, moto: &Moto, bucket: &str, cache: &Cache) -> ActionStep<'a> {
    ActionStep::push(ws, moto, "checkout", bucket)
        .input("public-url", &cache.url)
        .input("verify", "true")
}

fn rewrite_entry(ws: &Workspace) {
    ws.write("packages/checkout/dist/remoteEntry.js", NEW_ENTRY);
}

fn live_version(moto: &Moto, bucket: &str) -> String {
    let manifest: serde_json::Value =
        serde_json::from_slice(&get(moto, bucket, "mfe-manifest.json")).unwrap();
    manifest["modules"]["checkout"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn an_honest_cache_asks_the_origin_for_a_rewritten_entry_and_verify_passes() {
    let (moto, bucket, ws) = setup("verify-cache-honest");
    public_read(moto, &bucket);
    let cache = Cache::start(moto, &bucket, Behaviour::Honest);
    let old_entry = std::fs::read(ws.dist("checkout").join("remoteEntry.js")).unwrap();

    let first = verified(&ws, moto, &bucket, &cache).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let read_back = format!("read back {}{ENTRY}", cache.url);
    assert!(first.stderr().contains(&read_back), "{}", first.stderr());

    // It is a cache: an immutable chunk is answered from it the second time.
    assert_eq!(cache.get(CHUNK).status, 200);
    let chunk = cache.get(CHUNK);
    assert_eq!(chunk.header("x-cache"), "HIT", "{chunk:?}");
    // A browser loads the entry between the deploys.
    let warm = cache.get(ENTRY);
    assert_eq!(warm.status, 200, "{warm:?}");
    assert_eq!(warm.body, old_entry);
    assert_eq!(warm.header("cache-control"), "no-cache");

    rewrite_entry(&ws);
    let second = verified(&ws, moto, &bucket, &cache).run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    assert!(second.stderr().contains(&read_back), "{}", second.stderr());
    let served = cache.get(ENTRY);
    assert_eq!(served.body, NEW_ENTRY, "{served:?}");
    assert_ne!(served.header("x-cache"), "HIT", "{served:?}");
}

#[test]
fn a_cache_that_ignores_no_cache_serves_the_old_entry_and_verify_fails_naming_it() {
    let (moto, bucket, ws) = setup("verify-cache-stale");
    ws.write("mfe-deploy.yml", b"verify-timeout: 3\n");
    public_read(moto, &bucket);
    let cache = Cache::start(moto, &bucket, Behaviour::Stale);
    let old_entry = std::fs::read(ws.dist("checkout").join("remoteEntry.js")).unwrap();

    let first = verified(&ws, moto, &bucket, &cache).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    // A browser loads the entry: the cache now holds it, whatever the origin says.
    let warm = cache.get(ENTRY);
    assert_eq!(warm.body, old_entry, "{warm:?}");
    assert_eq!(warm.header("x-cache"), "HIT", "{warm:?}");

    rewrite_entry(&ws);
    let second = verified(&ws, moto, &bucket, &cache).run();
    assert_eq!(second.code(), 1, "{}", second.all_text());
    let text = second.all_text();
    let url = format!("{}{ENTRY}", cache.url);
    assert!(
        text.contains(&format!("{url} still served other bytes after")),
        "{text}"
    );
    assert!(text.contains("X-Cache: HIT"), "{text}");
    assert!(text.contains("Cache-Control: no-cache"), "{text}");
    assert!(second.summary.contains(&url), "{}", second.summary);
    let annotations = workflow_commands(&second.stdout());
    assert!(
        annotations
            .iter()
            .any(|c| c.name == "error" && c.data.contains(&url) && c.data.contains("X-Cache: HIT")),
        "{annotations:?}"
    );
    // The upload happened; the layer in front of it is what is stale.
    assert_eq!(get(moto, &bucket, "checkout/remoteEntry.js"), NEW_ENTRY);
    assert_eq!(cache.get(ENTRY).body, old_entry);
}

#[test]
fn versioned_deploys_read_back_through_an_honest_cache_and_the_manifest_moves() {
    let (moto, bucket, ws) = setup("verify-cache-versioned");
    public_read(moto, &bucket);
    let cache = Cache::start(moto, &bucket, Behaviour::Honest);

    let first = verified(&ws, moto, &bucket, &cache)
        .input("mode", "versioned")
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let v1 = first.out("version").to_owned();
    assert_eq!(live_version(moto, &bucket), v1);
    let v1_entry = format!("/checkout/{v1}/remoteEntry.js");
    assert_eq!(first.out("entry-url"), format!("{}{v1_entry}", cache.url));
    assert!(
        first
            .stderr()
            .contains(&format!("read back {}{v1_entry}", cache.url)),
        "{}",
        first.stderr()
    );
    assert_eq!(cache.get(&v1_entry).status, 200);

    rewrite_entry(&ws);
    let second = verified(&ws, moto, &bucket, &cache)
        .input("mode", "versioned")
        .run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    let v2 = second.out("version").to_owned();
    assert_ne!(v2, v1);
    let v2_entry = format!("/checkout/{v2}/remoteEntry.js");
    assert!(
        second
            .stderr()
            .contains(&format!("read back {}{v2_entry}", cache.url)),
        "{}",
        second.stderr()
    );
    assert_eq!(live_version(moto, &bucket), v2, "the manifest moved");
    assert_eq!(cache.get(&v2_entry).body, NEW_ENTRY);
}

// NOTE: no versioned counterpart of the stale case: a version's files live under
// their own path (`checkout/<version>/`), so a new version's URLs were never in any
// cache and a cache that ignores `no-cache` still misses them. What such a cache
// does keep stale there is the discovery manifest, which `verify` does not read.
