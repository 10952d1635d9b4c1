use std::path::Path;

use super::*;
use crate::classify::Classifier;
use crate::config::CachingConfig;
use crate::model::Headers;
use crate::plan::{RemoteView, build_plan};
use crate::scan::{Digest, LocalFile, MULTIPART_THRESHOLD};
use crate::store::memory::MemoryStore;

fn write_build(dir: &Path, files: &[(&str, Vec<u8>)]) -> Vec<LocalFile> {
    files
        .iter()
        .map(|(path, body)| {
            let abs = dir.join(path);
            std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
            std::fs::write(&abs, body).unwrap();
            LocalFile {
                rel_path: (*path).to_owned(),
                abs_path: abs,
                digest: Digest::of_reader(body.as_slice()).unwrap(),
            }
        })
        .collect()
}

fn sample(dir: &Path) -> Vec<LocalFile> {
    write_build(
        dir,
        &[
            ("index.html", b"<html>".to_vec()),
            ("remoteEntry.js", b"entry".to_vec()),
            ("main.1a2b3c4d.js", b"main".to_vec()),
            ("chunk.5e6f7a8b.js", b"chunk".to_vec()),
            ("robots.txt", b"robots".to_vec()),
        ],
    )
}

async fn plan_for(store: &MemoryStore, files: &[LocalFile]) -> Plan {
    let listing = store.list("m/").await.unwrap();
    let view = RemoteView::new("m/", listing, None);
    let classifier = Classifier::new(&CachingConfig::default()).unwrap();
    build_plan(files, &classifier, "b", "m/", "v1", &view)
}

fn quiet() -> Progress {
    Progress::new(ProgressMode::Quiet)
}

#[tokio::test]
async fn phases_write_assets_then_entries_then_html() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    let plan = plan_for(&store, &files).await;
    let applied = apply(&store, &plan, &Slots::new(8), &quiet(), None)
        .await
        .unwrap();
    assert_eq!(applied.uploaded, 5);
    let writes = store.writes();
    let position = |k: &str| writes.iter().position(|w| w == k).unwrap();
    for asset in ["m/main.1a2b3c4d.js", "m/chunk.5e6f7a8b.js", "m/robots.txt"] {
        assert!(position(asset) < position("m/remoteEntry.js"));
    }
    assert!(position("m/remoteEntry.js") < position("m/index.html"));
    assert_eq!(
        store.object("m/index.html").unwrap().headers.cache_control,
        "no-cache"
    );
}

#[tokio::test]
async fn failure_in_assets_stops_before_entries_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    store.fail_on("put", "m/chunk.5e6f7a8b.js");
    let plan = plan_for(&store, &files).await;
    let err = apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap_err();
    assert_eq!(err.phase, Phase::Assets);
    assert_eq!(err.failures[0].0, "chunk.5e6f7a8b.js");
    assert_eq!(err.skipped, [Phase::Entries, Phase::Html]);
    assert!(store.object("m/remoteEntry.js").is_none());
    assert!(store.object("m/index.html").is_none());
    // With one request at a time, nothing starts after the failure.
    assert!(!err.completed.contains(&"robots.txt".to_owned()));
    assert!(store.object("m/robots.txt").is_none());
}

#[tokio::test]
async fn headers_only_uses_copy_not_put() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    for file in &files {
        let headers = Headers {
            cache_control: "max-age=1".to_owned(),
            content_type: "text/plain".to_owned(),
        };
        store.insert(
            &format!("m/{}", file.rel_path),
            &std::fs::read(&file.abs_path).unwrap(),
            headers,
        );
    }
    store.reset_counts();
    let mut view = RemoteView::new("m/", store.list("m/").await.unwrap(), None);
    for key in view.keys_needing_head(&files) {
        let head = store.head(&key).await.unwrap().unwrap();
        view.set_head(key, head);
    }
    let classifier = Classifier::new(&CachingConfig::default()).unwrap();
    let plan = build_plan(&files, &classifier, "b", "m/", "v1", &view);
    let applied = apply(&store, &plan, &Slots::new(4), &quiet(), None)
        .await
        .unwrap();
    assert_eq!(
        (applied.uploaded, applied.headers_updated, applied.bytes),
        (0, 5, 0)
    );
    assert_eq!(store.calls("put"), 0);
    assert_eq!(store.calls("copy"), 5);
    assert_eq!(
        store.object("m/index.html").unwrap().headers.cache_control,
        "no-cache"
    );
}

