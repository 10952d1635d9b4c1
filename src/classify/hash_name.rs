//! Detects whether a file name carries a bundler content hash.
//!
//! Two families exist in the wild:
//! - webpack/Rspack `[contenthash]` and older Vite/CRA `[hash:8]`: lowercase hex, 8–64
//!   characters (webpack's default digest length is 20, Rspack's 16, `[contenthash:8]` is common);
//! - Rollup/Vite 3+ `[hash]`: 8 characters of base64url (`A–Z a–z 0–9 _ -`).
//!
//! A hash candidate is a `.`-separated segment of the name, or the tail of a segment that
//! follows a `-`, `_` or `~` separator (`index-BqHk3x9Z.js`, `vendors~main.1a2b3c4d.js`).
//! The checks lean towards "not hashed" for word-like strings, because the cost of a miss
//! is a short cache lifetime and a warning, while a false "hashed" would pin stale code
//! in browsers for a year (the immutability check then refuses the next changed upload).

/// Returns true when `file_name` (a base name, no directories) contains a content hash.
pub fn has_content_hash(file_name: &str) -> bool {
    file_name
        .split('.')
        .any(|segment| candidates(segment).any(is_hash))
}

/// The segment itself and every tail that starts right after a separator.
fn candidates(segment: &str) -> impl Iterator<Item = &str> {
    let tails = segment
        .char_indices()
        .filter(|&(_, c)| matches!(c, '-' | '_' | '~'))
        .map(move |(i, c)| &segment[i + c.len_utf8()..]);
    std::iter::once(segment).chain(tails)
}

fn is_hash(candidate: &str) -> bool {
    is_hex_hash(candidate) || is_base64url_hash(candidate)
}

/// Lowercase hex, 8 to 64 characters, with at least one digit and one letter
/// (an all-digit run is more likely a date or a build number than a digest).
fn is_hex_hash(s: &str) -> bool {
    (8..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Rollup's default: exactly 8 base64url characters that do not read like a word.
fn is_base64url_hash(s: &str) -> bool {
    if s.len() != 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return false;
    }
    let upper = s.bytes().filter(u8::is_ascii_uppercase).count();
    let lower = s.bytes().filter(u8::is_ascii_lowercase).count();
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    upper >= 1 && (lower >= 1 || digits >= 1) && !is_word_shaped(s)
}

/// `camelCase`, `PascalCase`, `lowercase` or `UPPERCASE` letters only.
fn is_word_shaped(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    if bytes.iter().all(u8::is_ascii_uppercase) {
        return true;
    }
    // Every capital starts a word: it is followed by a lowercase letter.
    bytes.iter().enumerate().all(|(i, b)| {
        !b.is_ascii_uppercase() || bytes.get(i + 1).is_some_and(u8::is_ascii_lowercase)
    })
}

#[cfg(test)]
mod tests {
    use super::has_content_hash;

    #[test]
    fn real_bundler_names_are_recognised_as_hashed() {
        let hashed = [
            // webpack 5 [contenthash] (20 hex) and [contenthash:8]
            "main.3f2a9c1b7e4d5a6b8c0d.js",
            "vendors-node_modules_react_index_js.5e8f1c2a.js",
            "src_Widget_js.0c9e6a41d2f35b78a9e1.js",
            "main.5f6e7d8c.css",
            "main.3f2a9c1b7e4d5a6b8c0d.js.map",
            "main.3f2a9c1b7e4d5a6b8c0d.js.LICENSE.txt",
            "1a2b3c4d5e6f7a8b9c0d.js",
            "logo.6ce24c58023cc2f8fd88fe9d219db6c6.svg",
            "vendors~main.1a2b3c4d.chunk.js",
            // Rspack default 16 hex
            "app.9f86d081884c7d65.js",
            // Vite 2 (hex 8)
            "index-4f2a9c1b.js",
            // Rollup / Vite 3+ base64url 8
            "index-BqHk3x9Z.js",
            "index-C_Xk-5qA.css",
            "Widget-D8r-wq1N.js",
            "vendor-DiwK3Tda.js",
            "index-B0mQz_1x.js",
            // Next.js chunk
            "index-4a5b6c7d8e9f0a1b.js",
        ];
        for name in hashed {
            assert!(has_content_hash(name), "{name} should count as hashed");
        }
    }

    #[test]
    fn plain_names_are_not_mistaken_for_hashes() {
        let plain = [
            "remoteEntry.js",
            "mf-manifest.json",
            "index.html",
            "main.js",
            "123.js",
            "bundle.min.js",
            "app.20240101.js",
            "styles.css",
            "icon-MyButton.svg",
            "button-v2_final.js",
            "robots.txt",
            "favicon.ico",
            "vendor-Settings.js",
            "polyfills-ABCDEFGH.js",
            "feedback.js",
            "accessible.css",
            "deadbeef.js",
        ];
        for name in plain {
            assert!(!has_content_hash(name), "{name} should not count as hashed");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::has_content_hash;

    proptest! {
        /// webpack `[name].[contenthash:N].js` is always recognised.
        #[test]
        fn webpack_hex_hashes_are_recognised(
            name in "[a-z][a-z_]{0,20}",
            hash in "[0-9a-f]{8,32}",
            ext in "(js|css|js\\.map|svg|png|woff2)",
        ) {
            prop_assume!(hash.bytes().any(|b| b.is_ascii_digit()) && hash.bytes().any(|b| b.is_ascii_alphabetic()));
            let file = format!("{name}.{hash}.{ext}");
            prop_assert!(has_content_hash(&file), "{}", file);
        }

        /// Rollup `[name]-[hash].js` with a capital and a digit is always recognised.
        #[test]
        fn rollup_base64url_hashes_with_a_capital_and_a_digit_are_recognised(
            name in "[a-zA-Z]{1,12}",
            hash in "[A-Za-z0-9_-]{8}",
        ) {
            prop_assume!(hash.bytes().any(|b| b.is_ascii_uppercase()) && hash.bytes().any(|b| b.is_ascii_digit()));
            let file = format!("{name}-{hash}.js");
            prop_assert!(has_content_hash(&file), "{}", file);
        }

        /// Plain lowercase names never count as hashed, whatever their length.
        #[test]
        fn lowercase_words_are_never_hashes(words in proptest::collection::vec("[g-z]{1,12}", 1..4)) {
            let file = format!("{}.js", words.join("-"));
            prop_assert!(!has_content_hash(&file), "{}", file);
        }
    }
}
