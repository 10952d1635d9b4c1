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
    the_next_invalidation_fails(&cdn);
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
    assert_eq!(
        created.len(),
        2,
        "the first run's, then what the killed one owed"
    );
    assert_eq!(created[1].1, ["/mfe-manifest.json"]);
    assert_eq!(pointer(&store).latest, unconfirmed);
}

#[tokio::test]
async fn a_state_a_versioned_run_cannot_write_names_no_record_and_the_next_run_lists_the_records() {
    let build = Build::new();
    let cdn = cdn();
    // The state's write fails; then the empty state's too, and it is deleted.
    for failures in [1, 2] {
        let store = MemoryStore::new();
        run(&store, &cdn, &build.request()).await.unwrap();
        assert!(state(&store).record.is_some());
        store.inject("put", STATE, &vec![Injected::ServiceError; failures]);
        run(&store, &cdn, &versioned(&build)).await.unwrap();
        let left = store
            .object(STATE)
            .map(|o| crate::state::DeployState::from_json(&o.bytes).unwrap());
        match failures {
            1 => assert_eq!(left.map(|s| (s.record, s.files.len())), Some((None, 0))),
            _ => assert!(left.is_none()),
        }
        store.reset_counts();
        run(&store, &cdn, &versioned(&build)).await.unwrap();
        assert_eq!(store.calls("list"), 2, "after {failures} failure(s)");
    }
}

#[tokio::test]
async fn a_state_another_run_wrote_meanwhile_is_written_without_the_versioned_run_s_record() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    build.write("remoteEntry.js", "entry v2");
    another_run_rewrites_the_state(&store, |other| other.version = "theirs".to_owned());
    let report = run(&store, &cdn, &versioned(&build)).await.unwrap();
    let left = state(&store);
    assert_eq!(
        (left.version.as_str(), left.record),
        (report.version.as_str(), None)
    );
    store.reset_counts();
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert_eq!(store.calls("list"), 2, "the version and the records");
}

#[tokio::test]
async fn a_rollback_after_a_versioned_deploy_leaves_the_state_naming_no_record() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    build.write("remoteEntry.js", "entry v2");
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    assert!(state(&store).record.is_some());
    let back = DeployRequest {
        rollback_to: Some(crate::request::RollbackTarget::Previous),
        ..versioned(&build)
    };
    let report = run(&store, &cdn, &back).await.unwrap();
    assert_eq!(report.status, Status::RolledBack);
    assert_eq!(
        state(&store).record,
        None,
        "had the rollback stopped before its pointer, the state would have named the pointer's record"
    );
}

#[tokio::test]
async fn a_state_not_this_version_s_own_vouches_by_its_time_for_nothing() {
    let build = Build::new();
    let cdn = cdn();
    // As a rollback leaves it (no record), another version's, one that also names
    // objects outside the version (an in-place state of the same build).
    type Tamper = fn(&mut crate::state::DeployState);
    let tamper: [(&str, Tamper); 3] = [
        ("no record", |s| s.record = None),
        ("another version", |s| s.version = "other".to_owned()),
        ("other objects", |s| {
            let any = s.files.values().next().unwrap().clone();
            s.files.insert("remoteEntry.js".to_owned(), any);
        }),
    ];
    for (what, change) in tamper {
        let store = MemoryStore::new();
        run(&store, &cdn, &versioned(&build)).await.unwrap();
        store.unlisted_etags();
        // No record to vouch instead.
        for key in store.keys().into_iter().filter(|k| k.starts_with(RECORDS)) {
            store.remove(&key);
        }
        let mut changed = state(&store);
        change(&mut changed);
        let headers = store.object(STATE).unwrap().headers;
        store.insert(STATE, &changed.to_json(), headers);
        store.reset_counts();
        run(&store, &cdn, &versioned(&build)).await.unwrap();
        assert_eq!(
            store.calls("head"),
            4,
            "{what}: a listing without ETags, and a state that may be newer than what it names"
        );
    }
}

#[tokio::test]
async fn a_rollback_that_finds_the_state_rewritten_meanwhile_leaves_it_naming_no_record() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    build.write("remoteEntry.js", "entry v2");
    run(&store, &cdn, &versioned(&build)).await.unwrap();
    another_run_rewrites_the_state(&store, |other| {
        other.record = Some(format!(
            "{RECORDS}99991231T235959.999Z-theirs-00000000.json"
        ));
    });
    let back = DeployRequest {
        rollback_to: Some(crate::request::RollbackTarget::Previous),
        ..versioned(&build)
    };
    run(&store, &cdn, &back).await.unwrap();
    assert_eq!(state(&store).record, None);
}

#[tokio::test]
async fn a_preview_s_close_empties_its_state_before_its_record() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let preview = |head: Option<&str>| DeployRequest {
        version: head.map(|h| format!("pr-7-{h}")),
        preview: Some(crate::request::Preview {
            number: 7,
            head: head.map(str::to_owned),
            public_url: None,
        }),
        ..versioned(&build)
    };
    let key = "_mfe-deploy/previews/pr-7/modules/shop/state.json";
    let published = run(&store, &cdn, &preview(Some("abc1234"))).await.unwrap();
    let named = crate::state::DeployState::from_json(&store.object(key).unwrap().bytes).unwrap();
    assert_eq!(named.record, published.record);
    store.reset_counts();
    let closed = run(&store, &cdn, &preview(None)).await.unwrap();
    let writes = store.writes();
    let at = |k: &str| writes.iter().position(|w| w == k).unwrap();
    assert!(
        at(key) < at(closed.record.as_deref().unwrap()),
        "{writes:?}"
    );
    let left = crate::state::DeployState::from_json(&store.object(key).unwrap().bytes).unwrap();
    assert_eq!((left.record, left.files.len()), (None, 0));
}
