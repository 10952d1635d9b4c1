use super::*;
use crate::clock::Utc;
use crate::layout::DEFAULT_RECORDS_PREFIX;

fn record(version: &str, millis: i64, rels: &[&str]) -> DeployRecord {
    crate::record::sample(version, Utc::from_millis(millis), rels)
}

#[test]
fn the_newest_record_is_the_latest_in_time_not_in_the_list() {
    let records = [record("v2", 2_000, &[]), record("v1", 1_000, &[])];
    assert_eq!(newest(&records).map(|r| r.version.as_str()), Some("v2"));
    assert_eq!(newest(&[]).map(|r| r.version.as_str()), None);
}

#[test]
fn a_key_is_protected_by_its_record_or_by_a_folder_holding_it() {
    let mut live = Live::default();
    live.add_record(
        &record("v2", 1, &["index.html"]),
        Why::NewestRecord {
            version: "v2".to_owned(),
        },
    );
    live.add_prefix(
        "shop/v3/".to_owned(),
        Why::Manifest {
            version: "v3".to_owned(),
        },
    );
    live.add_prefix(
        "shop/v31/".to_owned(),
        Why::Manifest {
            version: "v31".to_owned(),
        },
    );
    assert!(live.protects("shop/index.html").is_some());
    assert_eq!(
        live.protects("shop/v3/a.js").map(ToString::to_string),
        Some("v3, live in the manifest".to_owned())
    );
    assert!(live.protects("shop/v31/a.js").is_some());
    assert_eq!(live.protects("shop/v4/a.js"), None);
    assert_eq!(
        live.protects("shop/v3"),
        None,
        "the folder, not a key beside it"
    );
    assert_eq!(live.versions(), ["v2", "v3", "v31"]);
}

#[test]
fn an_intent_protects_its_keys_and_folders() {
    let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "shop/").unwrap();
    let intent = Intent::new(
        &layout,
        "v9",
        vec!["shop/a.9.js".to_owned()],
        vec!["shop/v9/".to_owned()],
        Utc::from_millis(0),
        60,
    );
    assert_eq!(intent.expires().map(|t| t.millis), Some(60_000));
    let mut live = Live::default();
    live.add_intent(&intent);
    assert!(live.protects("shop/a.9.js").is_some());
    assert!(live.protects("shop/v9/x.js").is_some());
    assert!(live.protects("shop/a.8.js").is_none());
}

/// The native manifest naming `version` of `shop`.
fn manifest_naming(version: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schema": "mfe-deploy/manifest@1",
        "updated": "2026-12-07T00:00:00Z",
        "modules": {"shop": {
            "name": "shop",
            "entry": format!("/shop/{version}/remoteEntry.js"),
            "version": version,
            "integrity": "sha384-x",
            "deployed": "2026-12-07T00:00:00Z",
        }},
    }))
    .unwrap()
}

#[tokio::test]
async fn a_run_that_switches_and_leaves_while_what_is_live_is_read_stays_live() {
    use crate::store::memory::MemoryStore;
    let store = MemoryStore::new();
    let layout = Layout::new(DEFAULT_RECORDS_PREFIX, "shop/").unwrap();
    let json = || crate::model::Headers {
        cache_control: "no-cache".to_owned(),
        content_type: "application/json".to_owned(),
    };
    store.insert("mfe-manifest.json", &manifest_naming("v1"), json());
    let intent = Intent::new(
        &layout,
        "v2",
        Vec::new(),
        vec!["shop/v2/".to_owned()],
        Utc::now(),
        3600,
    );
    let key = intent::write(&store, &layout, &intent).await.unwrap();
    // Between the reads, the run of v2 moves the manifest, then removes its intent.
    store.before("list", &layout.in_flight_dir(), move |s| {
        s.insert("mfe-manifest.json", &manifest_naming("v2"), json());
        s.remove(&key);
    });
    let live = read(&store, &layout, "mfe-manifest.json", &[], None, true)
        .await
        .unwrap();
    assert_eq!(
        live.protects("shop/v2/remoteEntry.js")
            .map(ToString::to_string),
        Some("v2, live in the manifest".to_owned())
    );
}
