use std::path::Path;

use super::*;
use crate::config::Config;
use crate::store::{HeadInfo, RemoteObject};

fn file(path: &str, body: &str) -> LocalFile {
    LocalFile {
        rel_path: path.to_owned(),
        abs_path: PathBuf::from("/dist").join(path),
        digest: Digest::of_reader(body.as_bytes()).unwrap(),
    }
}

fn remote(path: &str, body: &str) -> RemoteObject {
    let digest = Digest::of_reader(body.as_bytes()).unwrap();
    RemoteObject {
        key: format!("m/{path}"),
        etag: format!("\"{}\"", digest.expected_etag()),
        size: digest.size,
        last_modified: None,
    }
}

fn classifier(yaml: &str) -> Classifier {
    let config = Config::parse(yaml, Path::new("mfe-deploy.yml")).unwrap();
    Classifier::new(&config.caching).unwrap()
}

fn build() -> Vec<LocalFile> {
    vec![
        file("index.html", "<html>"),
        file("remoteEntry.js", "entry"),
        file("main.1a2b3c4d.js", "main"),
        file("robots.txt", "robots"),
    ]
}

fn plan_with(listing: Vec<RemoteObject>, state: Option<DeployState>, yaml: &str) -> Plan {
    let view = RemoteView::new("m/", listing, state);
    build_plan(&build(), &classifier(yaml), "b", "m/", "v1", &view)
}

/// The build as a first deploy left it: the listing, and the state it wrote.
fn deployed() -> (Vec<RemoteObject>, DeployState) {
    let listing: Vec<_> = build()
        .iter()
        .map(|f| remote(&f.rel_path, body_of(&f.rel_path)))
        .collect();
    let state = plan_with(listing.clone(), None, "").next_state(
        &BTreeMap::new(),
        &RemoteView::new("m/", listing.clone(), None),
    );
    (listing, state)
}

fn actions(plan: &Plan) -> Vec<(&str, &Action)> {
    plan.files
        .iter()
        .map(|f| (f.rel_path.as_str(), &f.action))
        .collect()
}

#[test]
fn empty_bucket_uploads_everything_in_safe_order() {
    let plan = plan_with(vec![], None, "");
    let order: Vec<_> = plan.files.iter().map(|f| f.rel_path.as_str()).collect();
    assert_eq!(
        order,
        [
            "main.1a2b3c4d.js",
            "robots.txt",
            "remoteEntry.js",
            "index.html"
        ]
    );
    assert!(
        plan.files
            .iter()
            .all(|f| f.action == Action::Upload(UploadReason::New))
    );
    assert_eq!(plan.counts().bytes, 6 + 5 + 4 + 6);
}

#[test]
fn same_bytes_with_recorded_headers_are_unchanged() {
    let (listing, state) = deployed();
    let plan = plan_with(listing, Some(state), "");
    assert!(
        plan.files.iter().all(|f| f.action == Action::Unchanged),
        "{:?}",
        actions(&plan)
    );
    assert_eq!(plan.counts().uploaded, 0);
}

fn body_of(path: &str) -> &'static str {
    match path {
        "index.html" => "<html>",
        "remoteEntry.js" => "entry",
        "main.1a2b3c4d.js" => "main",
        _ => "robots",
    }
}

