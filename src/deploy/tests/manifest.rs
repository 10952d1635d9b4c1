//! Every manifest document is compared and moved on its own: a re-run repairs one a
//! failed run left behind, and every failure says what is live now.

use super::*;
use crate::store::memory::Injected;

const FLAT: &str = "mfe-remotes.json";

fn with_flat(build: &Build) -> DeployRequest {
    let mut request = versioned(build);
    request.manifest.flat = Some(FLAT.to_owned());
    request
}

fn flat_entry(store: &MemoryStore) -> Option<String> {
    let bytes = store.object(FLAT)?.bytes;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    doc["shop"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn a_document_left_behind_is_named_in_the_error_and_repaired_by_the_rerun() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let request = with_flat(&build);
    store.inject("put", FLAT, &[Injected::ServiceError]);

    let failed = run(&store, &cdn, &request).await.unwrap_err();
    let version = failed.report.as_ref().unwrap().version.clone();
    let Error::Switch(switch) = &failed.error else {
        panic!("{}", failed.error);
    };
    assert_eq!(switch.moved, ["mfe-manifest.json"]);
    assert_eq!(switch.left, [FLAT]);
    let message = failed.error.to_string();
    assert!(
        message.contains(&format!("Live now: mfe-manifest.json names `{version}`"))
            && message.contains(&format!("{FLAT} still names the version live before")),
        "{message}"
    );
    assert_eq!(flat_entry(&store), None);
    let native_before = store.object("mfe-manifest.json").unwrap().bytes;

    let rerun = run(&store, &cdn, &request).await.unwrap();
    assert_eq!(rerun.uploaded, 0);
    assert_eq!(rerun.status, Status::Deployed, "it moved a document");
    assert_eq!(
        flat_entry(&store),
        Some(format!("https://example.com/shop/{version}/remoteEntry.js"))
    );
    assert_eq!(
        store.object("mfe-manifest.json").unwrap().bytes,
        native_before,
        "the native document already named it and was not rewritten"
    );
    let created = cdn.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1, "the failed run invalidated nothing");
    let mut paths = created[0].1.clone();
    paths.sort();
    assert_eq!(
        paths,
        ["/mfe-manifest.json", &format!("/{FLAT}")],
        "the repaired document, and the one the failed run moved and still owed"
    );

    let third = run(&store, &cdn, &request).await.unwrap();
    assert_eq!(third.status, Status::Unchanged);
}

#[tokio::test]
async fn a_manifest_that_fails_first_says_nothing_moved_and_the_earlier_version_is_live() {
    let build = Build::new();
    let store = MemoryStore::new();
    let request = with_flat(&build);
    store.inject("put", "mfe-manifest.json", &[Injected::ServiceError]);
    let failed = run(&store, &cdn(), &request).await.unwrap_err();
    let message = failed.error.to_string();
    assert!(
        message.contains("Live now: what was live before this run; no manifest moved"),
        "{message}"
    );
    assert_eq!(failed.error.exit_code(), 1);
}

#[tokio::test]
async fn a_versioned_record_that_cannot_be_written_says_the_earlier_version_stays_live() {
    let build = Build::new();
    let store = MemoryStore::new();
    store.fail_under("put", RECORDS);
    let failed = run(&store, &cdn(), &versioned(&build)).await.unwrap_err();
    let message = failed.error.to_string();
    assert!(
        message.contains("the version live before this run is still live"),
        "{message}"
    );
    assert!(store.object("mfe-manifest.json").is_none(), "nothing moved");
}

#[tokio::test]
async fn a_second_module_declaring_a_taken_federation_name_is_refused_before_any_write() {
    let shop = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &versioned(&shop)).await.unwrap();
    let writes_before = store.writes().len();

    let cart = Build::new();
    cart.write("mf-manifest.json", r#"{"name": "shop", "metaData": {}}"#);
    let request = DeployRequest {
        prefix: "cart/".to_owned(),
        ..versioned(&cart)
    };
    let failed = run(&store, &cdn, &request).await.unwrap_err();
    assert!(
        matches!(&failed.error, Error::NameTaken { name, other, .. } if name == "shop" && other == "shop"),
        "{}",
        failed.error
    );
    assert_eq!(failed.error.exit_code(), 2);
    assert_eq!(store.writes().len(), writes_before, "nothing was written");
}