#[tokio::test]
async fn large_file_goes_up_in_parts_with_the_predicted_etag() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..MULTIPART_THRESHOLD as usize + 4096)
        .map(|i| (i % 253) as u8)
        .collect();
    let files = write_build(dir.path(), &[("video.0a1b2c3d.mp4", big.clone())]);
    let store = MemoryStore::new();
    let plan = plan_for(&store, &files).await;
    let applied = apply(&store, &plan, &Slots::new(4), &quiet(), None)
        .await
        .unwrap();
    assert_eq!(store.calls("upload_part"), 3);
    assert_eq!(store.calls("put"), 0);
    let stored = store.object("m/video.0a1b2c3d.mp4").unwrap();
    assert_eq!(stored.bytes, big);
    assert_eq!(stored.etag, files[0].digest.expected_etag());
    assert_eq!(applied.etags["m/video.0a1b2c3d.mp4"], stored.etag);
}

#[tokio::test]
async fn failed_part_aborts_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![3u8; MULTIPART_THRESHOLD as usize + 1];
    let files = write_build(dir.path(), &[("big.0a1b2c3d.bin", big)]);
    let store = MemoryStore::new();
    store.fail_on("upload_part", "m/big.0a1b2c3d.bin");
    let plan = plan_for(&store, &files).await;
    assert!(
        apply(&store, &plan, &Slots::new(4), &quiet(), None)
            .await
            .is_err()
    );
    assert_eq!(store.calls("abort_multipart"), 1);
    assert!(store.object("m/big.0a1b2c3d.bin").is_none());
}

#[tokio::test]
async fn a_hashed_key_another_writer_filled_with_other_bytes_is_refused_and_nothing_later_runs() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    let plan = plan_for(&store, &files).await;
    let headers = plan.files[0].headers.clone();
    store.before("put", "m/main.1a2b3c4d.js", move |s| {
        s.insert("m/main.1a2b3c4d.js", b"theirs", headers)
    });
    let err = apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap_err();
    assert_eq!(err.phase, Phase::Assets);
    assert!(
        matches!(err.failures[0].1, FileError::ImmutableTaken { .. }),
        "{:?}",
        err.failures
    );
    assert_eq!(store.object("m/main.1a2b3c4d.js").unwrap().bytes, b"theirs");
    assert!(store.object("m/remoteEntry.js").is_none());
    assert!(store.object("m/index.html").is_none());
}

#[tokio::test]
async fn a_hashed_key_another_writer_filled_with_the_same_bytes_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    let plan = plan_for(&store, &files).await;
    let headers = plan.files[0].headers.clone();
    store.before("put", "m/main.1a2b3c4d.js", move |s| {
        s.insert("m/main.1a2b3c4d.js", b"main", headers)
    });
    let applied = apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap();
    assert_eq!(applied.already_there, ["main.1a2b3c4d.js"]);
    assert_eq!(applied.uploaded, 4);
    assert!(store.object("m/index.html").is_some());
}

#[tokio::test]
async fn every_write_carries_the_sha256_of_its_bytes_as_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    let plan = plan_for(&store, &files).await;
    apply(&store, &plan, &Slots::new(4), &quiet(), None)
        .await
        .unwrap();
    for file in &files {
        let object = store.object(&format!("m/{}", file.rel_path)).unwrap();
        assert_eq!(
            object.metadata.get("sha256"),
            Some(&file.digest.sha256_hex()),
            "{}",
            file.rel_path
        );
    }
}

