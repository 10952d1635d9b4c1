//! Versioned mode against moto: immutable versions, a discovery manifest that
//! concurrent deploys cannot corrupt, history, and rollback.

use crate::common::*;

mod rollback;

const FORMATS: &str = "environments:\n  production:\n    branches: [master]\n    manifest: mfe-manifest.json\n    manifest-formats:\n      flat: remotes.json\n      import-map: importmap.json\n      module-federation: mf-remotes.json\n";

fn versioned<'a>(ws: &'a Workspace, moto: &Moto, package: &str, bucket: &str) -> ActionStep<'a> {
    ActionStep::push(ws, moto, package, bucket)
        .input("mode", "versioned")
        .input("public-url", "https://shop.example.com")
}

fn json(moto: &Moto, bucket: &str, key: &str) -> serde_json::Value {
    serde_json::from_slice(&get(moto, bucket, key)).unwrap()
}

#[test]
fn a_version_lands_under_its_own_path_immutable_and_the_manifest_points_at_it() {
    let (moto, bucket, ws) = setup("versioned");
    ws.write("mfe-deploy.yml", FORMATS.as_bytes());
    let step = versioned(&ws, moto, "checkout", &bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let version = step.out("version").to_owned();
    assert_eq!(version.len(), 12);

    let prefix = format!("checkout/{version}/");
    let keys = keys(moto, &bucket);
    let files = walk(&ws.dist("checkout")).len();
    assert_eq!(
        keys.iter().filter(|k| k.starts_with(&prefix)).count(),
        files,
        "{keys:?}"
    );
    assert!(
        !keys
            .iter()
            .any(|k| k.starts_with("checkout/") && !k.starts_with(&prefix)),
        "nothing outside the version: {keys:?}"
    );
    for name in [
        "remoteEntry.js",
        "mf-manifest.json",
        "items.2738bcefd8210fa92271.js",
    ] {
        let (cache_control, _, _) = head(moto, &bucket, &format!("{prefix}{name}"));
        assert_eq!(
            cache_control, "public, max-age=31536000, immutable",
            "{name}"
        );
    }
    assert_eq!(
        step.out("entry-url"),
        format!("https://shop.example.com/{prefix}remoteEntry.js")
    );
    assert_eq!(
        step.out("manifest-url"),
        "https://shop.example.com/mfe-manifest.json"
    );

    let (cache_control, content_type, _) = head(moto, &bucket, "mfe-manifest.json");
    assert_eq!(cache_control, "no-cache");
    assert_eq!(content_type, "application/json; charset=utf-8");
    let native = json(moto, &bucket, "mfe-manifest.json");
    assert_eq!(native["schema"], "mfe-deploy/manifest@1");
    let entry = &native["modules"]["checkout"];
    assert_eq!(entry["version"], version.as_str());
    assert_eq!(entry["entry"], step.out("entry-url"));
    assert!(entry["integrity"].as_str().unwrap().starts_with("sha384-"));
    assert_eq!(entry["commit"], "5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e");
    let name = entry["name"].as_str().unwrap().to_owned();
    assert_eq!(
        json(moto, &bucket, "remotes.json")[&name],
        step.out("entry-url")
    );
    assert_eq!(
        json(moto, &bucket, "importmap.json")["imports"][&name],
        step.out("entry-url")
    );
    let mf = json(moto, &bucket, "mf-remotes.json");
    assert_eq!(
        mf[0]["entry"],
        format!("https://shop.example.com/{prefix}mf-manifest.json")
    );

    // A re-run of the same build uploads nothing and moves nothing.
    let before = moto.requests(&bucket).len();
    let again = versioned(&ws, moto, "checkout", &bucket).run();
    assert_eq!(again.code(), 0, "{}", again.all_text());
    assert_eq!(again.out("uploaded"), "0");
    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(before).collect();
    assert!(!requests.iter().any(|r| r.method == "PUT"), "{requests:?}");
    assert!(!requests.iter().any(|r| r.method == "HEAD"), "{requests:?}");
    assert!(
        !requests
            .iter()
            .any(|r| r.method == "GET" && !r.is_list() && r.key.starts_with(&prefix)),
        "nothing to read back: {requests:?}"
    );
    let version_lists = requests
        .iter()
        .filter(|r| r.is_list() && r.query.contains("prefix=checkout%2F"))
        .count();
    assert_eq!(version_lists, 1, "{requests:?}");
    assert!(
        !requests
            .iter()
            .any(|r| r.key.contains("/records/") || r.query.contains("records%2F")),
        "the deploy state names the pointer's record: no record is listed or read: {requests:?}"
    );
}

#[test]
fn a_new_version_copies_what_it_shares_with_the_live_one_and_sends_only_the_new_bytes() {
    let (moto, bucket, ws) = setup("versioned-copy");
    let first = versioned(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let v1 = first.out("version").to_owned();
    let entry = b"// v2 entry".as_slice();
    let chunk = b"// a new chunk".as_slice();
    ws.write("packages/subscriptions/dist/remoteEntry.js", entry);
    ws.write("packages/subscriptions/dist/extra.0123abcd.js", chunk);
    let dist = ws.dist("subscriptions");
    let files = walk(&dist);

    let before = moto.requests(&bucket).len();
    let second = versioned(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    let v2 = second.out("version").to_owned();
    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(before).collect();
    let prefix = format!("subscriptions/{v2}/");
    let into_v2 = |r: &&Recorded| r.method == "PUT" && r.key.starts_with(&prefix);
    let mut sent: Vec<&str> = requests
        .iter()
        .filter(into_v2)
        .filter(|r| r.copy_source.is_none())
        .map(|r| r.key.as_str())
        .collect();
    sent.sort_unstable();
    assert_eq!(
        sent,
        [
            format!("{prefix}extra.0123abcd.js"),
            format!("{prefix}remoteEntry.js")
        ]
    );
    let copies: Vec<&Recorded> = requests
        .iter()
        .filter(into_v2)
        .filter(|r| r.copy_source.is_some())
        .collect();
    assert_eq!(copies.len(), files.len() - 2, "{requests:?}");
    for copy in &copies {
        let source = copy.copy_source.as_deref().unwrap();
        assert!(
            source
                .trim_start_matches('/')
                .starts_with(&format!("{bucket}/subscriptions/{v1}/")),
            "{source}"
        );
    }
    assert_eq!(second.out("uploaded"), "2");
    assert_eq!(
        second.out("bytes-uploaded"),
        (entry.len() + chunk.len()).to_string()
    );
    let results: serde_json::Value = serde_json::from_str(second.out("results")).unwrap();
    assert_eq!(results[0]["copied"], files.len() - 2);
    assert!(
        second
            .summary
            .contains(&format!("| Copied server-side | {} files", files.len() - 2)),
        "{}",
        second.summary
    );
    // Every file of v2 is the build's, served immutable, whether copied or sent.
    for file in &files {
        let rel = file
            .strip_prefix(&dist)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let key = format!("{prefix}{rel}");
        assert_eq!(
            get(moto, &bucket, &key),
            std::fs::read(file).unwrap(),
            "{key}"
        );
        let (cache_control, _, _) = head(moto, &bucket, &key);
        assert_eq!(
            cache_control, "public, max-age=31536000, immutable",
            "{key}"
        );
    }
    let native = json(moto, &bucket, "mfe-manifest.json");
    assert_eq!(native["modules"]["subscriptions"]["version"], v2.as_str());
}

#[test]
fn a_second_version_moves_the_manifest_reports_the_previous_and_keeps_history() {
    let (moto, bucket, ws) = setup("versioned-v2");
    let first = versioned(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    ws.write("packages/subscriptions/dist/remoteEntry.js", b"// v2 entry");
    let second = versioned(&ws, moto, "subscriptions", &bucket).run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    assert_ne!(second.out("version"), first.out("version"));
    assert_eq!(second.out("previous-version"), first.out("version"));
    let entry = &json(moto, &bucket, "mfe-manifest.json")["modules"]["subscriptions"];
    assert_eq!(entry["version"], second.out("version"));
    assert_eq!(entry["previous"], first.out("version"));
    // Both versions stay: open tabs keep loading the first one.
    assert!(keys(moto, &bucket).contains(&format!(
        "subscriptions/{}/remoteEntry.js",
        first.out("version")
    )));
    let history: Vec<String> = keys(moto, &bucket)
        .into_iter()
        .filter(|k| k.starts_with("_mfe-deploy/manifests/mfe-manifest.json/history/"))
        .collect();
    assert_eq!(history.len(), 2, "{history:?}");
    let oldest: serde_json::Value =
        serde_json::from_slice(&get(moto, &bucket, &history[0])).unwrap();
    assert_eq!(
        oldest["modules"]["subscriptions"]["version"],
        first.out("version")
    );
}

#[test]
fn a_reused_version_label_with_other_bytes_is_refused_and_the_manifest_is_unchanged() {
    let (moto, bucket, ws) = setup("versioned-reuse");
    let first = versioned(&ws, moto, "subscriptions", &bucket)
        .input("version", "release-1")
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let manifest = get(moto, &bucket, "mfe-manifest.json");
    ws.write(
        "packages/subscriptions/dist/remoteEntry.js",
        b"// other bytes",
    );
    let before = moto.requests(&bucket).len();
    let step = versioned(&ws, moto, "subscriptions", &bucket)
        .input("version", "release-1")
        .run();
    assert_eq!(step.code(), 1, "{}", step.all_text());
    assert!(
        step.all_text()
            .contains("version `release-1` already exists"),
        "{}",
        step.all_text()
    );
    assert_eq!(get(moto, &bucket, "mfe-manifest.json"), manifest);
    let writes = moto
        .requests(&bucket)
        .into_iter()
        .skip(before)
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(writes, 0);
}

#[test]
fn sixteen_concurrent_deploys_of_different_modules_all_end_up_in_every_manifest() {
    let (moto, bucket, ws) = setup("versioned-16");
    ws.write("mfe-deploy.yml", FORMATS.as_bytes());
    let modules: Vec<String> = (1..=16).map(|i| format!("m{i:02}")).collect();
    let source = ws.dist("subscriptions");
    for module in &modules {
        for file in walk(&source) {
            let rel = file.strip_prefix(&source).unwrap();
            ws.write(
                &format!("packages/{module}/dist/{}", rel.display()),
                &std::fs::read(&file).unwrap(),
            );
        }
        // Each module its own build (and federation name).
        ws.write(
            &format!("packages/{module}/dist/mf-manifest.json"),
            format!(r#"{{"id": "{module}", "name": "{module}"}}"#).as_bytes(),
        );
    }
    let steps: Vec<StepResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = modules
            .iter()
            .map(|module| {
                let ws = &ws;
                let bucket = &bucket;
                scope.spawn(move || versioned(ws, moto, module, bucket).run())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for step in &steps {
        assert_eq!(step.code(), 0, "{}", step.all_text());
    }
    let native = json(moto, &bucket, "mfe-manifest.json");
    let flat = json(moto, &bucket, "remotes.json");
    let imports = json(moto, &bucket, "importmap.json");
    let mf = json(moto, &bucket, "mf-remotes.json");
    for (module, step) in modules.iter().zip(&steps) {
        assert_eq!(
            native["modules"][module]["version"],
            step.out("version"),
            "{module}"
        );
        assert_eq!(flat[module], step.out("entry-url"), "{module}");
        assert_eq!(
            imports["imports"][module],
            step.out("entry-url"),
            "{module}"
        );
    }
    assert_eq!(native["modules"].as_object().unwrap().len(), 16);
    assert_eq!(mf.as_array().unwrap().len(), 16);
    let history = keys(moto, &bucket)
        .into_iter()
        .filter(|k| k.starts_with("_mfe-deploy/manifests/mfe-manifest.json/history/"))
        .count();
    assert_eq!(history, 16, "every revision is kept");
}

#[test]
fn verify_reads_the_version_back_through_public_url_before_the_manifest_moves() {
    let (moto, bucket, ws) = setup("verify");
    // moto serves the bucket path-style, publicly: it stands in for the site.
    public_read(moto, &bucket);
    let site = format!("{}/{bucket}", moto.endpoint);
    let step = versioned(&ws, moto, "checkout", &bucket)
        .input("public-url", &site)
        .input("verify", "true")
        .run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert!(step.stderr().contains("read back "), "{}", step.stderr());
    assert!(step.out("entry-url").starts_with(&site));
}

#[test]
fn verify_that_reads_other_bytes_fails_names_the_headers_and_leaves_the_manifest() {
    let (moto, bucket, ws) = setup("verify-stale");
    ws.write("mfe-deploy.yml", b"verify-timeout: 3\n");
    let first = versioned(&ws, moto, "checkout", &bucket).run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let manifest = get(moto, &bucket, "mfe-manifest.json");
    // A cache in front of the site answers every entry with stale bytes.
    let cache = FaultProxy::start(&moto.endpoint);
    cache.add(Rule {
        method: "GET",
        target_prefix: format!("/{bucket}/checkout/"),
        fault: Fault::Answer {
            status: 200,
            body: "// a stale entry".to_owned(),
        },
        times: None,
    });
    ws.write("packages/checkout/dist/remoteEntry.js", b"// v2");
    let step = versioned(&ws, moto, "checkout", &bucket)
        .input("public-url", &format!("{}/{bucket}", cache.endpoint))
        .input("verify", "true")
        .deadline(std::time::Duration::from_secs(180))
        .run();
    assert_eq!(step.code(), 1, "{}", step.all_text());
    let text = step.all_text();
    assert!(text.contains("still served other bytes after"), "{text}");
    assert!(text.contains("X-Cache"), "{text}");
    assert_eq!(
        get(moto, &bucket, "mfe-manifest.json"),
        manifest,
        "nothing went live"
    );
}

#[test]
fn a_store_that_ignores_conditional_writes_is_refused_for_versioned_mode_and_retention() {
    let (moto, bucket, ws) = setup("no-cas");
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.add(Rule {
        method: "PUT",
        target_prefix: "/".to_owned(),
        fault: Fault::StripConditions,
        times: None,
    });
    let step = versioned(&ws, moto, "checkout", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        text.contains("ignores If-None-Match and If-Match") && text.contains("versioned mode"),
        "{text}"
    );
    assert!(keys(moto, &bucket).is_empty(), "{:?}", keys(moto, &bucket));

    // In place without retention needs no conditional write: it deploys.
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .run();
    assert_eq!(step.code(), 0, "{}", step.all_text());

    // Retention does: refused before the next build is written, nothing deleted.
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 1\n");
    ws.write("packages/checkout/dist/remoteEntry.js", b"// next build");
    let before = keys(moto, &bucket);
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("endpoint-url", &proxy.endpoint)
        .run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    assert_eq!(keys(moto, &bucket), before);

    // Straight to moto, which honours them, the versioned deploy goes through.
    let step = versioned(&ws, moto, "checkout", &bucket)
        .input("endpoint-url", &moto.endpoint)
        .run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
}
