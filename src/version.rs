//! The default version label: a digest of the build's content, independent of mtimes.

use sha2::{Digest as _, Sha256};

use crate::scan::{LocalFile, hex};

/// First 12 hex digits of SHA-256 over `path NUL sha256-hex LF` for each file,
/// sorted by path (byte order), so the same bytes always give the same version.
pub fn build_version(files: &[LocalFile]) -> String {
    let mut sorted: Vec<&LocalFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    let mut sha = Sha256::new();
    for file in sorted {
        sha.update(file.rel_path.as_bytes());
        sha.update([0]);
        sha.update(file.digest.sha256_hex().as_bytes());
        sha.update([b'\n']);
    }
    hex(&sha.finalize())[..12].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Digest;

    fn file(path: &str, body: &[u8]) -> LocalFile {
        LocalFile {
            rel_path: path.to_owned(),
            abs_path: path.into(),
            digest: Digest::of_reader(body).unwrap(),
        }
    }

    #[test]
    fn version_is_the_documented_digest() {
        let files = [file("b.js", b"b"), file("a.js", b"a")];
        let sha_a = file("a.js", b"a").digest.sha256_hex();
        let sha_b = file("b.js", b"b").digest.sha256_hex();
        let expected = hex(&Sha256::digest(format!("a.js\0{sha_a}\nb.js\0{sha_b}\n")));
        assert_eq!(build_version(&files), expected[..12]);
    }

    #[test]
    fn order_does_not_matter_but_content_and_names_do() {
        let one = [file("a.js", b"a"), file("b.js", b"b")];
        let swapped = [file("b.js", b"b"), file("a.js", b"a")];
        let edited = [file("a.js", b"a!"), file("b.js", b"b")];
        let renamed = [file("a2.js", b"a"), file("b.js", b"b")];
        assert_eq!(build_version(&one), build_version(&swapped));
        assert_ne!(build_version(&one), build_version(&edited));
        assert_ne!(build_version(&one), build_version(&renamed));
        assert_eq!(build_version(&one).len(), 12);
    }
}