#[tokio::test]
async fn rollback_to_previous_comes_from_the_records_when_the_manifest_lost_it() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let v1 = DeployRequest {
        version: Some("v1".to_owned()),
        ..versioned(&build)
    };
    run(&store, &cdn, &v1).await.unwrap();
    build.write("remoteEntry.js", "entry v2");
    let v2 = DeployRequest {
        version: Some("v2".to_owned()),
        ..versioned(&build)
    };
    run(&store, &cdn, &v2).await.unwrap();
    // Someone recreates the manifest by hand: it names v2, and nothing before it.
    let mut native: crate::manifest::Native =
        serde_json::from_slice(&store.object("mfe-manifest.json").unwrap().bytes).unwrap();
    native.modules.get_mut("shop").unwrap().previous = None;
    store.insert(
        "mfe-manifest.json",
        &serde_json::to_vec(&native).unwrap(),
        crate::model::Headers {
            cache_control: "no-cache".to_owned(),
            content_type: "application/json".to_owned(),
        },
    );

    let rollback = DeployRequest {
        rollback_to: Some(crate::request::RollbackTarget::Previous),
        ..versioned(&build)
    };
    let report = run(&store, &cdn, &rollback).await.unwrap();
    assert_eq!(report.status, Status::RolledBack);
    assert_eq!(report.version, "v1");
    let live = crate::manifest::live(&store.object("mfe-manifest.json").unwrap().bytes, "shop");
    assert_eq!(live.unwrap().version, "v1");
}

#[tokio::test]
async fn a_store_ignoring_conditional_writes_gets_no_versioned_deploy_and_only_its_intent_asked() {
    let build = Build::new();
    let store = MemoryStore::new();
    store.ignore_conditions();
    let mut request = versioned(&build);
    request.aws.endpoint_url = Some("http://127.0.0.1:9000".to_owned());
    let failed = run(&store, &cdn(), &request).await.unwrap_err();
    assert!(
        matches!(failed.error, Error::NoConditionalWrites { .. }),
        "{}",
        failed.error
    );
    assert_eq!(failed.error.exit_code(), 2);
    // The store was asked on the run's in-flight intent, which the refusal removed.
    let writes = store.writes();
    assert_eq!(writes.len(), 3, "{writes:?}");
    assert!(
        writes
            .iter()
            .all(|k| *k == writes[0] && k.starts_with("_mfe-deploy/in-flight/")),
        "{writes:?}"
    );
    assert!(store.keys().is_empty(), "{:?}", store.keys());

    // In place without retention relies on no conditional write.
    request.mode = Mode::InPlace;
    run(&store, &cdn(), &request).await.unwrap();
}

fn canary_of(store: &MemoryStore) -> Option<(String, u8)> {
    let bytes = store.object("mfe-manifest.json")?.bytes;
    let entry = crate::manifest::live(&bytes, "shop")?;
    entry.canary.map(|c| (c.version, c.percent))
}

