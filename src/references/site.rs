//! Where a build is served, and how a URL found in one of its files maps to a key of
//! the bucket.
//!
//! `public-url` is the URL of the bucket's root: the object `k` is served at
//! `<public-url>/k`. A reference is resolved the way a browser resolves it (against
//! the referring file's URL, or an explicit base), then mapped back to a key.

/// How one reference resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A key of this bucket.
    Key(String),
    /// A path of the site that is not under `public-url` (served by something else).
    OffSite(String),
    /// Another host, or a scheme that is not a file (`data:`, `blob:`, `#top`…).
    Ignored,
}

/// The URL space of one deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `scheme://host[:port]` of `public-url`, lower-cased; `None` without one.
    origin: Option<String>,
    /// The path of `public-url`, with a leading and a trailing `/`.
    base_path: String,
    /// The key prefix of the build's root (`checkout/`, `checkout/1.4.0/`).
    root: String,
}

impl Site {
    /// `public_url` as validated by the request (`http(s)://…`); `root` ends in `/`
    /// or is empty.
    pub fn new(public_url: Option<&str>, root: &str) -> Self {
        let (origin, base_path) = match public_url.and_then(split_url) {
            Some((origin, path)) => (Some(origin), path),
            None => (None, "/".to_owned()),
        };
        let base_path = format!("/{}", with_slash(base_path.trim_matches('/')));
        Self {
            origin,
            base_path,
            root: root.to_owned(),
        }
    }

    /// The key prefix of the build's root.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The path the build's root is served at (`/checkout/`).
    pub fn root_path(&self) -> String {
        format!("{}{}", self.base_path, self.root)
    }

    /// The URL the build's root is served at, when `public-url` is known.
    pub fn root_url(&self) -> Option<String> {
        self.origin
            .as_ref()
            .map(|origin| format!("{origin}{}", self.root_path()))
    }

    pub fn has_origin(&self) -> bool {
        self.origin.is_some()
    }

    /// Resolves `reference` against the directory `dir_key` (a key prefix ending in
    /// `/`, or empty) of the bucket.
    pub fn resolve(&self, dir_key: &str, reference: &str) -> Resolved {
        match self.site_path(dir_key, reference) {
            Some(path) => self.key_of(&path),
            None => Resolved::Ignored,
        }
    }

    /// Resolves a base URL (a `publicPath`, an HTML `<base href>`) to the key prefix
    /// it names: `Err` with the path when it is not in this bucket's URL space.
    pub fn resolve_dir(&self, dir_key: &str, base: &str) -> Result<String, String> {
        let Some(path) = self.site_path(dir_key, base) else {
            return Err(base.to_owned());
        };
        match self.key_of(&format!("{}/", path.trim_end_matches('/'))) {
            Resolved::Key(key) => Ok(key),
            _ => Err(path),
        }
    }

    /// The absolute path `reference` names on this site; `None` for another host,
    /// or for what is not a file.
    fn site_path(&self, dir_key: &str, reference: &str) -> Option<String> {
        let reference = reference.trim();
        let end = reference.find(['?', '#']).unwrap_or(reference.len());
        let reference = &reference[..end];
        if reference.is_empty() {
            // `#top`, `?v=1`: the referring document itself.
            return None;
        }
        if let Some(rest) = reference.strip_prefix("//") {
            let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            return self.same_host(host).then(|| normalize("/", path))?;
        }
        if scheme_of(reference).is_some() {
            // Only `http(s)` URLs of `public-url`'s own origin are files of this site.
            let (origin, path) = split_url(reference)?;
            return (self.origin.as_ref() == Some(&origin)).then(|| normalize("/", &path))?;
        }
        if reference.starts_with('/') {
            return normalize("/", reference);
        }
        normalize(&format!("{}{dir_key}", self.base_path), reference)
    }

    fn same_host(&self, host: &str) -> bool {
        self.origin.as_deref().is_some_and(|origin| {
            origin
                .split_once("//")
                .is_some_and(|(_, own)| own.eq_ignore_ascii_case(host))
        })
    }

    fn key_of(&self, path: &str) -> Resolved {
        let decoded = percent_decode(path);
        match decoded.strip_prefix(self.base_path.as_str()) {
            Some(key) if !key.is_empty() => Resolved::Key(key.to_owned()),
            _ => Resolved::OffSite(decoded),
        }
    }
}