#[test]
fn same_bytes_without_state_need_a_head_then_plan_by_what_it_said() {
    let listing: Vec<_> = build()
        .iter()
        .map(|f| remote(&f.rel_path, body_of(&f.rel_path)))
        .collect();
    let mut view = RemoteView::new("m/", listing, None);
    assert_eq!(view.keys_needing_head(&build()).len(), 4);
    let c = classifier("");
    for f in build() {
        let mut headers = c.classify(&f.rel_path).headers;
        if f.rel_path == "robots.txt" {
            headers.cache_control = "max-age=0".to_owned();
        }
        let etag = Digest::of_reader(body_of(&f.rel_path).as_bytes())
            .unwrap()
            .expected_etag();
        view.set_head(
            format!("m/{}", f.rel_path),
            HeadInfo {
                headers,
                etag,
                size: f.digest.size,
                metadata: Default::default(),
            },
        );
    }
    assert!(view.keys_needing_head(&build()).is_empty());
    let plan = build_plan(&build(), &c, "b", "m/", "v1", &view);
    let robots = plan
        .files
        .iter()
        .find(|f| f.rel_path == "robots.txt")
        .unwrap();
    assert!(
        matches!(&robots.action, Action::HeadersOnly { previous: Some(h) } if h.cache_control == "max-age=0")
    );
    assert_eq!(plan.counts().unchanged, 3);
}

#[test]
fn policy_change_alone_rewrites_headers_without_upload() {
    let (listing, state) = deployed();
    let plan = plan_with(
        listing,
        Some(state),
        "caching:\n  cache-control:\n    other: public, max-age=60\n",
    );
    let changed: Vec<_> = plan
        .files
        .iter()
        .filter(|f| f.action != Action::Unchanged)
        .map(|f| (f.rel_path.as_str(), f.action.label()))
        .collect();
    assert_eq!(changed, [("robots.txt", "headers-only")]);
}

#[test]
fn edited_entry_is_the_only_upload() {
    let (mut listing, state) = deployed();
    listing[1] = remote("remoteEntry.js", "old entry");
    let plan = plan_with(listing, Some(state), "");
    let uploads: Vec<_> = plan
        .files
        .iter()
        .filter(|f| matches!(f.action, Action::Upload(_)))
        .map(|f| f.rel_path.as_str())
        .collect();
    assert_eq!(uploads, ["remoteEntry.js"]);
}

#[test]
fn hashed_key_with_other_bytes_is_a_conflict() {
    let listing = vec![remote("main.1a2b3c4d.js", "other")];
    let plan = plan_with(listing, None, "");
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].key, "m/main.1a2b3c4d.js");
    assert!(!plan.conflicts[0].unverifiable);
}

#[test]
fn hashed_key_with_foreign_etag_is_an_unverifiable_conflict() {
    let mut object = remote("main.1a2b3c4d.js", "main");
    object.etag = "\"kms-encrypted-etag\"".to_owned();
    let plan = plan_with(vec![object], None, "");
    assert!(plan.conflicts[0].unverifiable);
}

#[test]
fn foreign_etag_without_a_record_is_verified_by_the_sha256_metadata_of_one_head() {
    let mut object = remote("main.1a2b3c4d.js", "main");
    object.etag = "kms-encrypted-etag".to_owned();
    let files = vec![file("main.1a2b3c4d.js", "main")];
    let mut view = RemoteView::new("m/", vec![object], None);
    assert_eq!(view.keys_needing_head(&files), ["m/main.1a2b3c4d.js"]);
    let sha = files[0].digest.sha256_hex();
    view.set_head(
        "m/main.1a2b3c4d.js".to_owned(),
        HeadInfo {
            headers: classifier("").classify("main.1a2b3c4d.js").headers,
            etag: "kms-encrypted-etag".to_owned(),
            size: files[0].digest.size,
            metadata: [("sha256".to_owned(), sha)].into(),
        },
    );
    assert!(view.keys_needing_read(&files).is_empty());
    let plan = build_plan(&files, &classifier(""), "b", "m/", "v1", &view);
    assert!(plan.conflicts.is_empty());
    assert_eq!(plan.files[0].action, Action::Unchanged);
}