#[tokio::test]
async fn a_header_rewrite_of_an_object_that_changed_since_the_listing_fails() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    for f in &files {
        let other = Headers {
            cache_control: "max-age=1".to_owned(),
            content_type: "text/plain".to_owned(),
        };
        store.insert(
            &format!("m/{}", f.rel_path),
            &std::fs::read(&f.abs_path).unwrap(),
            other,
        );
    }
    let listing = store.list("m/").await.unwrap();
    let mut view = RemoteView::new("m/", listing, None);
    for key in view.keys_needing_head(&files) {
        let head = store.head(&key).await.unwrap().unwrap();
        view.set_head(key, head);
    }
    let classifier = Classifier::new(&CachingConfig::default()).unwrap();
    let plan = build_plan(&files, &classifier, "b", "m/", "v1", &view);
    assert!(
        plan.files
            .iter()
            .all(|f| matches!(f.action, Action::HeadersOnly { .. }))
    );
    store.before("copy", "m/robots.txt", |s| {
        s.insert(
            "m/robots.txt",
            b"rewritten",
            Headers {
                cache_control: "x".to_owned(),
                content_type: "text/plain".to_owned(),
            },
        )
    });
    let err = apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err.failures[0].1, FileError::ChangedSinceListing { .. }),
        "{:?}",
        err.failures
    );
    assert_eq!(store.object("m/robots.txt").unwrap().bytes, b"rewritten");
}

#[tokio::test]
async fn a_refused_multipart_completion_aborts_its_upload() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![3u8; usize::try_from(MULTIPART_THRESHOLD).unwrap() + 1];
    let files = write_build(dir.path(), &[("big.0a1b2c3d.bin", big)]);
    let store = MemoryStore::new();
    let plan = plan_for(&store, &files).await;
    store.inject(
        "complete_multipart",
        "m/big.0a1b2c3d.bin",
        &[crate::store::memory::Injected::ServiceError],
    );
    apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap_err();
    assert!(store.uploads().is_empty(), "the upload was aborted");
}

#[tokio::test]
async fn the_entry_is_stored_before_the_mf_manifest_json_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_build(
        dir.path(),
        &[
            ("remoteEntry.js", b"entry".to_vec()),
            ("mf-manifest.json", b"{}".to_vec()),
        ],
    );
    let store = MemoryStore::new();
    let plan = plan_for(&store, &files).await;
    apply(&store, &plan, &Slots::new(8), &quiet(), None)
        .await
        .unwrap();
    assert_eq!(store.writes(), ["m/remoteEntry.js", "m/mf-manifest.json"]);
}

#[tokio::test]
async fn a_versioned_plan_creates_every_key_only_if_absent() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    let classifier = Classifier::new(&CachingConfig::default()).unwrap();
    let plan = crate::plan::build_versioned_plan(
        &files,
        &classifier,
        "b",
        "m/v1/",
        "v1",
        &RemoteView::default(),
    );
    let headers = plan.files[0].headers.clone();
    // Another deploy of the same label with other bytes lands first.
    store.before("put", "m/v1/remoteEntry.js", move |s| {
        s.insert("m/v1/remoteEntry.js", b"another build", headers)
    });
    let err = apply(&store, &plan, &Slots::new(1), &quiet(), None)
        .await
        .unwrap_err();
    assert!(matches!(
        err.failures[0].1,
        FileError::ImmutableTaken { .. }
    ));
    assert!(store.object("m/v1/index.html").is_none());
}

fn guarded_entry(from: &str, key: &str) -> crate::references::Reference {
    crate::references::Reference {
        from: from.to_owned(),
        key: key.to_owned(),
    }
}

