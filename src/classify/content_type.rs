//! `Content-Type` for every file a frontend build emits.
//!
//! A fixed table covers the types browsers are strict about (module scripts, fonts,
//! wasm streaming compilation, manifests); `mime_guess` covers the long tail.

/// The `Content-Type` header for a path, with `charset=utf-8` on text types.
pub fn content_type_for(path: &str) -> String {
    let ext = extension(path);
    let essence = known_type(&ext)
        .map(str::to_owned)
        .or_else(|| {
            mime_guess::from_ext(&ext)
                .first()
                .map(|mime| mime.essence_str().to_owned())
        })
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    with_charset(essence)
}

/// Appends `; charset=utf-8` to text-like essences that lack a charset.
pub fn with_charset(essence: String) -> String {
    if is_text(&essence) && !essence.contains("charset=") {
        format!("{essence}; charset=utf-8")
    } else {
        essence
    }
}

fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn known_type(ext: &str) -> Option<&'static str> {
    Some(match ext {
        // RFC 9239 made text/javascript the one JavaScript type.
        "js" | "mjs" | "cjs" => "text/javascript",
        "css" => "text/css",
        "html" | "htm" => "text/html",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        // WebAssembly.instantiateStreaming refuses any other type.
        "wasm" => "application/wasm",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        _ => return None,
    })
}

fn is_text(essence: &str) -> bool {
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/json"
                | "application/manifest+json"
                | "application/javascript"
                | "application/xml"
                | "image/svg+xml"
                | "application/ld+json"
                | "application/rss+xml"
                | "application/atom+xml"
        )
}

#[cfg(test)]
mod tests {
    use super::content_type_for;

    #[test]
    fn every_frontend_build_type_is_exact() {
        let table = [
            ("main.1a2b3c4d.js", "text/javascript; charset=utf-8"),
            ("worker.mjs", "text/javascript; charset=utf-8"),
            ("main.css", "text/css; charset=utf-8"),
            ("index.html", "text/html; charset=utf-8"),
            ("mf-manifest.json", "application/json; charset=utf-8"),
            ("main.js.map", "application/json; charset=utf-8"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("a.png", "image/png"),
            ("a.JPG", "image/jpeg"),
            ("a.webp", "image/webp"),
            ("a.avif", "image/avif"),
            ("a.gif", "image/gif"),
            ("favicon.ico", "image/x-icon"),
            ("font.woff", "font/woff"),
            ("font.woff2", "font/woff2"),
            ("font.ttf", "font/ttf"),
            ("module.wasm", "application/wasm"),
            ("robots.txt", "text/plain; charset=utf-8"),
            ("sitemap.xml", "application/xml; charset=utf-8"),
            (
                "site.webmanifest",
                "application/manifest+json; charset=utf-8",
            ),
            ("main.js.LICENSE.txt", "text/plain; charset=utf-8"),
        ];
        for (path, expected) in table {
            assert_eq!(content_type_for(path), expected, "{path}");
        }
    }

    #[test]
    fn unknown_or_missing_extensions_are_octet_stream() {
        assert_eq!(content_type_for("LICENSE"), "application/octet-stream");
        assert_eq!(content_type_for(".hidden"), "application/octet-stream");
        assert_eq!(content_type_for("blob.zzqx"), "application/octet-stream");
    }

    #[test]
    fn long_tail_comes_from_mime_guess() {
        assert_eq!(content_type_for("doc/a.rtf"), "application/rtf");
    }
}
