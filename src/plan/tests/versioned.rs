//! Versioned plans: every file immutable and written once, entries after what they
//! name, and MD5s only where an ETag must decide.

use super::*;

#[test]
fn a_versioned_plan_serves_every_file_immutable_and_never_rewrites_one() {
    let c = classifier("");
    let files = build();
    let plan = build_versioned_plan(&files, &c, "b", "m/v1/", "v1", &RemoteView::default());
    assert!(plan.write_once);
    assert!(plan.files.iter().all(|f| f.key.starts_with("m/v1/")));
    assert!(
        plan.files
            .iter()
            .all(|f| f.headers.cache_control == "public, max-age=31536000, immutable")
    );
    let order: Vec<_> = plan.files.iter().map(|f| f.rel_path.as_str()).collect();
    assert_eq!(
        order.last(),
        Some(&"index.html"),
        "the classes still decide the order"
    );

    // The same label with other bytes in an entry: refused, whatever the class.
    let mut listing = vec![remote("remoteEntry.js", "other entry")];
    listing[0].key = "m/v1/remoteEntry.js".to_owned();
    let view = RemoteView::new("m/v1/", listing, None);
    let plan = build_versioned_plan(&files, &c, "b", "m/v1/", "v1", &view);
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].key, "m/v1/remoteEntry.js");
}

#[test]
fn mf_manifest_json_goes_up_after_the_entry_it_names() {
    let files = vec![
        file("remoteEntry.js", "entry"),
        file("mf-manifest.json", "{}"),
        file("mf-stats.json", "{}"),
    ];
    let yaml =
        "caching:\n  federation-entries: [remoteEntry.js, mf-manifest.json, mf-stats.json]\n";
    let plan = build_plan(
        &files,
        &classifier(yaml),
        "b",
        "m/",
        "v",
        &RemoteView::default(),
    );
    let [first, second] = plan.waves(Phase::Entries);
    let names = |w: &[&PlannedFile]| w.iter().map(|f| f.rel_path.clone()).collect::<Vec<_>>();
    assert_eq!(names(&first), ["mf-stats.json", "remoteEntry.js"]);
    assert_eq!(names(&second), ["mf-manifest.json"]);
}

#[test]
fn a_file_needs_its_md5_only_for_an_etag_of_its_size_or_a_multipart_upload() {
    let (listing, state) = deployed();
    let mut moved = listing.clone();
    moved[0].etag = "\"rewritten-by-another-tool\"".to_owned();
    let view = RemoteView::new("m/", moved, Some(state));
    let untracked = RemoteView::new("m/", listing, None);

    let needed: Vec<bool> = build().iter().map(|f| view.needs_md5(f)).collect();
    assert_eq!(needed, [true, false, false, false]);
    assert!(
        build().iter().all(|f| untracked.needs_md5(f)),
        "without a state, only an ETag can tell"
    );
    assert!(
        view.needs_md5(&file("remoteEntry.js", "entrY")),
        "same size, other bytes"
    );
    assert!(
        !view.needs_md5(&file("remoteEntry.js", "edited")),
        "its size tells"
    );
    assert!(
        !view.needs_md5(&file("new.js", "new")),
        "sent with its SHA-256"
    );
    let mut video = file("video.0123456789ab.mp4", "frames");
    video.digest.size = crate::scan::MULTIPART_THRESHOLD + 1;
    assert!(view.needs_md5(&video), "each part carries its Content-MD5");
}

#[test]
fn only_what_the_state_vouches_for_needs_no_md5() {
    let (listing, state) = deployed();
    let mut moved = listing.clone();
    moved[0].etag = "\"rewritten-by-another-tool\"".to_owned();
    let view = RemoteView::new("m/", moved, Some(state.clone()));
    let untracked = RemoteView::new("m/", listing, None);

    let confirmed: Vec<bool> = build().iter().map(|f| view.confirms(f)).collect();

    // The first object's ETag is not the recorded one; the others are as recorded.
    assert_eq!(confirmed, [false, true, true, true]);
    assert!(
        !view.confirms(&file("remoteEntry.js", "edited")),
        "other bytes"
    );
    assert!(!view.confirms(&file("new.js", "new")), "not in the bucket");
    assert!(
        build().iter().all(|f| !untracked.confirms(f)),
        "without a state, only an ETag can tell"
    );
}

#[test]
fn a_deploy_record_vouches_for_listed_objects_by_etag_or_by_time_when_the_store_lists_none() {
    let local = file("a.js", "same bytes");
    let sha = local.digest.sha256_hex();
    let listed = |etag: &str, modified: i64| RemoteObject {
        key: "m/a.js".to_owned(),
        etag: etag.to_owned(),
        size: local.digest.size,
        last_modified: Some(modified),
    };
    let rows = [
        // (listed ETag, modified, recorded ETag, recorded at, vouched)
        ("kms-1", 100, Some("kms-1"), Some(200), true),
        ("kms-2", 100, Some("kms-1"), Some(200), false),
        ("kms-1", 100, None, Some(200), false),
        ("", 100, None, Some(200), true),
        ("", 300, Some("kms-1"), Some(200), false),
        ("", 100, None, None, false),
    ];
    for (etag, modified, recorded_etag, recorded_at, vouched) in rows {
        let mut view = RemoteView::new("m/", vec![listed(etag, modified)], None);
        view.vouch(
            "m/a.js",
            local.digest.size,
            recorded_etag,
            &sha,
            recorded_at,
        );
        assert_eq!(
            view.confirms(&local),
            vouched,
            "{etag:?} at {modified}, recorded {recorded_etag:?} at {recorded_at:?}"
        );
    }
}
