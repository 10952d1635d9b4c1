use super::*;

fn checkout_files() -> Vec<(&'static str, Kind, &'static [u8])> {
    vec![
        (
            "mf-manifest.json",
            Kind::Manifest,
            include_bytes!("../../examples/monorepo/packages/checkout/dist/mf-manifest.json"),
        ),
        (
            "remoteEntry.js",
            Kind::Script,
            include_bytes!("../../examples/monorepo/packages/checkout/dist/remoteEntry.js"),
        ),
    ]
}

fn keys(refs: &References) -> Vec<(&str, &str)> {
    refs.references
        .iter()
        .map(|r| (r.from.as_str(), r.key.as_str()))
        .collect()
}

#[test]
fn the_example_remote_names_its_entry_and_chunks_under_its_prefix() {
    let site = Site::new(Some("https://cdn.example.com"), "checkout/");
    let refs = References::collect(&site, checkout_files());
    assert!(refs.misplaced.is_empty(), "{:?}", refs.misplaced);
    assert!(refs.unchecked.is_empty(), "{:?}", refs.unchecked);
    assert_eq!(refs.files, ["mf-manifest.json", "remoteEntry.js"]);
    let named = keys(&refs);
    assert!(named.contains(&("mf-manifest.json", "checkout/remoteEntry.js")));
    assert!(named.contains(&("remoteEntry.js", "checkout/items.2738bcefd8210fa92271.js")));
    assert!(named.iter().all(|(_, k)| k.starts_with("checkout/")));
    assert_eq!(refs.references.len(), 5 + 4);
}

#[test]
fn a_fixed_public_path_of_another_place_is_misplaced() {
    // The build says `/checkout/`; a versioned deploy serves it at `/checkout/1.0.0/`.
    // (The example remote is built with `publicPath: 'auto'`, so it fits both.)
    let manifest = br#"{"metaData": {"publicPath": "/checkout/",
        "remoteEntry": {"name": "remoteEntry.js", "path": ""}},
        "exposes": [{"assets": {"js": {"sync": ["items.1f.js"], "async": []}}}]}"#;
    let script = br#"var __webpack_require__={};__webpack_require__.u=e=>"items.1f.js";__webpack_require__.p="/checkout/";"#;
    let files = vec![
        ("mf-manifest.json", Kind::Manifest, &manifest[..]),
        ("remoteEntry.js", Kind::Script, &script[..]),
    ];
    let site = Site::new(Some("https://cdn.example.com"), "checkout/1.0.0/");
    let refs = References::collect(&site, files);
    assert_eq!(refs.misplaced.len(), 2, "{:?}", refs.misplaced);
    assert_eq!(refs.misplaced[0].found, "/checkout/");
    assert_eq!(
        refs.misplaced[0].expected,
        "https://cdn.example.com/checkout/1.0.0/"
    );
}

#[test]
fn a_staging_url_is_refused_for_production_and_accepted_for_staging() {
    let manifest = br#"{"metaData": {"publicPath": "https://staging.example.com/checkout/",
        "remoteEntry": {"name": "remoteEntry.js", "path": ""}}}"#;
    let files = || vec![("mf-manifest.json", Kind::Manifest, &manifest[..])];
    let production = Site::new(Some("https://www.example.com"), "checkout/");
    let refused = References::collect(&production, files());
    assert_eq!(refused.misplaced.len(), 1);
    assert_eq!(
        refused.misplaced[0].expected,
        "https://www.example.com/checkout/"
    );
    let staging = Site::new(Some("https://staging.example.com/"), "checkout/");
    assert!(References::collect(&staging, files()).misplaced.is_empty());
    // Without `public-url` only the path can be compared.
    let unknown = Site::new(None, "checkout/");
    assert!(References::collect(&unknown, files()).misplaced.is_empty());
    let elsewhere = Site::new(None, "cart/");
    assert_eq!(References::collect(&elsewhere, files()).misplaced.len(), 1);
}

#[test]
fn an_auto_public_path_resolves_against_the_manifest() {
    let manifest = br#"{"metaData": {"publicPath": "auto",
        "remoteEntry": {"name": "remoteEntry.js", "path": ""}},
        "exposes": [{"assets": {"js": {"sync": ["a.1.js"], "async": []}}}]}"#;
    let site = Site::new(None, "shop/7/");
    let refs = References::collect(
        &site,
        [("nested/mf-manifest.json", Kind::Manifest, &manifest[..])],
    );
    assert_eq!(
        keys(&refs),
        [
            ("nested/mf-manifest.json", "shop/7/nested/a.1.js"),
            ("nested/mf-manifest.json", "shop/7/nested/remoteEntry.js"),
        ]
    );
}

