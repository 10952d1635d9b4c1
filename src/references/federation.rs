//! The files a Module Federation 2 `mf-manifest.json` names: the remote entries, the
//! type archives, and every asset its exposes and shared modules load. All are
//! relative to the build's public path.

use serde_json::Value;

/// Where the manifest says its files are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicPath {
    /// `auto`, absent, or document-relative (`./`, `""`): the runtime derives it
    /// from where the manifest was loaded.
    Relative(String),
    /// Root-relative (`/checkout/`) or absolute (`https://cdn/checkout/`).
    Fixed(String),
    /// `getPublicPath`: code the runtime evaluates, which cannot be checked here.
    Code,
}

/// What one manifest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub public_path: PublicPath,
    /// Paths relative to the public path.
    pub files: Vec<String>,
    /// Why part of it could not be checked.
    pub unchecked: Vec<String>,
}

/// Reads a manifest; `Err` says why it is not one.
pub fn parse(bytes: &[u8]) -> Result<Named, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let meta = doc
        .get("metaData")
        .and_then(Value::as_object)
        .ok_or("no `metaData` object: not a Module Federation 2 manifest")?;
    let mut named = Named {
        public_path: public_path(meta),
        files: Vec::new(),
        unchecked: Vec::new(),
    };
    for field in ["remoteEntry", "ssrRemoteEntry", "prefetchEntry"] {
        if let Some(entry) = meta.get(field) {
            push_entry(&mut named.files, entry);
        }
    }
    if let Some(types) = meta.get("types") {
        push_entry(&mut named.files, types);
        for field in ["zip", "api"] {
            push_path(&mut named.files, types.get(field));
        }
    }
    let exposes = list(&doc, "exposes");
    let shared = list(&doc, "shared");
    let mut listed = 0;
    for item in exposes.iter().chain(shared) {
        listed += push_assets(&mut named.files, item.get("assets"));
        for provider in item
            .get("providers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            listed += push_assets(&mut named.files, provider.get("assets"));
        }
    }
    if !exposes.is_empty() && listed == 0 {
        named.unchecked.push(
            "its exposes list no assets (the build ran with asset analysis off): the chunks they load are not checked".to_owned(),
        );
    }
    named.files.sort();
    named.files.dedup();
    Ok(named)
}

fn public_path(meta: &serde_json::Map<String, Value>) -> PublicPath {
    if meta.get("getPublicPath").and_then(Value::as_str).is_some() {
        return PublicPath::Code;
    }
    match meta.get("publicPath").and_then(Value::as_str) {
        None => PublicPath::Relative(String::new()),
        Some("auto") => PublicPath::Relative(String::new()),
        Some(path) if path.starts_with('/') || path.contains("://") => {
            PublicPath::Fixed(path.to_owned())
        }
        Some(path) => PublicPath::Relative(path.to_owned()),
    }
}

fn list<'a>(doc: &'a Value, field: &str) -> &'a [Value] {
    doc.get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `{ "path": "sub", "name": "remoteEntry.js" }` → `sub/remoteEntry.js`.
fn push_entry(files: &mut Vec<String>, entry: &Value) {
    let Some(name) = entry.get("name").and_then(Value::as_str) else {
        return;
    };
    if name.is_empty() {
        return;
    }
    let dir = entry
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_matches('/');
    files.push(if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    });
}

fn push_path(files: &mut Vec<String>, path: Option<&Value>) {
    if let Some(path) = path.and_then(Value::as_str).filter(|p| !p.is_empty()) {
        files.push(path.to_owned());
    }
}

/// `assets.{js,css}.{sync,async}`; returns how many it listed.
fn push_assets(files: &mut Vec<String>, assets: Option<&Value>) -> usize {
    let mut count = 0;
    for kind in ["js", "css"] {
        for timing in ["sync", "async"] {
            let Some(names) = assets
                .and_then(|a| a.get(kind))
                .and_then(|k| k.get(timing))
                .and_then(Value::as_array)
            else {
                continue;
            };
            for name in names.iter().filter_map(Value::as_str) {
                files.push(name.to_owned());
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_manifest_names_its_entry_and_every_asset() {
        let named = parse(include_bytes!(
            "../../examples/monorepo/packages/checkout/dist/mf-manifest.json"
        ))
        .unwrap();
        assert_eq!(named.public_path, PublicPath::Relative(String::new()));
        assert_eq!(
            named.files,
            [
                "__federation_expose_Cart.962a652306222a7395b2.css",
                "__federation_expose_Cart.c034d5ea579b404b5d87.js",
                "items.2738bcefd8210fa92271.js",
                "remoteEntry.js",
                "totals.fd1aefea971e49b27699.js",
            ]
        );
        assert!(named.unchecked.is_empty());
    }

    #[test]
    fn nested_entries_types_and_shared_providers_are_named() {
        let named = parse(
            br#"{"metaData": {"publicPath": "auto",
                "remoteEntry": {"name": "remoteEntry.js", "path": "/js/"},
                "ssrRemoteEntry": {"name": "remoteEntry.js", "path": "server"},
                "types": {"path": "", "name": "", "zip": "@mf-types.zip", "api": "@mf-types.d.ts"}},
              "shared": [{"assets": {"js": {"sync": ["react.1.js"], "async": []}},
                          "providers": [{"assets": {"css": {"async": ["p.2.css"]}}}]}],
              "exposes": [{"assets": {"js": {"sync": ["e.3.js"]}}}]}"#,
        )
        .unwrap();
        assert_eq!(named.public_path, PublicPath::Relative(String::new()));
        assert_eq!(
            named.files,
            [
                "@mf-types.d.ts",
                "@mf-types.zip",
                "e.3.js",
                "js/remoteEntry.js",
                "p.2.css",
                "react.1.js",
                "server/remoteEntry.js",
            ]
        );
    }

    #[test]
    fn a_manifest_without_asset_lists_is_not_checked_rather_than_ok() {
        let named = parse(
            br#"{"metaData": {"remoteEntry": {"name": "remoteEntry.js", "path": ""}},
                 "exposes": [{"name": "Cart", "assets": {"js": {"sync": [], "async": []}}}]}"#,
        )
        .unwrap();
        assert_eq!(named.files, ["remoteEntry.js"]);
        assert_eq!(named.unchecked.len(), 1);
    }

    #[test]
    fn public_paths_are_told_apart() {
        let path = |json: &str| parse(json.as_bytes()).unwrap().public_path;
        assert_eq!(
            path(r#"{"metaData": {"publicPath": "https://cdn.example.com/c/"}}"#),
            PublicPath::Fixed("https://cdn.example.com/c/".to_owned())
        );
        assert_eq!(
            path(r#"{"metaData": {"publicPath": "./"}}"#),
            PublicPath::Relative("./".to_owned())
        );
        assert_eq!(
            path(r#"{"metaData": {"getPublicPath": "return window.cdn"}}"#),
            PublicPath::Code
        );
    }

    #[test]
    fn what_is_not_a_manifest_is_an_error_not_a_panic() {
        assert!(parse(b"[1,2]").is_err());
        assert!(parse(b"{").is_err());
        assert!(parse(br#"{"metaData": 3}"#).is_err());
    }
}
