//! Publish integrity against moto, on real builds by webpack, Rspack and Vite: each
//! deploys with its references checked; a build that names a file it lacks, or was
//! made for another place, is refused before anything is written.

use std::path::Path;

use crate::common::*;

/// Puts the committed fixture build of `bundler` at `packages/<bundler>/dist`.
fn with_fixture(ws: &Workspace, bundler: &str) {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bundlers")
        .join(bundler)
        .join("dist");
    for file in walk(&dist) {
        let rel = file
            .strip_prefix(&dist)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        ws.write(
            &format!("packages/{bundler}/dist/{rel}"),
            &std::fs::read(&file).unwrap(),
        );
    }
}

fn deploy<'a>(ws: &'a Workspace, moto: &Moto, package: &str, bucket: &str) -> ActionStep<'a> {
    ActionStep::push(ws, moto, package, bucket).input("public-url", "https://www.example.com")
}

/// The "References" row of the step summary.
fn references_row(step: &StepResult) -> String {
    step.summary
        .lines()
        .find(|l| l.starts_with("| References |"))
        .unwrap_or_else(|| panic!("no References row: {}", step.summary))
        .to_owned()
}

#[test]
fn every_bundlers_build_deploys_in_place_and_versioned_with_its_references_checked() {
    let (moto, bucket, ws) = setup("integrity-bundlers");
    for (bundler, checked) in [("webpack", 7), ("rspack", 7), ("vite", 11)] {
        with_fixture(&ws, bundler);
        let step = deploy(&ws, moto, bundler, &bucket).run();
        assert_eq!(step.code(), 0, "{bundler}: {}", step.all_text());
        let row = references_row(&step);
        assert!(
            row.contains(&format!(
                "{checked} checked in mf-manifest.json, remoteEntry"
            )),
            "{bundler}: {row}"
        );
        assert!(!row.contains("not checkable"), "{bundler}: {row}");
        let versioned = deploy(&ws, moto, bundler, &bucket)
            .input("mode", "versioned")
            .run();
        assert_eq!(versioned.code(), 0, "{bundler}: {}", versioned.all_text());
    }
    // Each classifies right out of the box.
    for (key, cache_control) in [
        ("webpack/remoteEntry.js", "no-cache"),
        ("webpack/mf-manifest.json", "no-cache"),
        (
            "webpack/details.bba2bf79238418889532.js",
            "public, max-age=31536000, immutable",
        ),
        ("rspack/remoteEntry.js", "no-cache"),
        (
            "rspack/__federation_expose_Widget.ccd08070a5b87bb8.css",
            "public, max-age=31536000, immutable",
        ),
        ("vite/mf-manifest.json", "no-cache"),
        // Vite's entry carries its hash: immutable, and still an entry for ordering.
        (
            "vite/remoteEntry-BZVvLwzu.js",
            "public, max-age=31536000, immutable",
        ),
        (
            "vite/assets/Widget-CfzdcPVa.js",
            "public, max-age=31536000, immutable",
        ),
    ] {
        assert_eq!(head(moto, &bucket, key).0, cache_control, "{key}");
    }
}

#[test]
fn a_build_missing_a_referenced_chunk_is_refused_before_anything_is_written() {
    let (moto, bucket, ws) = setup("integrity-missing");
    with_fixture(&ws, "webpack");
    std::fs::remove_file(ws.dist("webpack").join("details.bba2bf79238418889532.js")).unwrap();
    let step = deploy(&ws, moto, "webpack", &bucket).run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        text.contains(
            "webpack/details.bba2bf79238418889532.js (named by mf-manifest.json, remoteEntry.js)"
        ),
        "{text}"
    );
    assert!(keys(moto, &bucket).is_empty(), "{:?}", keys(moto, &bucket));
    // A dry run says the same, also with exit 2.
    let dry = deploy(&ws, moto, "webpack", &bucket)
        .input("dry-run", "true")
        .run();
    assert_eq!(dry.code(), 2, "{}", dry.all_text());
}

#[test]
fn an_update_naming_a_chunk_it_lacks_leaves_the_old_entries_byte_identical() {
    let (moto, bucket, ws) = setup("integrity-update");
    with_fixture(&ws, "rspack");
    let first = deploy(&ws, moto, "rspack", &bucket).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let entry = get(moto, &bucket, "rspack/remoteEntry.js");
    let manifest = get(moto, &bucket, "rspack/mf-manifest.json");

    // The next build names a new chunk that did not make it into the build folder.
    let dist = ws.dist("rspack");
    let text = std::fs::read_to_string(dist.join("mf-manifest.json")).unwrap();
    let broken = text.replace("details.f6cc7ae9c3f7038c.js", "details.0123456789abcdef.js");
    assert_ne!(broken, text);
    std::fs::write(dist.join("mf-manifest.json"), broken).unwrap();
    let step = deploy(&ws, moto, "rspack", &bucket).run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    assert!(
        step.all_text()
            .contains("rspack/details.0123456789abcdef.js (named by mf-manifest.json)"),
        "{}",
        step.all_text()
    );
    assert_eq!(get(moto, &bucket, "rspack/remoteEntry.js"), entry);
    assert_eq!(get(moto, &bucket, "rspack/mf-manifest.json"), manifest);
}

#[test]
fn a_staging_public_path_deployed_to_production_is_refused_naming_both_urls() {
    let (moto, bucket, ws) = setup("integrity-public-path");
    with_fixture(&ws, "webpack");
    let path = ws.dist("webpack").join("mf-manifest.json");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        r#""publicPath": "auto""#,
        r#""publicPath": "https://staging.example.com/webpack/""#,
    );
    assert!(text.contains("staging.example.com"));
    std::fs::write(&path, text).unwrap();
    let step = deploy(&ws, moto, "webpack", &bucket).run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    let all = step.all_text();
    assert!(
        all.contains("mf-manifest.json says https://staging.example.com/webpack/ but this deploy serves it at https://www.example.com/webpack/"),
        "{all}"
    );
    assert!(keys(moto, &bucket).is_empty());
    // Deployed where it was built for, it goes.
    let staging = deploy(&ws, moto, "webpack", &bucket)
        .input("public-url", "https://staging.example.com")
        .run();
    assert_eq!(staging.code(), 0, "{}", staging.all_text());
}

#[test]
fn a_manifest_without_asset_lists_is_reported_not_checked_rather_than_ok() {
    let (moto, bucket, ws) = setup("integrity-no-assets");
    with_fixture(&ws, "webpack");
    let path = ws.dist("webpack").join("mf-manifest.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["exposes"][0]["assets"] = serde_json::json!({
        "js": {"sync": [], "async": []}, "css": {"sync": [], "async": []}
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let step = deploy(&ws, moto, "webpack", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert!(
        references_row(&step).contains("1 not checkable"),
        "{}",
        step.summary
    );
    assert!(
        step.summary.contains("asset analysis off"),
        "{}",
        step.summary
    );
}
