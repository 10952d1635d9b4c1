//! Path → key mapping: any prefix, package, version, manifest key, build path or
//! listed key maps to a key or an error, never a panic, and what maps stays where it
//! belongs.
//!
//! Input, split on 0xFF (never in UTF-8): `records-prefix`, `prefix`, `package`,
//! `version`, `manifest`, a path in the build, a listed key. Missing parts are unset
//! inputs.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mfe_deploy::clock::Utc;
use mfe_deploy::config::Config;
use mfe_deploy::environment::Environments;
use mfe_deploy::layout::{DEFAULT_RECORDS_PREFIX, Layout, normalize_records_prefix};
use mfe_deploy::request::RawInputs;

fn environments() -> &'static Environments {
    static ENVIRONMENTS: OnceLock<Environments> = OnceLock::new();
    ENVIRONMENTS.get_or_init(|| {
        Environments::new(&Config::default()).expect("the default environments compile")
    })
}

/// Every call a build path or a listed key goes through.
fn map(layout: &Layout, rel: &str, key: &str) {
    if let Ok(file_key) = layout.file_key(rel) {
        assert!(file_key.starts_with(layout.prefix()), "{file_key:?}");
        assert!(!layout.is_reserved(&file_key), "{file_key:?}");
    }
    let _ = layout.record_version(key);
    let _ = layout.record_time(key);
    // A listed key rarely starts with the records folder by chance: try it there too.
    let listed = format!("{}{key}", layout.records_dir());
    let _ = layout.record_version(&listed);
    let _ = layout.record_time(&listed);
    let _ = layout.version_prefix(key);
    let _ = layout.history_key(rel, key, key);
    let _ = layout.module();
    let _ = layout.pointer_key();
    let _ = layout.state_key();
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xFF);
    let mut text = || {
        parts
            .next()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    };
    let (records_prefix, prefix, package, version, manifest, rel, key) =
        (text(), text(), text(), text(), text(), text(), text());
    let (rel, key) = (rel.unwrap_or_default(), key.unwrap_or_default());

    // The raw constructor is public: it must refuse, not panic, whatever it gets.
    if let Ok(layout) = Layout::new(
        records_prefix.as_deref().unwrap_or_default(),
        prefix.as_deref().unwrap_or_default(),
    ) {
        map(&layout, &rel, &key);
    }

    // The real path: inputs normalised, then the layout of the resolved prefix.
    let records_prefix = records_prefix.as_deref().map_or(
        Some(DEFAULT_RECORDS_PREFIX.to_owned()),
        normalize_records_prefix,
    );
    let inputs = RawInputs {
        package: package.or_else(|| Some("packages/checkout".to_owned())),
        bucket: Some("my-bucket".to_owned()),
        prefix,
        version: version.clone(),
        manifest,
        mode: Some("versioned".to_owned()),
        ..RawInputs::default()
    };
    let Ok(request) = inputs.resolve(environments(), "production") else {
        return;
    };
    assert!(
        request.prefix.is_empty() || request.prefix.ends_with('/'),
        "{:?}",
        request.prefix
    );
    let Some(records_prefix) = records_prefix else {
        return;
    };
    let Ok(layout) = Layout::new(&records_prefix, &request.prefix) else {
        return;
    };
    map(&layout, &rel, &key);

    // A record key names its time and version back, for any time a clock gives.
    let version = request.version.unwrap_or_else(|| "3f2a9c1b0d4e".to_owned());
    let millis = i64::from_le_bytes(
        data.iter()
            .rev()
            .copied()
            .chain([0; 8])
            .take(8)
            .collect::<Vec<u8>>()
            .try_into()
            .expect("eight bytes"),
    )
    .rem_euclid(253_402_300_800_000); // up to 9999-12-31
    let time = Utc::from_millis(millis);
    let record = layout.record_key(&time.compact(), &version, "a1b2c3d4");
    assert_eq!(layout.record_time(&record), Some(time), "{record}");
    assert_eq!(
        layout.record_version(&record),
        Some(version.as_str()),
        "{record}"
    );
});
