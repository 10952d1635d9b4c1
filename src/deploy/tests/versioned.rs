//! Versioned mode's order on the in-memory store: the version, its read-back while
//! the rest of its files go up, then the manifest; and what a failure leaves.

use std::sync::{Arc, Mutex};

use super::*;

#[tokio::test]
async fn a_versioned_deploy_writes_the_version_then_the_manifest_and_invalidates_only_it() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let report = run(&store, &cdn, &versioned(&build)).await.unwrap();
    let version = report.version.clone();
    let writes = store.writes();
    let manifest_at = writes
        .iter()
        .position(|k| k == "mfe-manifest.json")
        .unwrap();
    let last_file = writes
        .iter()
        .rposition(|k| k.starts_with(&format!("shop/{version}/")))
        .unwrap();
    assert!(
        last_file < manifest_at,
        "the manifest moves last: {writes:?}"
    );
    assert!(
        !writes
            .iter()
            .any(|k| k.starts_with("shop/") && !k.starts_with(&format!("shop/{version}/")))
    );
    let created = cdn.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].1, ["/mfe-manifest.json"]);
    assert_eq!(
        state(&store).record,
        report.record,
        "the state names the record it preceded"
    );
    assert_eq!(
        report.entry_url.as_deref(),
        Some(format!("https://example.com/shop/{version}/remoteEntry.js").as_str())
    );
}

#[tokio::test]
async fn a_versioned_deploy_after_an_in_place_one_replaces_the_state_with_its_own() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    let in_place = state(&store).record;
    let report = run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert_eq!(Some(pointer(&store).latest), report.record);
    let left = state(&store);
    assert_ne!(left.record, in_place);
    assert_eq!(left.record, report.record);
    let version = format!("{}/", report.version);
    assert!(
        left.files.keys().all(|k| k.starts_with(&version)),
        "the version's files alone: {:?}",
        left.files.keys()
    );
}

#[tokio::test(start_paused = true)]
async fn a_versioned_deploy_whose_manifest_stays_contended_leaves_it_untouched() {
    let build = Build::new();
    let store = MemoryStore::new();
    store.inject(
        "put",
        "mfe-manifest.json",
        &[Injected::PreconditionFailed; crate::manifest::MAX_ATTEMPTS as usize],
    );
    let failed = run(&store, &cdn(), &versioned(&build)).await.unwrap_err();
    assert!(matches!(failed.error, Error::Switch(_)), "{}", failed.error);
    assert!(store.object("mfe-manifest.json").is_none());
    assert_eq!(failed.report.unwrap().status, Status::Failed);
}

#[tokio::test]
async fn a_new_version_s_entry_is_read_back_while_its_other_files_still_go_up() {
    let build = Build::new();
    for i in 0..150 {
        build.write(&format!("chunk-{i}.{i:08x}.js"), &format!("chunk {i}"));
    }
    let (store, cdn) = (MemoryStore::new(), cdn());
    let request = versioned(&build);
    let planned = run(
        &store,
        &cdn,
        &DeployRequest {
            dry_run: true,
            ..request.clone()
        },
    )
    .await
    .unwrap();
    let folder = format!("shop/{}/", planned.version);
    let there_when_read = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&there_when_read);
    let prefix = folder.clone();
    store.before("get", &format!("{folder}remoteEntry.js"), move |s| {
        let there = s.keys().iter().filter(|k| k.starts_with(&prefix)).count();
        *seen.lock().unwrap() = Some(there);
    });
    store.overlap("put");
    let report = run(&store, &cdn, &request).await.unwrap();
    let there = there_when_read
        .lock()
        .unwrap()
        .expect("the entry was read back");
    let all = store
        .keys()
        .iter()
        .filter(|k| k.starts_with(&folder))
        .count();
    assert_eq!(all, 154);
    assert!(
        (2..all).contains(&there),
        "read back with {there} of {all} files there (the entries go first)"
    );
    assert_eq!(report.status, Status::Deployed);
}

#[tokio::test]
async fn a_failed_write_during_the_read_back_fails_the_run_and_moves_nothing() {
    // The entry itself, or a chunk after the entry has been read back.
    for failing in ["remoteEntry.js", "chunk-90.0000005a.js"] {
        let build = Build::new();
        for i in 0..150 {
            build.write(&format!("chunk-{i}.{i:08x}.js"), &format!("chunk {i}"));
        }
        let (store, cdn) = (MemoryStore::new(), cdn());
        let request = versioned(&build);
        let dry = DeployRequest {
            dry_run: true,
            ..request.clone()
        };
        let planned = run(&store, &cdn, &dry).await.unwrap();
        store.fail_on("put", &format!("shop/{}/{failing}", planned.version));
        store.overlap("put");
        let failed = run(&store, &cdn, &request).await.unwrap_err();
        assert!(
            failed.error.to_string().contains(failing),
            "{failing}: {}",
            failed.error
        );
        assert!(store.object("mfe-manifest.json").is_none(), "{failing}");
        assert!(records(&store).is_empty(), "{failing}");
    }
}
