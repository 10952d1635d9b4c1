//! `republish` against moto: a version's files copied server-side to `<version>.r<N>`
//! and the manifest moved to it, nothing sent from the runner; a build that names its
//! own folder is refused before anything is written.

use crate::common::*;

fn versioned<'a>(ws: &'a Workspace, moto: &Moto, package: &str, bucket: &str) -> ActionStep<'a> {
    ActionStep::push(ws, moto, package, bucket)
        .input("mode", "versioned")
        .input("public-url", "https://shop.example.com")
}

fn native_entry(moto: &Moto, bucket: &str, module: &str) -> serde_json::Value {
    let native: serde_json::Value =
        serde_json::from_slice(&get(moto, bucket, "mfe-manifest.json")).unwrap();
    native["modules"][module].clone()
}

#[test]
fn a_version_moves_to_a_fresh_label_by_server_side_copies_and_the_manifest_follows() {
    let (moto, bucket, ws) = setup("republish");
    let first = versioned(&ws, moto, "checkout", &bucket).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let v1 = first.out("version").to_owned();
    let before = native_entry(moto, &bucket, "checkout");
    let files = walk(&ws.dist("checkout")).len();

    let seen = moto.requests(&bucket).len();
    let step = versioned(&ws, moto, "checkout", &bucket)
        .input("republish", &v1)
        .run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let label = format!("{v1}.r1");
    assert_eq!(step.out("version"), label);
    assert_eq!(step.out("previous-version"), v1);
    assert_eq!(step.out("uploaded"), "0");
    assert_eq!(step.out("bytes-uploaded"), "0");
    let results: serde_json::Value = serde_json::from_str(step.out("results")).unwrap();
    assert_eq!(results[0]["status"], "republished");
    assert_eq!(results[0]["copied"], files);

    // Every write into the new folder is a copy from the old one.
    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(seen).collect();
    let into_new: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "PUT" && r.key.starts_with(&format!("checkout/{label}/")))
        .collect();
    assert_eq!(into_new.len(), files, "{requests:?}");
    for copy in &into_new {
        let source = copy.copy_source.as_deref().unwrap_or_default();
        assert!(
            source
                .trim_start_matches('/')
                .starts_with(&format!("{bucket}/checkout/{v1}/")),
            "{copy:?}"
        );
    }
    let old_keys: Vec<String> = keys(moto, &bucket)
        .into_iter()
        .filter(|k| k.starts_with(&format!("checkout/{v1}/")))
        .collect();
    for key in &old_keys {
        let moved = key.replacen(&format!("/{v1}/"), &format!("/{label}/"), 1);
        assert_eq!(
            get(moto, &bucket, &moved),
            get(moto, &bucket, key),
            "{moved}"
        );
        let (cache_control, _, _) = head(moto, &bucket, &moved);
        assert_eq!(cache_control, "public, max-age=31536000, immutable");
    }

    // The manifest names the new label: the same bytes, the same integrity.
    let after = native_entry(moto, &bucket, "checkout");
    assert_eq!(after["version"], label.as_str());
    assert_eq!(after["integrity"], before["integrity"]);
    assert_eq!(
        after["entry"],
        format!("https://shop.example.com/checkout/{label}/remoteEntry.js")
    );
    assert_eq!(after["previous"], v1.as_str());
    let record = keys(moto, &bucket)
        .into_iter()
        .find(|k| k.starts_with("_mfe-deploy/modules/checkout/records/") && k.contains(&label))
        .expect("a record of the republish");
    let record: serde_json::Value = serde_json::from_slice(&get(moto, &bucket, &record)).unwrap();
    assert_eq!(record["kind"], "republish");
    assert_eq!(record["republished"]["from"], v1.as_str());
    assert!(
        record["republished"]["reason"]
            .as_str()
            .unwrap()
            .contains("fresh URLs")
    );

    // Again: the next free label.
    let again = versioned(&ws, moto, "checkout", &bucket)
        .input("republish", &v1)
        .run();
    assert_eq!(again.code(), 0, "{}", again.all_text());
    assert_eq!(again.out("version"), format!("{v1}.r2"));

    // And from the command line.
    let output = cli_command(&ws)
        .args([
            "republish",
            "--package",
            "packages/checkout",
            "--version",
            &v1,
        ])
        .args(["--bucket", &bucket, "--endpoint-url", &moto.endpoint])
        .args(["--public-url", "https://shop.example.com"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains(&format!("copied {files} server-side"))
            && stdout.contains(&format!("version {v1}.r3")),
        "{stdout}"
    );
}

#[test]
fn a_build_naming_its_own_folder_or_an_in_place_module_is_refused_with_nothing_written() {
    let (moto, bucket, ws) = setup("republish-pinned");
    ws.write(
        "packages/checkout/dist/remoteEntry.js",
        b"var __webpack_require__ = {}; __webpack_require__.p = \"/checkout/pinned-1/\";",
    );
    let first = versioned(&ws, moto, "checkout", &bucket)
        .input("version", "pinned-1")
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let before = keys(moto, &bucket);
    let step = versioned(&ws, moto, "checkout", &bucket)
        .input("republish", "pinned-1")
        .run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        text.contains("rebuild needed") && text.contains("remoteEntry.js"),
        "{text}"
    );
    assert_eq!(keys(moto, &bucket), before);

    let in_place = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("mode", "in-place")
        .input("republish", "pinned-1")
        .run();
    assert_eq!(in_place.code(), 2, "{}", in_place.all_text());
    assert!(
        in_place.all_text().contains("mode: versioned"),
        "{}",
        in_place.all_text()
    );
    let unknown = versioned(&ws, moto, "checkout", &bucket)
        .input("republish", "never-deployed")
        .run();
    assert_eq!(unknown.code(), 2, "{}", unknown.all_text());
    assert_eq!(keys(moto, &bucket), before);
}
