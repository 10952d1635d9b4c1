//! The deploy state an in-place deploy keeps: it names the record its run goes on to
//! write, so that the next run lists no records while the pointer agrees, and never
//! vouches for a record a killed or concurrent run left unconfirmed.

use super::*;

#[tokio::test]
async fn a_changing_deploy_names_its_record_in_the_state_and_the_next_lists_no_records() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    build.write("remoteEntry.js", "entry v2");
    store.reset_counts();
    let report = run(&store, &cdn, &build.request()).await.unwrap();
    assert_eq!(report.status, Status::Deployed);
    assert_eq!(store.calls("list"), 1, "the module's listing alone");
    assert_eq!(state(&store).record, report.record);
    assert_eq!(Some(pointer(&store).latest), report.record);
}

#[tokio::test]
async fn a_state_another_run_wrote_meanwhile_is_written_without_a_record() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    build.write("remoteEntry.js", "entry v2");
    another_run_rewrites_the_state(&store, |other| other.version = "theirs".to_owned());
    run(&store, &cdn, &build.request()).await.unwrap();
    assert_eq!(state(&store).record, None);
    store.reset_counts();
    run(&store, &cdn, &build.request()).await.unwrap();
    assert_eq!(
        store.calls("list"),
        2,
        "the module and the records after the pointer"
    );
}

#[tokio::test]
async fn a_state_that_cannot_be_written_is_emptied_so_the_next_run_finds_the_record() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    let confirmed = store.object(POINTER).unwrap();
    build.write("remoteEntry.js", "entry v2");
    store.inject("put", STATE, &[Injected::ServiceError]);
    the_next_invalidation_fails(&cdn);
    run(&store, &cdn, &build.request()).await.unwrap_err();
    assert_eq!(
        state(&store).record,
        None,
        "the old state would name the pointer's record"
    );
    // As if the run had died before it wrote the pointer.
    store.insert(POINTER, &confirmed.bytes, confirmed.headers.clone());
    run(&store, &cdn, &build.request()).await.unwrap();
    let created = cdn.created.lock().unwrap().clone();
    assert_eq!(created.last().unwrap().1, ["/shop/remoteEntry.js"]);
}

#[tokio::test]
async fn a_state_left_in_the_module_prefix_moves_to_the_reserved_prefix() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    let state = store.object(STATE).unwrap();
    store.remove(STATE);
    store.insert("shop/.mfe-deploy/state.json", &state.bytes, state.headers);
    store.reset_counts();

    let report = run(&store, &cdn, &build.request()).await.unwrap();

    assert_eq!(
        report.uploaded, 0,
        "the old state still vouches for every file"
    );
    assert_eq!(store.calls("head"), 0);
    assert!(store.object("shop/.mfe-deploy/state.json").is_none());
    assert_eq!(store.object(STATE).unwrap().bytes, state.bytes);
}
