//! The files an HTML document loads: `script[src]`, `link[href]` (stylesheets,
//! module preloads, preloads, icons), `img[src]`, and its `<base href>`.
//!
//! A small tokenizer, not a full HTML parser: it skips comments and the raw text of
//! `<script>`, `<style>`, `<template>` and `<textarea>`, and reads attributes quoted,
//! single-quoted or bare, as browsers do.

/// What one document names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    /// `<base href>`, when there is one.
    pub base: Option<String>,
    /// Every URL it loads, in document order.
    pub urls: Vec<String>,
    /// URLs that are templates rather than addresses (`{{ cdn }}/x.js`).
    pub templated: Vec<String>,
}

/// `link rel` values whose `href` the page loads.
const LOADED_RELS: [&str; 5] = [
    "stylesheet",
    "modulepreload",
    "preload",
    "icon",
    "apple-touch-icon",
];

/// Elements whose content is raw text, not markup.
const RAW_TEXT: [&str; 4] = ["script", "style", "template", "textarea"];

pub fn parse(text: &str) -> Named {
    let mut named = Named::default();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '-')
            .unwrap_or(rest.len());
        if name_len == 0 {
            continue;
        }
        let name = rest[..name_len].to_ascii_lowercase();
        let (attributes, after) = read_attributes(&rest[name_len..]);
        rest = after;
        take(&mut named, &name, &attributes);
        if RAW_TEXT.contains(&name.as_str()) {
            rest = skip_raw_text(rest, &name);
        }
    }
    named
}

fn take(named: &mut Named, element: &str, attributes: &[(String, String)]) {
    let get = |wanted: &str| {
        attributes
            .iter()
            .find(|(n, _)| n == wanted)
            .map(|(_, v)| v.clone())
    };
    let url = match element {
        "script" | "img" => get("src"),
        "link" => get("rel")
            .filter(|rel| {
                rel.split_ascii_whitespace()
                    .any(|r| LOADED_RELS.iter().any(|l| r.eq_ignore_ascii_case(l)))
            })
            .and(get("href")),
        "base" => {
            if named.base.is_none() {
                named.base = get("href");
            }
            None
        }
        _ => None,
    };
    if let Some(url) = url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()) {
        if ["{{", "{%", "<%", "${"].iter().any(|t| url.contains(t)) {
            named.templated.push(url);
        } else {
            named.urls.push(url);
        }
    }
}

/// The attributes of a start tag, names lower-cased and values with character
/// references decoded, and the text after the tag.
fn read_attributes(mut rest: &str) -> (Vec<(String, String)>, &str) {
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return (attributes, rest);
        }
        if let Some(after) = rest.strip_prefix('>') {
            return (attributes, after);
        }
        let name_len = rest
            .find(|c: char| c.is_ascii_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(rest.len())
            .max(1);
        let name = rest[..name_len].to_ascii_lowercase();
        rest = rest[name_len..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        let Some(value) = rest.strip_prefix('=') else {
            attributes.push((name, String::new()));
            continue;
        };
        let value = value.trim_start_matches(|c: char| c.is_ascii_whitespace());
        let (raw, after) = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &value[1..];
                let end = inner.find(quote).unwrap_or(inner.len());
                (&inner[..end], inner.get(end + 1..).unwrap_or(""))
            }
            _ => {
                let end = value
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(value.len());
                value.split_at(end)
            }
        };
        attributes.push((name, decode_entities(raw)));
        rest = after;
    }
}

/// The text after the end tag of a raw-text element (or nothing, when it is never
/// closed).
fn skip_raw_text<'a>(rest: &'a str, element: &str) -> &'a str {
    let closing = format!("</{element}");
    let lower = rest.to_ascii_lowercase();
    lower.find(&closing).map_or("", |at| &rest[at..])
}

fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    raw.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_shell_names_its_icon_and_script() {
        let named = parse(include_str!(
            "../../examples/monorepo/packages/main/dist/index.html"
        ));
        assert_eq!(named.urls, ["favicon.ico", "main.9bd77ed5d268c9c228c0.js"]);
        assert_eq!(named.base, None);
    }

    #[test]
    fn quoted_bare_and_mixed_case_attributes_are_read() {
        let named = parse(
            r#"<HTML><head><BASE HREF="/shop/"><link rel="modulepreload" href='./a.js'>
               <link rel=stylesheet href=s.css><link rel="preconnect" href="https://x.example">
               <link rel="shortcut icon" href="f.ico"><img src="data:image/png;base64,AA" alt=x>
               <script type=module src="./m.js?v=1"></script><img src = "i.png" /></head></HTML>"#,
        );
        assert_eq!(named.base.as_deref(), Some("/shop/"));
        assert_eq!(
            named.urls,
            [
                "./a.js",
                "s.css",
                "f.ico",
                "data:image/png;base64,AA",
                "./m.js?v=1",
                "i.png"
            ]
        );
    }

    #[test]
    fn comments_and_script_text_are_not_markup() {
        let named = parse(
            r#"<!-- <script src="old.js"></script> --><script>document.write('<script src="w.js"></script>')</script>
               <style>a{background:url(x.png)}</style><textarea><img src="t.png"></textarea><img src="real.png">"#,
        );
        assert_eq!(named.urls, ["real.png"]);
    }

    #[test]
    fn templates_and_entities_are_told_apart() {
        let named = parse(r#"<script src="{{cdn}}/x.js"></script><img src="a&amp;b.png">"#);
        assert_eq!(named.templated, ["{{cdn}}/x.js"]);
        assert_eq!(named.urls, ["a&b.png"]);
    }

    #[test]
    fn broken_markup_ends_without_a_panic() {
        for text in [
            "<",
            "<script",
            "<img src=",
            "<img src=\"x",
            "<!--",
            "<a =>",
            "<é src=x>",
        ] {
            let _ = parse(text);
        }
    }
}