#[tokio::test]
async fn a_canary_starts_on_the_native_document_only_and_abort_and_rollback_clear_it() {
    let build = Build::new();
    let (store, cdn) = (MemoryStore::new(), cdn());
    let stable = run(&store, &cdn, &with_flat(&build)).await.unwrap();
    let flat_before = flat_entry(&store);

    build.write("remoteEntry.js", "entry v2");
    let mut request = with_flat(&build);
    request.rollout = Some(crate::request::Rollout::Percent(10));
    let canary = run(&store, &cdn, &request).await.unwrap();
    assert_eq!(canary.status, Status::Canary);
    assert_eq!(canary_of(&store), Some((canary.version.clone(), 10)));
    assert_eq!(
        flat_entry(&store),
        flat_before,
        "the flat document keeps stable"
    );
    let record = records(&store)
        .into_iter()
        .max_by_key(|r| r.time.clone())
        .unwrap();
    assert_eq!(record.kind, crate::record::RecordKind::Canary);

    let mut abort = with_flat(&build);
    abort.rollout = Some(crate::request::Rollout::Abort);
    abort.version = Some(canary.version.clone());
    std::fs::remove_dir_all(build.package().join("dist")).unwrap();
    let aborted = run(&store, &cdn, &abort).await.unwrap();
    assert_eq!(aborted.status, Status::Aborted);
    assert_eq!(canary_of(&store), None);
    let again = run(&store, &cdn, &abort).await.unwrap_err();
    assert!(matches!(again.error, Error::Rollout(_)), "{}", again.error);
    assert_eq!(again.error.exit_code(), 2);

    // A canary again (by version, no build), then a rollback to the stable version.
    let mut restart = with_flat(&build);
    restart.rollout = Some(crate::request::Rollout::Percent(20));
    restart.version = Some(canary.version.clone());
    assert_eq!(
        run(&store, &cdn, &restart).await.unwrap().status,
        Status::Canary
    );
    assert_eq!(canary_of(&store), Some((canary.version.clone(), 20)));
    let mut back = with_flat(&build);
    back.rollback_to = Some(crate::request::RollbackTarget::Version(
        stable.version.clone(),
    ));
    let rolled = run(&store, &cdn, &back).await.unwrap();
    assert_eq!(rolled.status, Status::RolledBack);
    assert_eq!(canary_of(&store), None, "a rollback clears the canary");
}

#[tokio::test]
async fn a_versioned_rebuild_on_a_store_with_opaque_etags_asks_nothing_per_file() {
    for lists_none in [false, true] {
        rebuild_asks_nothing_per_file(lists_none).await;
    }
}

#[tokio::test]
async fn a_version_of_many_pages_is_listed_at_once_from_where_its_build_says_they_start() {
    let build = Build::new();
    for i in 0..2_100 {
        build.write(&format!("assets/a{i:04}.0a1b2c3d.txt"), &i.to_string());
    }
    let (store, cdn) = (MemoryStore::new(), cdn());
    let first = run(&store, &cdn, &versioned(&build)).await.unwrap();
    store.overlap("list");
    let again = run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert_eq!(again.status, Status::Unchanged);
    assert_eq!(again.unchanged, first.uploaded);
    assert!(
        store.most_at_once("list") >= 3,
        "the version's pages went out together: {}",
        store.most_at_once("list")
    );
}

#[tokio::test]
async fn a_rerun_on_a_store_listing_no_etags_records_the_etags_it_vouched_for() {
    let build = Build::new();
    let (store, cdn) = (MemoryStore::new(), cdn());
    store.unlisted_etags();
    store.inject("put", "mfe-manifest.json", &[Injected::ServiceError]);
    run(&store, &cdn, &versioned(&build)).await.unwrap_err();
    let rerun = run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert_eq!(rerun.uploaded, 0);
    let record = store
        .object(rerun.record.as_deref().unwrap())
        .unwrap()
        .bytes;
    let record = crate::record::DeployRecord::from_json(&record).unwrap();
    for file in record.files.values() {
        let stored = store.object(&file.key).unwrap().etag;
        assert_eq!(file.etag.as_deref(), Some(stored.as_str()), "{}", file.key);
    }
}

/// With opaque ETags (SSE-KMS), or none in the listing (s3s-fs).
async fn rebuild_asks_nothing_per_file(lists_none: bool) {
    let build = Build::new();
    let (store, cdn) = (MemoryStore::new(), cdn());
    store.opaque_etags();
    if lists_none {
        store.unlisted_etags();
    }
    let first = run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert!(first.uploaded > 0);
    let (heads, puts, gets) = (store.calls("head"), store.calls("put"), store.calls("get"));
    let again = run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert_eq!(again.status, Status::Unchanged);
    assert_eq!(
        store.calls("head") - heads,
        0,
        "the record vouches for every listed object"
    );
    assert_eq!(store.calls("put") - puts, 0);
    assert!(
        store.calls("get") - gets <= 6,
        "the manifest, the record, the entries read back"
    );

    // The same label with other bytes is still refused before anything is written.
    build.write("main.1a2b3c4d.js", "other bytes, same length");
    let mut same_label = versioned(&build);
    same_label.version = Some(first.version.clone());
    let refused = run(&store, &cdn, &same_label).await.unwrap_err();
    assert!(
        matches!(refused.error, Error::VersionTaken { .. }),
        "{}",
        refused.error
    );
}

