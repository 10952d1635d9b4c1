//! A new version that shares files with another: server-side copies, and what
//! happens when the store will not copy.

use std::path::Path;

use super::*;
use crate::classify::Classifier;
use crate::config::CachingConfig;
use crate::model::Headers;
use crate::plan::{CopySources, RemoteView, build_versioned_plan};
use crate::scan::{Digest, LocalFile};
use crate::store::memory::{MemoryStore, etag_of};

const V1: [(&str, &[u8]); 4] = [
    ("remoteEntry.js", b"entry"),
    ("main.1a2b3c4d.js", b"main"),
    ("chunk.5e6f7a8b.js", b"chunk"),
    ("logo.png", b"png"),
];

fn headers() -> Headers {
    Headers {
        cache_control: "public, max-age=31536000, immutable".to_owned(),
        content_type: "text/javascript".to_owned(),
    }
}

/// v1 in the bucket, as its record names it; v2's build: v1 with one chunk changed.
fn setup(dir: &Path) -> (MemoryStore, CopySources, Vec<LocalFile>) {
    let store = MemoryStore::new();
    let mut sources = CopySources::default();
    for (rel, bytes) in V1 {
        let key = format!("m/v1/{rel}");
        store.insert(&key, bytes, headers());
        let digest = Digest::of_reader(bytes).unwrap();
        sources.insert(digest.size, &digest.sha256_hex(), &key, &etag_of(bytes));
    }
    let files = V1
        .iter()
        .map(|&(rel, bytes)| {
            let bytes: &[u8] = if rel == "chunk.5e6f7a8b.js" {
                b"chunk v2"
            } else {
                bytes
            };
            let abs = dir.join(rel);
            std::fs::write(&abs, bytes).unwrap();
            LocalFile {
                rel_path: rel.to_owned(),
                abs_path: abs,
                digest: Digest::of_reader(bytes).unwrap(),
            }
        })
        .collect();
    (store, sources, files)
}

fn v2_plan(files: &[LocalFile], sources: &CopySources) -> Plan {
    let classifier = Classifier::new(&CachingConfig::default()).unwrap();
    let remote = RemoteView::default();
    let mut plan = build_versioned_plan(files, &classifier, "b", "m/v2/", "v2", &remote);
    plan.copy_from(sources);
    plan.staged = false;
    plan
}

fn quiet() -> Progress {
    Progress::new(ProgressMode::Quiet)
}

#[test]
fn new_keys_whose_bytes_another_version_holds_are_copied_the_rest_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let (_, sources, files) = setup(dir.path());
    let plan = v2_plan(&files, &sources);
    let action = |rel: &str| {
        &plan
            .files
            .iter()
            .find(|f| f.rel_path == rel)
            .unwrap()
            .action
    };
    assert_eq!(
        *action("main.1a2b3c4d.js"),
        Action::Copy {
            source: "m/v1/main.1a2b3c4d.js".to_owned(),
            source_etag: etag_of(b"main"),
        }
    );
    assert_eq!(
        *action("chunk.5e6f7a8b.js"),
        Action::Upload(UploadReason::New)
    );
    let counts = plan.counts();
    assert_eq!((counts.copied, counts.uploaded), (3, 1));
    assert_eq!(counts.bytes, 8, "only the new chunk's bytes are to be sent");
    // A copy creates its key only if absent, like an upload of the version.
    let copy = plan
        .files
        .iter()
        .find(|f| f.rel_path == "logo.png")
        .unwrap();
    assert_eq!(condition(&plan, copy), Condition::Absent);
}

#[test]
fn an_unstaged_plan_writes_everything_in_one_wave_after_every_guard() {
    let dir = tempfile::tempdir().unwrap();
    let (_, sources, files) = setup(dir.path());
    let mut plan = v2_plan(&files, &sources);
    plan.guard(&[crate::references::Reference {
        from: "remoteEntry.js".to_owned(),
        key: "shared/vendor.js".to_owned(),
    }]);
    assert_eq!(plan.waves(Phase::Assets)[0].len(), 4);
    assert!(plan.waves(Phase::Entries).iter().all(Vec::is_empty));
    assert_eq!(plan.guards_of(Phase::Assets).len(), 1);
    assert!(plan.guards_of(Phase::Entries).is_empty());
    plan.staged = true;
    assert_eq!(plan.waves(Phase::Entries)[0].len(), 1);
    assert_eq!(plan.guards_of(Phase::Entries).len(), 1);
}

#[tokio::test]
async fn copies_send_no_byte_and_carry_the_new_headers_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (store, sources, files) = setup(dir.path());
    let plan = v2_plan(&files, &sources);
    let applied = apply(&store, &plan, &Slots::new(8), &quiet(), None)
        .await
        .unwrap();
    assert_eq!((applied.copied, applied.uploaded), (3, 1));
    assert_eq!(applied.bytes, 8);
    assert_eq!(store.calls("copy"), 3);
    let copied = store.object("m/v2/main.1a2b3c4d.js").unwrap();
    assert_eq!(copied.bytes, b"main");
    assert_eq!(
        copied.metadata.get("sha256").map(String::as_str),
        Some(
            Digest::of_reader(&b"main"[..])
                .unwrap()
                .sha256_hex()
                .as_str()
        )
    );
    assert_eq!(applied.etags["m/v2/main.1a2b3c4d.js"], etag_of(b"main"));
    assert_eq!(
        store.object("m/v2/chunk.5e6f7a8b.js").unwrap().bytes,
        b"chunk v2"
    );
}

#[tokio::test]
async fn a_store_that_fails_a_copy_gets_that_file_and_the_rest_sent_instead() {
    let dir = tempfile::tempdir().unwrap();
    let (store, sources, files) = setup(dir.path());
    store.fail_on("copy", "m/v2/remoteEntry.js");
    let plan = v2_plan(&files, &sources);
    // The entry first (an unstaged wave starts with its entries); the in-memory
    // store answers in the order the calls start.
    let applied = apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap();
    assert_eq!((applied.copied, applied.uploaded), (0, 4), "{applied:?}");
    assert_eq!(store.calls("copy"), 1, "no copy after the store failed one");
    for (rel, bytes) in V1.iter().filter(|(rel, _)| !rel.starts_with("chunk")) {
        assert_eq!(store.object(&format!("m/v2/{rel}")).unwrap().bytes, *bytes);
    }
}

#[tokio::test]
async fn a_copy_whose_source_changed_is_sent_and_the_other_copies_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (store, sources, files) = setup(dir.path());
    // v1's logo is not the recorded object any more (the copy's condition fails).
    store.insert("m/v1/logo.png", b"other", headers());
    let plan = v2_plan(&files, &sources);
    let applied = apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap();
    assert_eq!((applied.copied, applied.uploaded), (2, 2), "{applied:?}");
    assert_eq!(store.object("m/v2/logo.png").unwrap().bytes, b"png");
}

#[tokio::test]
async fn copies_the_store_fails_are_sent_within_the_uploads_slots() {
    let dir = tempfile::tempdir().unwrap();
    let (store, sources, files) = setup(dir.path());
    store.fail_under("copy", "m/v2/");
    store.overlap("put");
    let plan = v2_plan(&files, &sources);
    let applied = apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap();
    assert_eq!((applied.copied, applied.uploaded), (0, 4), "{applied:?}");
    assert_eq!(store.most_at_once("put"), 1, "one upload slot, one upload");
}