#[test]
fn foreign_etag_without_metadata_is_read_and_hashed_rather_than_refused() {
    let mut object = remote("main.1a2b3c4d.js", "main");
    object.etag = "kms-encrypted-etag".to_owned();
    let files = vec![file("main.1a2b3c4d.js", "main")];
    let mut view = RemoteView::new("m/", vec![object], None);
    assert_eq!(view.keys_needing_read(&files), ["m/main.1a2b3c4d.js"]);
    view.set_sha256(
        "m/main.1a2b3c4d.js".to_owned(),
        files[0].digest.sha256_hex(),
    );
    let plan = build_plan(&files, &classifier(""), "b", "m/", "v1", &view);
    assert!(plan.conflicts.is_empty());
}

#[test]
fn state_vouches_for_objects_whose_etag_is_not_an_md5() {
    let mut object = remote("main.1a2b3c4d.js", "main");
    object.etag = "\"kms-encrypted-etag\"".to_owned();
    let mut etags = BTreeMap::new();
    etags.insert(
        "m/main.1a2b3c4d.js".to_owned(),
        "kms-encrypted-etag".to_owned(),
    );
    let state = plan_with(vec![], None, "").next_state(&etags, &RemoteView::default());
    let plan = plan_with(vec![object], Some(state), "");
    assert!(plan.conflicts.is_empty());
    let main = plan
        .files
        .iter()
        .find(|f| f.rel_path == "main.1a2b3c4d.js")
        .unwrap();
    assert_eq!(main.action, Action::Unchanged);
}

#[test]
fn unhashed_code_and_policy_table_are_reported() {
    let mut files = build();
    files.push(file("legacy.js", "x"));
    let plan = build_plan(
        &files,
        &classifier(""),
        "b",
        "m/",
        "v1",
        &RemoteView::default(),
    );
    assert_eq!(plan.unhashed_code(), ["legacy.js"]);
    let table: Vec<_> = plan
        .policy_table()
        .into_iter()
        .map(|(c, cc, f)| (c.as_str(), cc, f.len()))
        .collect();
    assert_eq!(
        table,
        [
            (
                "immutable",
                "public, max-age=31536000, immutable".to_owned(),
                1
            ),
            ("other", "public, max-age=300".to_owned(), 2),
            ("entry", "no-cache".to_owned(), 1),
            ("html", "no-cache".to_owned(), 1),
        ]
    );
}

#[test]
fn next_state_keeps_records_of_files_no_longer_built() {
    let mut previous = DeployState::default();
    let old = plan_with(vec![], None, "").next_state(&BTreeMap::new(), &RemoteView::default());
    previous.files = old.files;
    previous.files.insert(
        "old.1234abcd.js".to_owned(),
        previous.files["main.1a2b3c4d.js"].clone(),
    );
    let plan = plan_with(vec![], Some(previous), "");
    let next = plan.next_state(&BTreeMap::new(), &RemoteView::default());
    assert!(next.files.contains_key("old.1234abcd.js"));
    assert_eq!(next.files.len(), 5);
}

