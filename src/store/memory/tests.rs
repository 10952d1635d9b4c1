use super::*;
use crate::store::{Body, ObjectStore};

fn meta() -> ObjectMeta {
    ObjectMeta::with_sha256(
        Headers {
            cache_control: "no-cache".to_owned(),
            content_type: "text/plain".to_owned(),
        },
        "ab",
    )
}

async fn put(
    store: &MemoryStore,
    key: &str,
    bytes: &[u8],
    condition: Condition,
) -> Result<String, StoreError> {
    store
        .put(key, Body::Bytes(bytes.to_vec()), &meta(), &condition)
        .await
}

#[tokio::test]
async fn put_if_absent_writes_a_new_key_and_refuses_an_existing_one() {
    let store = MemoryStore::new();
    put(&store, "k", b"one", Condition::Absent).await.unwrap();
    let err = put(&store, "k", b"two", Condition::Absent)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::PreconditionFailed { .. }),
        "{err}"
    );
    assert_eq!(store.object("k").unwrap().bytes, b"one");
}

#[tokio::test]
async fn put_if_match_needs_the_current_etag() {
    let store = MemoryStore::new();
    let first = put(&store, "k", b"one", Condition::None).await.unwrap();
    let err = put(&store, "k", b"x", Condition::Matches("other".to_owned()))
        .await
        .unwrap_err();
    assert!(err.is_precondition());
    put(&store, "k", b"two", Condition::Matches(first))
        .await
        .unwrap();
    assert_eq!(store.object("k").unwrap().bytes, b"two");
    let missing = put(&store, "gone", b"x", Condition::Matches("e".to_owned())).await;
    assert!(missing.unwrap_err().is_precondition());
}

#[tokio::test]
async fn copy_if_match_refuses_an_object_that_changed_and_replace_drops_unsent_metadata() {
    let store = MemoryStore::new();
    let etag = put(&store, "k", b"one", Condition::None).await.unwrap();
    let err = store
        .replace_headers("k", 1, &meta(), Some("stale"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::PreconditionFailed { .. }));
    let plain = ObjectMeta::plain(meta().headers);
    store
        .replace_headers("k", 1, &plain, Some(&etag))
        .await
        .unwrap();
    assert!(store.object("k").unwrap().metadata.is_empty());
}

#[tokio::test]
async fn injected_errors_come_one_per_call_in_order_then_calls_succeed() {
    let store = MemoryStore::new();
    store.inject(
        "put",
        "k",
        &[Injected::PreconditionFailed, Injected::Conflict],
    );
    let first = put(&store, "k", b"1", Condition::None).await.unwrap_err();
    let second = put(&store, "k", b"1", Condition::None).await.unwrap_err();
    assert!(matches!(first, StoreError::PreconditionFailed { .. }));
    assert!(matches!(second, StoreError::ConditionalConflict { .. }));
    put(&store, "k", b"1", Condition::None).await.unwrap();
    assert_eq!(store.calls("put"), 3);
}

#[tokio::test]
async fn a_writer_before_the_call_makes_a_conditional_put_fail() {
    let store = MemoryStore::new();
    store.before("put", "k", |s| s.insert("k", b"theirs", meta().headers));
    let err = put(&store, "k", b"ours", Condition::Absent)
        .await
        .unwrap_err();
    assert!(err.is_precondition());
    assert_eq!(store.object("k").unwrap().bytes, b"theirs");
}

#[tokio::test]
async fn listing_starts_after_the_given_key() {
    let store = MemoryStore::new();
    for key in ["p/a", "p/b", "p/c", "q/a"] {
        store.insert(key, b"x", meta().headers);
    }
    let keys: Vec<_> = store
        .list_from("p/", Some("p/a"))
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, ["p/b", "p/c"]);
}

#[tokio::test]
async fn batch_delete_reports_refused_keys_and_splits_at_a_thousand() {
    let store = MemoryStore::new();
    let keys: Vec<String> = (0..1_001).map(|i| format!("p/{i:04}")).collect();
    for key in &keys {
        store.insert(key, b"x", meta().headers);
    }
    store.refuse_delete("p/0007");
    let outcome = store.delete(&keys).await.unwrap();
    assert_eq!(outcome.deleted.len(), 1_000);
    assert_eq!(
        outcome.failed,
        [("p/0007".to_owned(), "AccessDenied".to_owned())]
    );
    assert_eq!(store.calls("delete"), 2);
    assert_eq!(store.keys(), ["p/0007"]);
}

#[tokio::test]
async fn uploads_in_progress_are_listed_by_prefix_and_aborted() {
    let store = MemoryStore::new();
    let id = store.insert_upload("p/big.bin", 100);
    store.insert_upload("q/other.bin", 100);
    let pending = store.list_uploads("p/").await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].upload_id.as_str(), pending[0].initiated),
        (id.as_str(), Some(100))
    );
    store.abort_multipart("p/big.bin", &id).await.unwrap();
    assert!(store.list_uploads("p/").await.unwrap().is_empty());
}

#[tokio::test]
async fn complete_if_absent_refuses_when_the_key_appeared() {
    let store = MemoryStore::new();
    let id = store.create_multipart("k", &meta()).await.unwrap();
    let part = store
        .upload_part("k", &id, 1, Body::Bytes(b"abc".to_vec()))
        .await
        .unwrap();
    store.insert("k", b"theirs", meta().headers);
    let err = store
        .complete_multipart("k", &id, &[(1, part)], &Condition::Absent)
        .await
        .unwrap_err();
    assert!(err.is_precondition());
}

#[tokio::test]
async fn a_file_is_refused_when_its_bytes_differ_from_the_digests_it_was_sent_with() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.js");
    std::fs::write(&path, b"scanned").unwrap();
    let md5: [u8; 16] = Md5::digest(b"scanned").into();
    let sha256: [u8; 32] = sha2::Sha256::digest(b"scanned").into();
    let file = |md5, sha256| Body::File {
        path: &path,
        offset: 0,
        len: 7,
        md5,
        sha256,
    };
    let (store, meta) = (MemoryStore::new(), meta());
    let send = |body| store.put("a.js", body, &meta, &Condition::None);
    send(file(Some(md5), Some(sha256))).await.unwrap();
    let other: [u8; 32] = sha2::Sha256::digest(b"changed").into();
    let err = send(file(Some(md5), Some(other))).await.unwrap_err();
    assert!(
        err.to_string().contains("XAmzContentSHA256Mismatch"),
        "{err}"
    );
    let other: [u8; 16] = Md5::digest(b"changed").into();
    let err = send(file(Some(other), None)).await.unwrap_err();
    assert!(err.to_string().contains("BadDigest"), "{err}");
    // A whole file goes with its SHA-256 alone; a body needs one of the two.
    send(file(None, Some(sha256))).await.unwrap();
    let err = send(file(None, None)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("without its Content-MD5 or SHA-256"),
        "{err}"
    );
}