#[tokio::test]
async fn a_canary_of_the_stable_version_is_refused_and_a_plain_deploy_clears_a_canary() {
    let build = Build::new();
    let (store, cdn) = (MemoryStore::new(), cdn());
    let stable = run(&store, &cdn, &versioned(&build)).await.unwrap();
    let writes = store.writes().len();
    let mut same = versioned(&build);
    same.rollout = Some(crate::request::Rollout::Percent(10));
    let refused = run(&store, &cdn, &same).await.unwrap_err();
    assert!(
        matches!(refused.error, Error::Rollout(_)),
        "{}",
        refused.error
    );
    assert_eq!(refused.error.exit_code(), 2);
    assert_eq!(store.writes().len(), writes, "nothing written, no record");

    build.write("remoteEntry.js", "entry v2");
    let mut canary = versioned(&build);
    canary.rollout = Some(crate::request::Rollout::Percent(10));
    let v2 = run(&store, &cdn, &canary).await.unwrap().version;
    let mut promote_other = versioned(&build);
    promote_other.rollout = Some(crate::request::Rollout::Promote);
    promote_other.version = Some(stable.version.clone());
    std::fs::remove_dir_all(build.package().join("dist")).unwrap();
    let refused = run(&store, &cdn, &promote_other).await.unwrap_err();
    assert!(
        refused.error.to_string().contains("is not the canary"),
        "{}",
        refused.error
    );
    assert_eq!(canary_of(&store), Some((v2, 10)), "nothing changed");

    // The stable build again, without `rollout`: everyone gets it, the canary goes.
    let build = Build::new();
    let plain = run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert_eq!(plain.version, stable.version);
    assert_eq!(plain.status, Status::Deployed);
    assert_eq!(canary_of(&store), None);
    let newest = records(&store)
        .into_iter()
        .max_by_key(|r| r.time.clone())
        .unwrap();
    assert_eq!(
        newest.previous_version.as_deref(),
        Some(stable.version.as_str()),
        "what was live before is the stable version, not the canary most users never saw"
    );
}

#[tokio::test]
async fn a_canary_step_whose_invalidation_failed_is_invalidated_by_the_rerun_and_abort_keeps_previous()
 {
    let build = Build::new();
    let (store, cdn) = (MemoryStore::new(), cdn());
    let stable = run(&store, &cdn, &versioned(&build)).await.unwrap();
    build.write("remoteEntry.js", "entry v2");
    let mut canary = versioned(&build);
    canary.rollout = Some(crate::request::Rollout::Percent(25));
    cdn.create_errors
        .lock()
        .unwrap()
        .push_back(CdnError::Other {
            operation: "CreateInvalidation",
            message: "injected".to_owned(),
        });
    let failed = run(&store, &cdn, &canary).await.unwrap_err();
    assert!(
        matches!(failed.error, Error::Invalidate(_)),
        "{}",
        failed.error
    );
    let before = cdn.created.lock().unwrap().len();
    let rerun = run(&store, &cdn, &canary).await.unwrap();
    assert_eq!(
        rerun.status,
        Status::Unchanged,
        "the canary is already at 25%"
    );
    let created = cdn.created.lock().unwrap().clone();
    assert_eq!(created.len(), before + 1, "the owed invalidation is made");
    assert!(
        created
            .last()
            .unwrap()
            .1
            .contains(&"/mfe-manifest.json".to_owned())
    );

    // After an abort, `rollback-to: previous` still finds what was live before.
    let mut abort = versioned(&build);
    abort.rollout = Some(crate::request::Rollout::Abort);
    run(&store, &cdn, &abort).await.unwrap();
    let newest = records(&store)
        .into_iter()
        .max_by_key(|r| r.time.clone())
        .unwrap();
    assert_eq!(newest.kind, crate::record::RecordKind::Abort);
    assert_eq!(newest.version, stable.version);
    assert_ne!(
        newest.previous_version.as_deref(),
        Some(stable.version.as_str())
    );
}