#[test]
fn plan_printout_is_stable() {
    let listing = vec![
        remote("robots.txt", "robots"),
        remote("index.html", "<old>"),
    ];
    let plan = plan_with(listing, None, "");
    insta::assert_snapshot!(plan.render(render::Detail::All));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn arbitrary_build() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
        let name = prop_oneof![
            "[a-z]{1,6}\\.html",
            Just("remoteEntry.js".to_owned()),
            Just("mf-manifest.json".to_owned()),
            "[a-z]{1,6}\\.[0-9a-f]{8}\\.js",
            "[a-z]{1,6}\\.(txt|ico|js)",
            "assets/[a-z]{1,6}\\.[0-9a-f]{12}\\.png",
        ];
        proptest::collection::btree_map(name, proptest::collection::vec(any::<u8>(), 0..40), 1..25)
            .prop_map(|m| m.into_iter().collect())
    }

    fn local_files(build: &[(String, Vec<u8>)]) -> Vec<LocalFile> {
        build
            .iter()
            .map(|(path, body)| LocalFile {
                rel_path: path.clone(),
                abs_path: PathBuf::from(path),
                digest: Digest::of_reader(body.as_slice()).unwrap(),
            })
            .collect()
    }

    proptest! {
        /// Every file appears once, phases never go backwards, and with nothing in the
        /// bucket every file is a new upload whose bytes add up.
        #[test]
        fn plans_cover_every_file_once_in_phase_order(build in arbitrary_build()) {
            let files = local_files(&build);
            let plan = build_plan(&files, &classifier(""), "b", "m/", "v", &RemoteView::default());
            let mut planned: Vec<_> = plan.files.iter().map(|f| f.rel_path.clone()).collect();
            planned.sort();
            let mut given: Vec<_> = build.iter().map(|(p, _)| p.clone()).collect();
            given.sort();
            prop_assert_eq!(planned, given);
            prop_assert!(plan.files.windows(2).all(|w| w[0].class.phase() <= w[1].class.phase()));
            let total: u64 = build.iter().map(|(_, b)| b.len() as u64).sum();
            prop_assert_eq!(plan.counts().bytes, total);
            let keyed = plan.files.iter().all(|f| f.key == format!("m/{}", f.rel_path));
            prop_assert!(keyed);
        }

        /// Planning against exactly what a deploy left behind finds nothing to do.
        #[test]
        fn replanning_after_a_deploy_is_a_no_op(build in arbitrary_build()) {
            let files = local_files(&build);
            let listing: Vec<RemoteObject> = files
                .iter()
                .map(|f| RemoteObject { key: format!("m/{}", f.rel_path), etag: f.digest.expected_etag(), size: f.digest.size, last_modified: None })
                .collect();
            let c = classifier("");
            let first = build_plan(&files, &c, "b", "m/", "v", &RemoteView::default());
            let state = first.next_state(&BTreeMap::new(), &RemoteView::new("m/", listing.clone(), None));
            let again = build_plan(&files, &c, "b", "m/", "v", &RemoteView::new("m/", listing, Some(state.clone())));
            prop_assert!(again.files.iter().all(|f| f.action == Action::Unchanged));
            prop_assert!(again.conflicts.is_empty());
            prop_assert_eq!(again.next_state(&BTreeMap::new(), &RemoteView::default()), state);
        }
    }
}

#[test]
fn stores_that_list_no_etags_are_vouched_for_by_the_state_timestamp() {
    let unlisted = |path: &str, body: &str, modified: i64| RemoteObject {
        etag: String::new(),
        last_modified: Some(modified),
        ..remote(path, body)
    };
    let listing: Vec<_> = build()
        .iter()
        .map(|f| unlisted(&f.rel_path, body_of(&f.rel_path), 100))
        .collect();
    let with_etags: Vec<_> = build()
        .iter()
        .map(|f| remote(&f.rel_path, body_of(&f.rel_path)))
        .collect();
    let state = plan_with(vec![], None, "")
        .next_state(&BTreeMap::new(), &RemoteView::new("m/", with_etags, None));

    // Written no later than the state: trusted, nothing to do, no HEAD.
    let view =
        RemoteView::new("m/", listing.clone(), Some(state.clone())).with_state_modified(Some(100));
    assert!(view.keys_needing_head(&build()).is_empty());
    let plan = build_plan(&build(), &classifier(""), "b", "m/", "v1", &view);
    assert!(plan.files.iter().all(|f| f.action == Action::Unchanged));
    // …and the state stays as it was, so a rebuild writes nothing at all.
    assert_eq!(
        plan.next_state(&BTreeMap::new(), &view),
        plan.previous_state
    );

    // One object rewritten after the state: it needs a HEAD to learn its ETag.
    let mut later = listing;
    later[1].last_modified = Some(101);
    let view = RemoteView::new("m/", later, Some(state)).with_state_modified(Some(100));
    assert_eq!(view.keys_needing_head(&build()), ["m/remoteEntry.js"]);
}

mod versioned;
