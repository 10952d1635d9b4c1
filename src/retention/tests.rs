use super::*;
use crate::live::{Intent, Why};
use crate::record::RecordKind;
use crate::store::RemoteObject;

const DAY: i64 = 86_400_000;

fn now() -> Utc {
    Utc::from_millis(1_764_637_691_000)
}

fn record(version: &str, days_ago: i64, files: &[&str], kind: RecordKind) -> DeployRecord {
    let time = Utc::from_millis(now().millis - days_ago * DAY);
    DeployRecord {
        kind,
        ..crate::record::sample(version, time, files)
    }
}

fn deploy(version: &str, days_ago: i64, files: &[&str]) -> DeployRecord {
    record(version, days_ago, files, RecordKind::Deploy)
}

fn listed(keys: &[&str]) -> Vec<RemoteObject> {
    objects(&keys.iter().map(|k| format!("shop/{k}")).collect::<Vec<_>>())
}

/// Objects last written a year ago.
fn objects(keys: &[String]) -> Vec<RemoteObject> {
    keys.iter().map(|k| aged(k, 365)).collect()
}

fn aged(key: &str, days: i64) -> RemoteObject {
    RemoteObject {
        key: key.to_owned(),
        etag: "e".to_owned(),
        size: 1,
        last_modified: Some((now().millis - days * DAY) / 1000),
    }
}

fn policy(keep_versions: Option<usize>, keep_days: Option<u64>, max: usize) -> Policy {
    Policy {
        keep_versions,
        keep_days,
        max_deletions: max,
    }
}

fn deleted(prune: Prune) -> Vec<String> {
    match prune {
        Prune::Delete { keys, .. } => keys,
        other => panic!("{other:?}"),
    }
}

#[test]
fn files_only_old_versions_published_go_and_the_newest_versions_stay() {
    let records = [
        deploy("v1", 90, &["index.html", "a.1.js"]),
        deploy("v2", 60, &["index.html", "a.2.js"]),
        deploy("v3", 40, &["index.html", "a.3.js"]),
    ];
    let objects = listed(&["index.html", "a.1.js", "a.2.js", "a.3.js"]);
    let prune = decide(
        "shop/",
        &objects,
        &records,
        &Protected::default(),
        &policy(Some(2), None, 500),
        now(),
    );
    assert_eq!(deleted(prune), ["shop/a.1.js"]);
}

#[test]
fn the_day_window_keeps_whatever_a_recent_deploy_published() {
    let records = [
        deploy("v1", 20, &["a.1.js"]),
        deploy("v2", 10, &["a.2.js"]),
        deploy("v3", 1, &["a.3.js"]),
    ];
    let objects = listed(&["a.1.js", "a.2.js", "a.3.js"]);
    let keep_one_but_a_fortnight = policy(Some(1), Some(14), 500);
    let prune = decide(
        "shop/",
        &objects,
        &records,
        &Protected::default(),
        &keep_one_but_a_fortnight,
        now(),
    );
    assert_eq!(deleted(prune), ["shop/a.1.js"]);
}

#[test]
fn a_rollback_counts_as_its_target_deployed_at_that_time() {
    let records = [
        deploy("v1", 90, &["a.1.js"]),
        deploy("v2", 60, &["a.2.js"]),
        record("v1", 1, &["a.1.js"], RecordKind::Rollback),
    ];
    let objects = listed(&["a.1.js", "a.2.js"]);
    let prune = decide(
        "shop/",
        &objects,
        &records,
        &Protected::default(),
        &policy(Some(1), None, 500),
        now(),
    );
    assert_eq!(
        deleted(prune),
        ["shop/a.2.js"],
        "v1 is the newest version now"
    );
}

#[test]
fn no_records_means_nothing_is_deleted() {
    let objects = listed(&["a.1.js"]);
    let prune = decide(
        "shop/",
        &objects,
        &[],
        &Protected::default(),
        &policy(Some(1), None, 500),
        now(),
    );
    assert_eq!(prune, Prune::NoRecords);
}

