//! Best effort: the chunk files an entry script (`remoteEntry.js`) makes the browser
//! request.
//!
//! - webpack and Rspack: the runtime's chunk-name functions, `__webpack_require__.u`
//!   (scripts) and `.miniCssF` (styles), minified as `r.u=e=>…`. Each is a small
//!   expression over the chunk id (string concatenation, object maps indexed by the
//!   id, `id===e?…:…`); it is evaluated for every id the expression lists. The
//!   public path (`.p="…"`) is read when it is a literal.
//! - ES modules (Vite): the relative specifiers of `import … from`, `import(…)` and
//!   `new URL(…, import.meta.url)`.
//!
//! Anything else is reported as not checked; an expression that is not understood
//! never yields a name, so it can never cause a refusal.

use super::expr::{chunk_names, string_literal};

/// What one entry script names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    /// File names relative to the chunk base (the public path).
    pub chunks: Vec<String>,
    /// The literal public path (`r.p="/checkout/"`), when there is one and it is not
    /// `auto`.
    pub public_path: Option<String>,
    /// Specifiers relative to the script's own URL.
    pub imports: Vec<String>,
    /// Why part of it could not be checked.
    pub unchecked: Vec<String>,
}

pub fn parse(text: &str) -> Named {
    let mut named = Named::default();
    let webpack = text.contains("__webpack_require__")
        || text.contains("webpackChunk")
        || text.contains("rspackChunk")
        || text.contains(".miniCssF=");
    if webpack {
        // `.k`: Rspack's name function for its native CSS chunks.
        for (function, extension) in [(".u", ".js"), (".miniCssF", ".css"), (".k", ".css")] {
            for body in assignments(text, function) {
                match chunk_names(body, extension) {
                    Some(names) => named.chunks.extend(names),
                    // Only a function that names such files is worth a word: a
                    // minifier reuses short names like `.k` for anything.
                    None if names_files(body, extension) => named.unchecked.push(format!(
                        "its chunk-name function `{function}` is not one mfe-deploy can read"
                    )),
                    None => {}
                }
            }
        }
        named.public_path = assignments(text, ".p")
            .filter_map(|rhs| string_literal(rhs.trim_start()).map(|(s, _)| s))
            .find(|p| p != "auto" && !p.is_empty());
    }
    named.imports = import_specifiers(text);
    named.chunks.sort();
    named.chunks.dedup();
    named.imports.sort();
    named.imports.dedup();
    named
}

/// The text after each `<name>=` (not `==`), as in `r.u=` or `__webpack_require__.u = `.
fn assignments<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.match_indices(name).filter_map(move |(at, _)| {
        let after = &text[at + name.len()..];
        let before = text[..at].chars().next_back()?;
        if !(before.is_alphanumeric() || matches!(before, '_' | '$' | ')' | ']')) {
            return None;
        }
        let rhs = after.trim_start().strip_prefix('=')?;
        (!rhs.starts_with(['=', '>'])).then_some(rhs)
    })
}

/// Whether an assignment looks like a function that builds file names with
/// `extension`.
fn names_files(body: &str, extension: &str) -> bool {
    let head = body.trim_start();
    let function = head.starts_with("function")
        || head
            .get(..head.len().min(12))
            .is_some_and(|h| h.contains("=>"));
    let window: String = head.chars().take(400).collect();
    function && window.contains(&format!("{extension}\""))
}

/// Relative specifiers (`./`, `../`, `/`) of static and dynamic imports and of
/// `new URL(…, import.meta.url)`.
fn import_specifiers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut take = |rest: &str| {
        if let Some((spec, _)) = string_literal(rest.trim_start())
            && (spec.starts_with("./") || spec.starts_with("../") || spec.starts_with('/'))
            && !spec.starts_with("//")
        {
            found.push(spec);
        }
    };
    for (at, _) in text.match_indices("import") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '.')) {
            continue;
        }
        let after = text[at + "import".len()..].trim_start();
        if let Some(call) = after.strip_prefix('(') {
            take(call);
        } else if after.starts_with(['"', '\'']) {
            take(after);
        }
    }
    for (at, _) in text.match_indices("from") {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_whitespace() || c == '}' || c == '*') {
            take(&text[at + "from".len()..]);
        }
    }
    for (at, _) in text.match_indices("new URL(") {
        let rest = &text[at + "new URL(".len()..];
        if let Some((_, after)) = string_literal(rest.trim_start())
            && after
                .trim_start()
                .strip_prefix(',')
                .is_some_and(|base| base.trim_start().starts_with("import.meta.url"))
        {
            take(rest);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_remote_entry_names_its_chunks_and_style() {
        let named = parse(include_str!(
            "../../examples/monorepo/packages/checkout/dist/remoteEntry.js"
        ));
        assert_eq!(
            named.chunks,
            [
                "__federation_expose_Cart.962a652306222a7395b2.css",
                "__federation_expose_Cart.c034d5ea579b404b5d87.js",
                "items.2738bcefd8210fa92271.js",
                "totals.fd1aefea971e49b27699.js",
            ]
        );
        assert_eq!(named.public_path, None);
        assert!(named.unchecked.is_empty(), "{:?}", named.unchecked);
    }

    #[test]
    fn chunk_maps_with_named_ids_and_conditionals_are_evaluated() {
        let js =
            r#"__webpack_require__.u=e=>(574===e?"footer":e)+"."+{537:"aa",574:"bb"}[e]+".js";"#;
        assert_eq!(parse(js).chunks, ["537.aa.js", "footer.bb.js"]);
        let js = r#"rspackChunk;c.k=e=>"w.cc.css",c.u=e=>""+({380:"details",941:"w"})[e]+"."+({380:"f6",941:"8e"})[e]+".js",c.k=3"#;
        assert_eq!(parse(js).chunks, ["details.f6.js", "w.8e.js", "w.cc.css"]);
        assert!(parse(js).unchecked.is_empty());
        let js = r#"var __webpack_require__={};__webpack_require__.u = function(chunkId) { return "js/" + chunkId + "." + {"src_a_js":"1f"}[chunkId] + ".js"; };"#;
        assert_eq!(parse(js).chunks, ["js/src_a_js.1f.js"]);
    }

    #[test]
    fn styles_named_by_id_alone_are_not_guessed() {
        let js = r#"webpackChunk;o.miniCssF=e=>e+".a8bf.css",o.o=1"#;
        let named = parse(js);
        assert!(named.chunks.is_empty());
        assert_eq!(named.unchecked.len(), 1);
    }

    #[test]
    fn es_module_imports_are_relative_specifiers_only() {
        let js = r#"import {a} from "./shared-Ab12.js";import"./side.js";const m=()=>import('../x/expose-Cd34.js');
            import React from "react";const u=new URL("./logo-9f.svg",import.meta.url);fetch("./data.json");"#;
        assert_eq!(
            parse(js).imports,
            [
                "../x/expose-Cd34.js",
                "./logo-9f.svg",
                "./shared-Ab12.js",
                "./side.js"
            ]
        );
    }

    #[test]
    fn odd_scripts_end_without_a_panic_or_a_name() {
        for js in [
            "__webpack_require__.u=",
            "__webpack_require__.u=e=>((((",
            "__webpack_require__.u=e=>{1:\"a\"",
            "__webpack_require__.u=e=>\"\\u0041.js\"",
            "import(",
            "from '",
            "new URL(\"",
        ] {
            let named = parse(js);
            assert!(named.chunks.is_empty(), "{js}");
        }
    }
}