#[test]
fn html_references_templates_and_other_modules_are_told_apart() {
    let html = br#"<base href="/main/"><script src="main.1.js"></script>
        <script src="/checkout/remoteEntry.js"></script><link rel=stylesheet href="/api/theme.css">
        <img src="{{logo}}"><img src="https://other.example.net/x.png">"#;
    // `/main/` is not where this deploy serves the shell (`/app/main/`).
    let site = Site::new(Some("https://www.example.com/app/"), "main/");
    let refs = References::collect(&site, [("index.html", Kind::Html, &html[..])]);
    assert_eq!(refs.misplaced.len(), 1, "{:?}", refs.misplaced);
    let site = Site::new(Some("https://www.example.com/"), "main/");
    let refs = References::collect(&site, [("index.html", Kind::Html, &html[..])]);
    assert_eq!(
        keys(&refs),
        [
            ("index.html", "api/theme.css"),
            ("index.html", "checkout/remoteEntry.js"),
            ("index.html", "main/main.1.js")
        ]
    );
    assert_eq!(refs.unchecked.len(), 1, "{:?}", refs.unchecked);
    assert!(refs.unchecked[0].contains("{{logo}}"));
}

#[test]
fn unreadable_referrers_are_unchecked_not_refused() {
    let site = Site::new(None, "m/");
    let refs = References::collect(
        &site,
        [
            ("mf-manifest.json", Kind::Manifest, &b"{oops"[..]),
            ("remoteEntry.js", Kind::Script, &[0xff, 0xfe][..]),
        ],
    );
    assert!(refs.references.is_empty());
    assert_eq!(refs.unchecked.len(), 2);
}

#[test]
fn unresolved_lists_what_the_known_keys_do_not_cover() {
    let site = Site::new(Some("https://cdn.example.com"), "checkout/");
    let refs = References::collect(&site, checkout_files());
    let missing = refs.unresolved(|k| !k.contains("items"));
    assert_eq!(missing.len(), 2);
    assert!(
        missing
            .iter()
            .all(|r| r.key == "checkout/items.2738bcefd8210fa92271.js")
    );
    assert_eq!(
        refs.by_key()["checkout/items.2738bcefd8210fa92271.js"],
        ["mf-manifest.json", "remoteEntry.js"]
    );
}

#[test]
fn kinds_follow_names_and_the_entry_class() {
    assert_eq!(Kind::of("mf-manifest.json", true), Some(Kind::Manifest));
    assert_eq!(Kind::of("a/Index.HTML", false), Some(Kind::Html));
    assert_eq!(Kind::of("remoteEntry-Ab12.js", true), Some(Kind::Script));
    assert_eq!(Kind::of("main.1a2b.js", false), None);
    assert_eq!(Kind::of("mf-stats.json", true), None);
}

/// A referring file read from disk: path, kind, bytes.
type Referrer = (String, Kind, Vec<u8>);

/// Every referring file of a committed bundler fixture, and every file of it.
fn fixture(name: &str) -> (Vec<Referrer>, Vec<String>) {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bundlers")
        .join(name)
        .join("dist");
    let mut referrers = Vec::new();
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(&dist) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(&dist)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let name = rel.rsplit('/').next().unwrap();
        let entry_like = name.starts_with("remoteEntry") || name == "mf-manifest.json";
        if let Some(kind) = Kind::of(&rel, entry_like) {
            referrers.push((rel.clone(), kind, std::fs::read(entry.path()).unwrap()));
        }
        all.push(rel);
    }
    (referrers, all)
}

#[test]
fn every_bundler_fixture_names_only_files_of_its_build() {
    for (name, expected) in [("webpack", 4 + 3), ("rspack", 4 + 3), ("vite", 7 + 4)] {
        let (referrers, all) = fixture(name);
        let site = Site::new(Some("https://cdn.example.com"), "m/");
        let refs = References::collect(
            &site,
            referrers
                .iter()
                .map(|(p, k, b)| (p.as_str(), *k, b.as_slice())),
        );
        assert!(refs.misplaced.is_empty(), "{name}: {:?}", refs.misplaced);
        assert!(refs.unchecked.is_empty(), "{name}: {:?}", refs.unchecked);
        let missing = refs.unresolved(|k| all.iter().any(|f| format!("m/{f}") == k));
        assert!(missing.is_empty(), "{name}: {missing:?}");
        let by_entry = refs
            .references
            .iter()
            .filter(|r| r.from != "mf-manifest.json")
            .count();
        assert_eq!(
            refs.references.len(),
            expected,
            "{name}: {:?} ({by_entry} from the entry)",
            refs.references
        );
    }
}