#[test]
fn more_than_the_cap_deletes_nothing() {
    let records = [deploy("v2", 1, &["index.html"])];
    let objects = listed(&["index.html", "a.js", "b.js", "c.js"]);
    let prune = decide(
        "shop/",
        &objects,
        &records,
        &Protected::default(),
        &policy(Some(1), None, 2),
        now(),
    );
    assert_eq!(prune, Prune::OverCap { would: 3, cap: 2 });
}

#[test]
fn nested_modules_manifests_and_protected_versions_never_go() {
    let records = [deploy("v9", 1, &["v9/remoteEntry.js"])];
    let objects = objects(&[
        "shop/v9/remoteEntry.js".to_owned(),
        "shop/v1/remoteEntry.js".to_owned(),
        "shop/v2/remoteEntry.js".to_owned(),
        "shop/cart/x.js".to_owned(),
        "shop/mfe-manifest.json".to_owned(),
        "other/x.js".to_owned(),
    ]);
    let protected = Protected {
        nested_modules: vec!["shop/cart/".to_owned()],
        keys: BTreeSet::from(["shop/mfe-manifest.json".to_owned()]),
        versions: BTreeSet::from(["v2".to_owned()]),
        live: Live::default(),
    };
    let prune = decide(
        "shop/",
        &objects,
        &records,
        &protected,
        &policy(Some(1), None, 500),
        now(),
    );
    assert_eq!(deleted(prune), ["shop/v1/remoteEntry.js"]);
}

/// What the caller asks `Live` for: the newest record, always.
fn live_of(records: &[DeployRecord]) -> Protected {
    let mut live = Live::default();
    if let Some(r) = crate::live::newest(records) {
        live.add_record(
            r,
            Why::NewestRecord {
                version: r.version.clone(),
            },
        );
    }
    Protected {
        live,
        ..Protected::default()
    }
}

#[test]
fn keep_days_alone_never_deletes_the_live_build_once_its_record_is_old() {
    let records = [
        deploy("v1", 40, &["index.html", "a.1.js"]),
        deploy("v2", 20, &["index.html", "a.2.js"]),
    ];
    let objects = listed(&["index.html", "a.1.js", "a.2.js"]);
    for days in [0, 1, 14] {
        let prune = decide(
            "shop/",
            &objects,
            &records,
            &live_of(&records),
            &policy(None, Some(days), 500),
            now(),
        );
        assert_eq!(deleted(prune), ["shop/a.1.js"], "keep-days: {days}");
    }
}

#[test]
fn keep_versions_zero_or_any_policy_keeps_what_live_protects() {
    let records = [deploy("v1", 40, &["a.1.js"]), deploy("v2", 20, &["a.2.js"])];
    let objects = listed(&["a.1.js", "a.2.js"]);
    let prune = decide(
        "shop/",
        &objects,
        &records,
        &live_of(&records),
        &policy(Some(0), None, 500),
        now(),
    );
    assert_eq!(deleted(prune), ["shop/a.1.js"]);
}

#[test]
fn an_object_younger_than_keep_days_stays_though_no_record_names_it() {
    let records = [deploy("v2", 20, &["a.2.js"])];
    let objects = vec![
        aged("shop/a.2.js", 20),
        aged("shop/synced-by-hand.js", 2),
        aged("shop/old-by-hand.js", 60),
    ];
    let prune = decide(
        "shop/",
        &objects,
        &records,
        &live_of(&records),
        &policy(None, Some(7), 500),
        now(),
    );
    assert_eq!(deleted(prune), ["shop/old-by-hand.js"]);
}

#[test]
fn what_a_deploy_in_flight_will_publish_stays() {
    let records = [deploy("v1", 40, &["v1/remoteEntry.js"])];
    let objects = listed(&[
        "v1/remoteEntry.js",
        "v2/remoteEntry.js",
        "v2/chunk.js",
        "old.js",
    ]);
    let mut protected = live_of(&records);
    let layout = crate::layout::Layout::new("_mfe-deploy/", "shop/").unwrap();
    protected.live.add_intent(&Intent::new(
        &layout,
        "v2",
        Vec::new(),
        vec!["shop/v2/".to_owned()],
        now(),
        3600,
    ));
    let prune = decide(
        "shop/",
        &objects,
        &records,
        &protected,
        &policy(Some(1), None, 500),
        now(),
    );
    assert_eq!(deleted(prune), ["shop/old.js"]);
}
