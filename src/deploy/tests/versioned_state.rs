//! The deploy state a versioned deploy keeps: its version's files and the record it
//! goes on to write, so that the next run of the module reads the state and the
//! pointer and no record while the pointer names that record, and never trusts a
//! state that a killed or failed run left naming another.

use super::*;

#[tokio::test]
async fn a_versioned_deploy_names_its_files_and_its_record_in_the_state_before_the_record() {
    let build = Build::new();
    let store = MemoryStore::new();
    let report = run(&store, &cdn(), &versioned(&build)).await.unwrap();
    let record = report.record.clone().unwrap();
    let writes = store.writes();
    let at = |key: &str| writes.iter().position(|k| k == key).unwrap();
    assert!(at(STATE) < at(&record), "{writes:?}");
    assert!(at(&record) < at("mfe-manifest.json"), "{writes:?}");
    let left = state(&store);
    assert_eq!(left.record, Some(record));
    assert_eq!(left.version, report.version);
    let names: Vec<&str> = left.files.keys().map(String::as_str).collect();
    let v = &report.version;
    assert_eq!(
        names,
        [
            format!("{v}/index.html"),
            format!("{v}/main.1a2b3c4d.js"),
            format!("{v}/remoteEntry.js"),
            format!("{v}/robots.txt"),
        ]
    );
    for (name, file) in &left.files {
        let object = store.object(&format!("shop/{name}")).unwrap();
        assert_eq!(file.etag, object.etag, "{name}");
    }
}

#[tokio::test]
async fn a_versioned_rebuild_reads_the_state_the_pointer_and_the_manifest_and_lists_the_version() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    for listed_etags in [true, false] {
        if !listed_etags {
            // As s3s-fs lists: the state's time vouches for what it names.
            store.unlisted_etags();
        }
        store.reset_counts();
        let report = run(&store, &cdn, &versioned(&build)).await.unwrap();
        assert_eq!(report.status, Status::Unchanged);
        assert_eq!(
            (store.calls("list"), store.calls("get"), store.calls("head")),
            (1, 3, 0),
            "the version's folder; the state, the pointer and the manifest (ETags listed: {listed_etags})"
        );
        assert!(store.writes().is_empty());
    }
}

#[tokio::test]
async fn a_new_version_copies_what_the_state_names_without_reading_a_record() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    // Were a record read, there would be none: only the state can name the copies.
    for key in store.keys().into_iter().filter(|k| k.starts_with(RECORDS)) {
        store.remove(&key);
    }
    build.write("remoteEntry.js", "entry v2");
    store.reset_counts();
    let report = run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert_eq!(report.status, Status::Deployed);
    assert_eq!((report.uploaded, report.copied), (1, 3));
    assert_eq!(store.calls("list"), 1, "the new version's folder alone");
    assert_eq!(state(&store).record, report.record);
}

#[tokio::test]
async fn a_record_the_state_names_but_no_pointer_confirms_is_listed_and_what_it_owes_is_paid() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    let confirmed = store.object(POINTER).unwrap();
    build.write("remoteEntry.js", "entry v2");
    cdn.create_errors
        .lock()
        .unwrap()
        .push_back(CdnError::Other {
            operation: "CreateInvalidation",
            message: "killed here".to_owned(),
        });
    let failed = run(&store, &cdn, &versioned(&build)).await.unwrap_err();
    let unconfirmed = failed.report.unwrap().record.unwrap();
    assert_eq!(state(&store).record.as_deref(), Some(unconfirmed.as_str()));
    // As if the run had died before it wrote the pointer.
    store.insert(POINTER, &confirmed.bytes, confirmed.headers.clone());
    store.reset_counts();

    run(&store, &cdn, &versioned(&build)).await.unwrap();

    assert_eq!(
        store.calls("list"),
        2,
        "the version and the records after the pointer's"
    );
    let created = cdn.created.lock().unwrap().clone();
    assert_eq!(created.last().unwrap().1, ["/mfe-manifest.json"]);
    assert_eq!(pointer(&store).latest, unconfirmed);
}

#[tokio::test]
async fn a_state_a_versioned_run_cannot_write_is_removed_and_the_next_run_lists_the_records() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    assert!(store.object(STATE).is_some());
    store.inject("put", STATE, &[Injected::ServiceError]);
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert!(
        store.object(STATE).is_none(),
        "the in-place state would name the pointer's record had this run stopped before it"
    );
    store.reset_counts();
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert_eq!(store.calls("list"), 2);
}
