//! The files a build's entries and HTML name: a fuzzed `public-url` and root, and
//! fuzzed bytes read as an `mf-manifest.json`, an HTML page and an entry script.
//! Input: `public-url 0xFF root 0xFF bytes`. Any input is read or reported as not
//! checkable, never a panic; every key it names has no `.` or `..` segment.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mfe_deploy::references::{Kind, References, Site};

fuzz_target!(|data: &[u8]| {
    let mut fields = data.splitn(3, |b| *b == 0xFF);
    let url = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let root = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let bytes = fields.next().unwrap_or_default();
    let site = Site::new((!url.is_empty()).then_some(url.as_str()), &root);
    for (path, kind) in [
        ("mf-manifest.json", Kind::Manifest),
        ("nested/index.html", Kind::Html),
        ("remoteEntry.js", Kind::Script),
    ] {
        let found = References::collect(&site, [(path, kind, bytes)]);
        for reference in &found.references {
            assert!(
                reference.key.split('/').all(|s| s != "." && s != ".."),
                "{:?}",
                reference.key
            );
        }
    }
});
