use super::*;
use crate::store::ObjectStore as _;
use crate::store::memory::{Injected, MemoryStore};

fn entry(name: &str, version: &str) -> LiveEntry {
    LiveEntry {
        name: name.to_owned(),
        entry: format!("https://cdn.example.com/{name}/{version}/remoteEntry.js"),
        mf_manifest: Some(format!(
            "https://cdn.example.com/{name}/{version}/mf-manifest.json"
        )),
        version: version.to_owned(),
        integrity: "sha384-abc".to_owned(),
        deployed: "2026-12-02T01:00:00.000Z".to_owned(),
        commit: Some("c0ffee".to_owned()),
        previous: None,
        canary: None,
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

const NOW: &str = "2026-12-02T02:00:00.000Z";

#[test]
fn each_format_takes_one_module_and_keeps_the_others() {
    let a = entry("checkout", "v1");
    let b = entry("cart", "v7");
    let cases = [
        (Format::Native, None),
        (Format::Flat, None),
        (
            Format::ImportMap,
            Some(br#"{"imports": {}, "scopes": {"/x/": {}}}"#.as_slice()),
        ),
        (Format::ModuleFederation, None),
    ];
    for (format, start) in cases {
        let one = merge(format, start, "checkout", &a, NOW).unwrap();
        let two = merge(format, Some(&one), "cart", &b, NOW).unwrap();
        let again = merge(
            format,
            Some(&two),
            "checkout",
            &entry("checkout", "v2"),
            NOW,
        )
        .unwrap();
        let doc = json(&again);
        match format {
            Format::Native => {
                assert_eq!(doc["schema"], SCHEMA);
                assert_eq!(doc["modules"]["checkout"]["version"], "v2");
                assert_eq!(doc["modules"]["cart"]["version"], "v7");
                assert_eq!(live(&again, "cart").unwrap(), b);
            }
            Format::Flat => {
                assert_eq!(
                    doc["checkout"],
                    "https://cdn.example.com/checkout/v2/remoteEntry.js"
                );
                assert_eq!(doc["cart"], b.entry);
            }
            Format::ImportMap => {
                assert_eq!(
                    doc["imports"]["checkout"],
                    "https://cdn.example.com/checkout/v2/remoteEntry.js"
                );
                assert_eq!(doc["imports"]["cart"], b.entry);
                assert!(doc["scopes"].is_object(), "other members stay");
            }
            Format::ModuleFederation => {
                let names: Vec<_> = doc
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["name"].as_str().unwrap())
                    .collect();
                assert_eq!(names, ["cart", "checkout"], "one entry per module, sorted");
                assert_eq!(
                    doc[1]["entry"],
                    "https://cdn.example.com/checkout/v2/mf-manifest.json"
                );
            }
        }
    }
}

#[test]
fn a_document_of_another_shape_is_refused_not_overwritten() {
    let a = entry("checkout", "v1");
    assert!(merge(Format::Native, Some(b"not json"), "checkout", &a, NOW).is_err());
    assert!(
        merge(
            Format::Native,
            Some(br#"{"modules": {}}"#),
            "checkout",
            &a,
            NOW
        )
        .is_err()
    );
    assert!(merge(Format::Flat, Some(b"[]"), "checkout", &a, NOW).is_err());
    assert!(
        merge(
            Format::ImportMap,
            Some(br#"{"imports": []}"#),
            "checkout",
            &a,
            NOW
        )
        .is_err()
    );
    assert!(merge(Format::ModuleFederation, Some(b"{}"), "checkout", &a, NOW).is_err());
}

#[test]
fn integrity_is_sri_sha384() {
    // printf 'hello' | openssl dgst -sha384 -binary | base64
    assert_eq!(
        integrity(b"hello"),
        "sha384-WeF0h3dEjGnea4ANejO7+5/xtGPkQ1TDVTvNucZm+pASWjx5+QOXvfX2oT3oKGhP"
    );
}

#[test]
fn the_federation_name_comes_from_mf_manifest_json() {
    assert_eq!(
        federation_name(br#"{"id": "x", "name": "checkout"}"#).as_deref(),
        Some("checkout")
    );
    assert_eq!(
        federation_name(br#"{"metaData": {"name": "cart"}}"#).as_deref(),
        Some("cart")
    );
    assert_eq!(federation_name(b"{}"), None);
}

#[tokio::test(start_paused = true)]
async fn a_lost_race_rereads_and_merges_so_no_module_is_lost() {
    let store = MemoryStore::new();
    update(
        &store,
        "b",
        "m.json",
        Format::Native,
        ("checkout", &entry("checkout", "v1")),
        None,
    )
    .await
    .unwrap();
    // Another deploy adds `cart` between our read and our write.
    store.before("put", "m.json", |s| {
        let current = s.object("m.json").unwrap();
        let merged = merge(
            Format::Native,
            Some(&current.bytes),
            "cart",
            &entry("cart", "v7"),
            NOW,
        )
        .unwrap();
        s.insert_with("m.json", &merged, json_meta(), "theirs");
    });
    let updated = update(
        &store,
        "b",
        "m.json",
        Format::Native,
        ("checkout", &entry("checkout", "v2")),
        None,
    )
    .await
    .unwrap();
    assert_eq!(updated.attempts, 2);
    let doc = json(&store.object("m.json").unwrap().bytes);
    assert_eq!(doc["modules"]["checkout"]["version"], "v2");
    assert_eq!(doc["modules"]["cart"]["version"], "v7");
}

#[tokio::test(start_paused = true)]
async fn conflicts_in_sequence_are_retried_and_exhaustion_fails_clearly() {
    let store = MemoryStore::new();
    store.inject(
        "put",
        "m.json",
        &[
            Injected::PreconditionFailed,
            Injected::Conflict,
            Injected::PreconditionFailed,
        ],
    );
    let ok = update(
        &store,
        "b",
        "m.json",
        Format::Flat,
        ("checkout", &entry("checkout", "v1")),
        None,
    )
    .await
    .unwrap();
    assert_eq!(ok.attempts, 4);

    store.inject(
        "put",
        "m.json",
        &[Injected::Conflict; MAX_ATTEMPTS as usize],
    );
    let before = store.object("m.json").unwrap().bytes;
    let err = update(
        &store,
        "b",
        "m.json",
        Format::Flat,
        ("checkout", &entry("checkout", "v2")),
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ManifestError::Contended { .. }), "{err}");
    assert_eq!(store.object("m.json").unwrap().bytes, before, "unchanged");
}

#[tokio::test]
async fn the_manifest_is_served_no_cache_as_json() {
    let store = MemoryStore::new();
    update(
        &store,
        "b",
        "m.json",
        Format::Native,
        ("checkout", &entry("checkout", "v1")),
        None,
    )
    .await
    .unwrap();
    let head = store.head("m.json").await.unwrap().unwrap();
    assert_eq!(head.headers.cache_control, "no-cache");
    assert_eq!(head.headers.content_type, "application/json; charset=utf-8");
}

#[tokio::test]
async fn a_document_the_caller_read_is_merged_into_without_reading_it_again_even_when_stale() {
    let store = MemoryStore::new();
    let write = |module: &'static str, read| {
        let store = &store;
        async move {
            let entry = entry(module, "v1");
            update(store, "b", "m.json", Format::Native, (module, &entry), read).await
        }
    };
    write("checkout", Some(None)).await.unwrap();
    assert_eq!(
        store.calls("get"),
        0,
        "known absent: created without a read"
    );
    let read = store.get("m.json").await.unwrap();
    let gets = store.calls("get");
    write("cart", Some(read.clone())).await.unwrap();
    assert_eq!(
        store.calls("get"),
        gets,
        "merged into the read it was given"
    );
    // Stale now (cart moved it): refused, read again, merged; nothing is lost.
    let updated = write("profile", Some(read)).await.unwrap();
    assert_eq!(updated.attempts, 2);
    assert_eq!(store.calls("get"), gets + 1);
    let bytes = store.object("m.json").unwrap().bytes;
    for module in ["checkout", "cart", "profile"] {
        assert!(live(&bytes, module).is_some(), "{module}");
    }
}

#[tokio::test]
async fn history_revisions_are_never_overwritten() {
    let store = MemoryStore::new();
    write_history(&store, "h/1.json", b"{}").await.unwrap();
    assert!(
        write_history(&store, "h/1.json", b"{\"x\":1}")
            .await
            .is_err()
    );
    assert_eq!(store.object("h/1.json").unwrap().bytes, b"{}");
}

fn json_meta() -> crate::store::ObjectMeta {
    crate::store::ObjectMeta::plain(crate::model::Headers {
        cache_control: "no-cache".to_owned(),
        content_type: "application/json".to_owned(),
    })
}

#[test]
fn a_pull_requests_overlay_sits_beside_its_manifest_and_is_told_from_others() {
    assert_eq!(
        overlay_key("mfe-manifest.json", 42),
        "mfe-manifest.pr-42.json"
    );
    assert_eq!(
        overlay_key("envs/stage/mf.json", 7),
        "envs/stage/mf.pr-7.json"
    );
    assert_eq!(
        overlay_number("mfe-manifest.json", "mfe-manifest.pr-42.json"),
        Some(42)
    );
    for other in [
        "mfe-manifest.json",
        "mfe-manifest.pr-.json",
        "mfe-manifest.pr-4x.json",
        "mfe-manifest.pr--1.json",
        "mfe-manifest.pr-+1.json",
        "other.pr-1.json",
    ] {
        assert_eq!(overlay_number("mfe-manifest.json", other), None, "{other}");
    }
}

#[test]
fn a_canary_of_one_module_survives_another_modules_deploy_and_its_own_deploy_clears_it() {
    let with_canary = rollout::canary(
        "checkout",
        Some(&entry("checkout", "v1")),
        &entry("checkout", "v2"),
        10,
        NOW,
        "r1".to_owned(),
    )
    .unwrap();
    let doc = merge(Format::Native, None, "checkout", &with_canary, NOW).unwrap();
    let doc = merge(
        Format::Native,
        Some(&doc),
        "cart",
        &entry("cart", "c1"),
        NOW,
    )
    .unwrap();
    let kept = live(&doc, "checkout").unwrap();
    assert_eq!(kept.canary.as_ref().map(|c| c.percent), Some(10));
    assert!(holds(Format::Native, Some(&doc), "checkout", &with_canary));
    assert!(
        !holds(
            Format::Native,
            Some(&doc),
            "checkout",
            &entry("checkout", "v1")
        ),
        "the same stable version without the canary is another entry"
    );
    let doc = merge(
        Format::Native,
        Some(&doc),
        "checkout",
        &entry("checkout", "v3"),
        NOW,
    )
    .unwrap();
    assert_eq!(live(&doc, "checkout").unwrap().canary, None);
    // The flat document has no canary: it names the stable entry only.
    let flat = merge(Format::Flat, None, "checkout", &with_canary, NOW).unwrap();
    assert_eq!(json(&flat)["checkout"], entry("checkout", "v1").entry);
}