/// `(origin, path)` of an `http(s)://` URL, the origin lower-cased, the path `/` when
/// absent (query and fragment dropped).
fn split_url(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = scheme_of(url)?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let rest = rest.strip_prefix("//")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(end);
    if host.is_empty() {
        return None;
    }
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let path = match &tail[..path_end] {
        "" => "/",
        p => p,
    };
    Some((
        format!("{scheme}://{}", host.to_ascii_lowercase()),
        path.to_owned(),
    ))
}

/// The scheme of an absolute URL (`https:`, `data:`), lower-cased, and what follows.
fn scheme_of(url: &str) -> Option<(String, &str)> {
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| (scheme.to_ascii_lowercase(), &url[colon + 1..]))
}

/// `reference` joined to the absolute directory `dir` (ending in `/`), with `.` and
/// `..` segments applied; `None` when it climbs above the site's root.
fn normalize(dir: &str, reference: &str) -> Option<String> {
    let joined = if reference.starts_with('/') {
        reference.to_owned()
    } else {
        format!("{dir}{reference}")
    };
    let trailing = joined.ends_with('/') || joined.ends_with("/.") || joined.ends_with("/..");
    let mut parts: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    let path = format!("/{}", parts.join("/"));
    Some(if trailing && path != "/" {
        format!("{path}/")
    } else {
        path
    })
}

fn with_slash(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    }
}

/// `%XX` sequences decoded (as S3 keys hold the decoded bytes); text that does not
/// decode to UTF-8 is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Resolved {
        Resolved::Key(k.to_owned())
    }

    #[test]
    fn relative_references_resolve_against_the_referring_file() {
        let site = Site::new(Some("https://cdn.example.com"), "checkout/");
        assert_eq!(site.resolve("checkout/", "a.js"), key("checkout/a.js"));
        assert_eq!(site.resolve("checkout/", "./a.js"), key("checkout/a.js"));
        assert_eq!(
            site.resolve("checkout/nested/", "../a.js?v=2#x"),
            key("checkout/a.js")
        );
        assert_eq!(site.resolve("", "../../a.js"), Resolved::Ignored);
    }

    #[test]
    fn root_relative_and_same_site_urls_map_to_keys() {
        let site = Site::new(Some("https://CDN.example.com/"), "main/");
        assert_eq!(site.resolve("main/", "/main/m.js"), key("main/m.js"));
        assert_eq!(
            site.resolve("main/", "https://cdn.example.com/checkout/remoteEntry.js"),
            key("checkout/remoteEntry.js")
        );
        assert_eq!(
            site.resolve("main/", "//cdn.example.com/main/a%20b.css"),
            key("main/a b.css")
        );
        assert_eq!(
            site.resolve("main/", "https://fonts.example.net/f.css"),
            Resolved::Ignored
        );
    }

    #[test]
    fn a_public_url_with_a_path_is_the_bucket_root() {
        let site = Site::new(Some("https://example.com/static"), "shop/");
        assert_eq!(site.root_path(), "/static/shop/");
        assert_eq!(site.resolve("shop/", "/static/shop/x.js"), key("shop/x.js"));
        assert_eq!(
            site.resolve("shop/", "/api/data.json"),
            Resolved::OffSite("/api/data.json".to_owned())
        );
        assert_eq!(site.resolve("shop/", "x.js"), key("shop/x.js"));
    }

    #[test]
    fn what_is_not_a_file_is_ignored() {
        let site = Site::new(None, "");
        for reference in [
            "data:image/png;base64,AAAA",
            "blob:https://x/1",
            "javascript:void(0)",
            "mailto:a@b",
            "#top",
            "",
            "https://other.example.com/a.js",
        ] {
            assert_eq!(
                site.resolve("", reference),
                Resolved::Ignored,
                "{reference}"
            );
        }
    }

    #[test]
    fn base_urls_resolve_to_key_prefixes() {
        let site = Site::new(Some("https://cdn.example.com"), "checkout/");
        assert_eq!(
            site.resolve_dir("checkout/", "/checkout/"),
            Ok("checkout/".to_owned())
        );
        assert_eq!(
            site.resolve_dir("checkout/", "https://cdn.example.com/checkout"),
            Ok("checkout/".to_owned())
        );
        assert_eq!(
            site.resolve_dir("checkout/", "./"),
            Ok("checkout/".to_owned())
        );
        assert!(
            site.resolve_dir("checkout/", "https://staging.example.com/checkout/")
                .is_err()
        );
    }
}