#[tokio::test]
async fn a_referenced_chunk_removed_after_the_listing_stops_the_phase_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    let headers = Headers {
        cache_control: "public, max-age=31536000, immutable".to_owned(),
        content_type: "text/javascript; charset=utf-8".to_owned(),
    };
    store.insert("m/chunk.5e6f7a8b.js", b"chunk", headers.clone());
    store.insert("m/old.0a0b0c0d.js", b"old", headers);
    let mut plan = plan_for(&store, &files).await;
    plan.guard(&[
        guarded_entry("remoteEntry.js", "m/old.0a0b0c0d.js"),
        // Written by this run's assets phase: never checked again.
        guarded_entry("remoteEntry.js", "m/main.1a2b3c4d.js"),
        // Its headers are rewritten in the assets phase (the listing shows none),
        // which confirms it.
        guarded_entry("remoteEntry.js", "m/chunk.5e6f7a8b.js"),
    ]);
    assert_eq!(
        plan.guards[&Phase::Entries],
        [guarded_entry("remoteEntry.js", "m/old.0a0b0c0d.js")]
    );
    // Another writer removes a chunk the entry names, between listing and apply.
    store.remove("m/old.0a0b0c0d.js");
    let err = apply(&store, &plan, &Slots::new(8), &quiet(), None)
        .await
        .unwrap_err();
    assert_eq!(err.phase, Phase::Entries);
    assert_eq!(err.skipped, [Phase::Entries, Phase::Html]);
    assert_eq!(err.failures.len(), 1);
    assert!(
        matches!(&err.failures[0].1, FileError::MissingReference { key, named_by, .. }
            if key == "m/old.0a0b0c0d.js" && named_by == "remoteEntry.js")
    );
    assert!(store.object("m/remoteEntry.js").is_none());
    assert!(store.object("m/index.html").is_none());
    assert!(store.object("m/main.1a2b3c4d.js").is_some());
}

#[tokio::test]
async fn many_guarded_keys_are_confirmed_with_one_listing() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample(dir.path());
    let store = MemoryStore::new();
    let headers = Headers {
        cache_control: "public, max-age=31536000, immutable".to_owned(),
        content_type: "text/javascript; charset=utf-8".to_owned(),
    };
    let mut references = Vec::new();
    for n in 0..100 {
        let key = format!("m/c{n}.0a0b0c0d.js");
        store.insert(&key, b"c", headers.clone());
        references.push(guarded_entry("remoteEntry.js", &key));
    }
    let mut plan = plan_for(&store, &files).await;
    plan.guard(&references);
    let (lists, heads) = (store.calls("list"), store.calls("head"));
    apply(&store, &plan, &Slots::new(8), &quiet(), None)
        .await
        .unwrap();
    assert_eq!(store.calls("list") - lists, 1);
    assert_eq!(store.calls("head"), heads);
}

async fn chunks_plan(store: &MemoryStore, dir: &Path, prefix: &str) -> Plan {
    let files: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| {
            (
                format!("chunk-{i}.0a1b2c3d.js"),
                format!("{prefix}{i}").into_bytes(),
            )
        })
        .collect();
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    let files = write_build(dir, &files);
    let listing = store.list(prefix).await.unwrap();
    let view = RemoteView::new(prefix, listing, None);
    let classifier = Classifier::new(&CachingConfig::default()).unwrap();
    build_plan(&files, &classifier, "b", prefix, "v1", &view)
}

/// Two modules' applies at once, each with its own slots or sharing one set:
/// the most puts in flight together.
async fn most_puts_at_once(shared: bool) -> usize {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = MemoryStore::new();
    store.overlap("put");
    let (a, b) = (
        chunks_plan(&store, one.path(), "a/").await,
        chunks_plan(&store, two.path(), "b/").await,
    );
    let (run, own) = (Slots::new(3), Slots::new(3));
    let second = if shared { &run } else { &own };
    let progress = quiet();
    let (x, y) = tokio::join!(
        apply(&store, &a, &run, &progress, None),
        apply(&store, &b, second, &progress, None)
    );
    assert_eq!((x.unwrap().uploaded, y.unwrap().uploaded), (8, 8));
    store.most_at_once("put")
}

#[tokio::test]
async fn modules_sharing_slots_write_no_more_files_at_once_than_the_slots() {
    assert_eq!(most_puts_at_once(false).await, 6);
    assert_eq!(most_puts_at_once(true).await, 3);
}
