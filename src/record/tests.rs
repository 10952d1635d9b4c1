use super::*;
use crate::clock::Utc;
use crate::layout::{DEFAULT_RECORDS_PREFIX, Layout};
use crate::store::memory::{Injected, MemoryStore};

fn layout() -> Layout {
    Layout::new(DEFAULT_RECORDS_PREFIX, "shop/").unwrap()
}

fn record(version: &str, paths: &[&str]) -> DeployRecord {
    DeployRecord {
        schema: RECORD_SCHEMA.to_owned(),
        kind: RecordKind::Deploy,
        module: "shop".to_owned(),
        prefix: "shop/".to_owned(),
        environment: "production".to_owned(),
        mode: "in-place".to_owned(),
        version: version.to_owned(),
        previous_version: None,
        provenance: Provenance::default(),
        time: "2026-12-02T01:08:11.123Z".to_owned(),
        files: BTreeMap::from([(
            "remoteEntry.js".to_owned(),
            RecordedFile {
                key: "shop/remoteEntry.js".to_owned(),
                size: 5,
                sha256: "ab".to_owned(),
                etag: None,
            },
        )]),
        invalidation: (!paths.is_empty()).then(|| Invalidation {
            distribution_id: "E1".to_owned(),
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        rollout: None,
        republished: None,
    }
}

fn pointer(latest: &str, owed: &[&str]) -> Pointer {
    Pointer {
        schema: POINTER_SCHEMA.to_owned(),
        module: "shop".to_owned(),
        latest: latest.to_owned(),
        version: "v".to_owned(),
        owed: (!owed.is_empty()).then(|| Invalidation {
            distribution_id: "E1".to_owned(),
            paths: owed.iter().map(|p| (*p).to_owned()).collect(),
        }),
    }
}

#[test]
fn records_round_trip_and_foreign_schemas_are_ignored() {
    let r = record("v1", &["/shop/remoteEntry.js"]);
    assert_eq!(DeployRecord::from_json(&r.to_json()), Some(r.clone()));
    let text = String::from_utf8(r.to_json()).unwrap();
    assert!(text.contains("\"previous-version\": null"), "{text}");
    assert!(text.contains("\"ref\": null"), "{text}");
    assert_eq!(DeployRecord::from_json(br#"{"schema": "other"}"#), None);
}

#[test]
fn provenance_comes_from_the_runner() {
    let env = |name: &str| {
        match name {
            "GITHUB_SHA" => Some("abc123"),
            "GITHUB_REF" => Some("refs/heads/master"),
            "GITHUB_ACTOR" => Some("octocat"),
            "GITHUB_SERVER_URL" => Some("https://github.com"),
            "GITHUB_REPOSITORY" => Some("acme/storefront"),
            "GITHUB_RUN_ID" => Some("42"),
            "GITHUB_RUN_ATTEMPT" => Some("2"),
            _ => None,
        }
        .map(str::to_owned)
    };
    let p = Provenance::from_env(&env);
    assert_eq!(p.commit.as_deref(), Some("abc123"));
    assert_eq!(
        p.run_url.as_deref(),
        Some("https://github.com/acme/storefront/actions/runs/42/attempts/2")
    );
    assert_eq!(Provenance::from_env(&|_| None), Provenance::default());
}

#[test]
fn a_merged_pointer_keeps_the_newer_record_and_every_owed_path() {
    let ours = pointer("r/2", &["/a"]);
    let theirs = pointer("r/3", &["/b", "/a"]);
    let merged = ours.merge(&theirs);
    assert_eq!(merged.latest, "r/3");
    assert_eq!(merged.owed.unwrap().paths, ["/a", "/b"]);
}

#[test]
fn owed_paths_are_the_unconfirmed_records_else_the_pointers() {
    let confirmed = History {
        pointer: Some(pointer("r/1", &["/x"])),
        pointer_etag: Some("e".to_owned()),
        unconfirmed: None,
    };
    assert_eq!(confirmed.owed("E1"), ["/x"]);
    assert!(
        confirmed.owed("E2").is_empty(),
        "another distribution owes nothing"
    );
    let killed = History {
        unconfirmed: Some(("r/2".to_owned(), record("v2", &["/x", "/y"]))),
        ..confirmed
    };
    assert_eq!(killed.owed("E1"), ["/x", "/y"]);
    assert_eq!(killed.latest(), Some(("r/2", "v2")));
}

#[tokio::test]
async fn a_written_record_is_found_as_unconfirmed_until_a_pointer_names_it() {
    let store = MemoryStore::new();
    let l = layout();
    let key = write_record(
        &store,
        &l,
        &record("v1", &["/shop/a"]),
        Utc::from_millis(0),
        &new_nonce(),
    )
    .await
    .unwrap();
    assert!(key.starts_with("_mfe-deploy/modules/shop/records/19700101T000000.000Z-v1-"));
    let history = read_history(&store, &l).await.unwrap();
    assert_eq!(history.unconfirmed.as_ref().unwrap().0, key);
    assert_eq!(history.pointer, None);

    update_pointer(&store, &l, None, pointer(&key, &[]))
        .await
        .unwrap();
    let history = read_history(&store, &l).await.unwrap();
    assert_eq!(history.unconfirmed, None);
    assert_eq!(history.latest().unwrap().0, key);
    assert!(history.owed("E1").is_empty());
}

#[tokio::test]
async fn records_are_never_overwritten() {
    let store = MemoryStore::new();
    let l = layout();
    let a = write_record(
        &store,
        &l,
        &record("v1", &[]),
        Utc::from_millis(0),
        &new_nonce(),
    )
    .await
    .unwrap();
    let b = write_record(
        &store,
        &l,
        &record("v1", &[]),
        Utc::from_millis(0),
        &new_nonce(),
    )
    .await
    .unwrap();
    assert_ne!(a, b, "the nonce keeps same-millisecond records apart");
    assert_eq!(store.keys().len(), 2);
}

#[tokio::test]
async fn a_pointer_update_that_loses_a_race_rereads_merges_and_retries() {
    let store = MemoryStore::new();
    let l = layout();
    update_pointer(&store, &l, None, pointer("r/1", &[]))
        .await
        .unwrap();
    let etag = store.object(&l.pointer_key()).unwrap().etag;
    // Another run moves the pointer after we read it.
    let key = l.pointer_key();
    store.before("put", &l.pointer_key(), move |s| {
        s.insert(
            &key,
            &pointer("r/3", &["/other"]).to_json(),
            crate::model::Headers {
                cache_control: "no-store".to_owned(),
                content_type: "application/json".to_owned(),
            },
        )
    });
    update_pointer(&store, &l, Some(&etag), pointer("r/2", &["/ours"]))
        .await
        .unwrap();
    let stored = Pointer::from_json(&store.object(&l.pointer_key()).unwrap().bytes).unwrap();
    assert_eq!(stored.latest, "r/3");
    assert_eq!(stored.owed.unwrap().paths, ["/ours", "/other"]);
}

#[tokio::test(start_paused = true)]
async fn a_pointer_that_stays_contended_fails_clearly_after_the_bound() {
    let store = MemoryStore::new();
    let l = layout();
    store.inject("put", &l.pointer_key(), &[Injected::Conflict; 5]);
    let err = update_pointer(&store, &l, None, pointer("r/1", &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, RecordError::Contended { .. }), "{err}");
    assert_eq!(store.calls("put"), POINTER_ATTEMPTS as usize);
}
