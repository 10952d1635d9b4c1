//! Documents read back from the bucket: discovery manifests in every format, a
//! build's `mf-manifest.json`, deploy records, pointers and the state cache. Any bytes
//! parse or are refused, never a panic; a merged document holds the entry.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mfe_deploy::manifest::{self, Format, LiveEntry};
use mfe_deploy::record::{DeployRecord, Pointer};
use mfe_deploy::state::DeployState;

const MODULE: &str = "checkout";

fn entry() -> LiveEntry {
    LiveEntry {
        name: "checkout".to_owned(),
        entry: "https://my-app.com/checkout/3f2a9c1b0d4e/remoteEntry.js".to_owned(),
        mf_manifest: Some("https://my-app.com/checkout/3f2a9c1b0d4e/mf-manifest.json".to_owned()),
        version: "3f2a9c1b0d4e".to_owned(),
        integrity: manifest::integrity(b"remoteEntry"),
        deployed: "2026-12-02T01:08:11.123Z".to_owned(),
        commit: Some("5d1e2f3a4b5c".to_owned()),
        previous: None,
        canary: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let entry = entry();
    let now = "2026-12-02T01:08:11.123Z";
    for format in [
        Format::Native,
        Format::Flat,
        Format::ImportMap,
        Format::ModuleFederation,
    ] {
        if let Ok(merged) = manifest::merge(format, Some(data), MODULE, &entry, now) {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&merged).is_ok(),
                "{} merge wrote invalid JSON",
                format.as_str()
            );
            if format == Format::Native {
                assert_eq!(manifest::live(&merged, MODULE).as_ref(), Some(&entry));
            }
        }
    }
    let _ = manifest::live(data, MODULE);
    let _ = manifest::federation_name(data);
    if let Some(record) = DeployRecord::from_json(data) {
        let _ = record.to_json();
    }
    if let Some(pointer) = Pointer::from_json(data) {
        let _ = pointer.clone().merge(&pointer).to_json();
    }
    if let Some(state) = DeployState::from_json(data) {
        let _ = state.to_json();
    }
});
