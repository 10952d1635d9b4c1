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
