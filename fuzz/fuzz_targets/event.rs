//! The event payload reader: any payload file (and any runner variables) gives a
//! trigger or an error, never a panic.
//!
//! Input: `GITHUB_EVENT_NAME` 0xFF `GITHUB_REF` 0xFF `GITHUB_HEAD_REF` 0xFF
//! `GITHUB_BASE_REF` 0xFF payload bytes. 0xFF never occurs in UTF-8, so the four
//! variables split cleanly; with fewer than five parts `GITHUB_EVENT_PATH` is unset.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mfe_deploy::config::Config;
use mfe_deploy::environment::{Environments, Trigger};

/// One payload file per fuzzing process, rewritten for each input.
fn payload_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("mfe-deploy-fuzz-event-{}.json", std::process::id()))
    })
}

fn environments() -> &'static Environments {
    static ENVIRONMENTS: OnceLock<Environments> = OnceLock::new();
    ENVIRONMENTS.get_or_init(|| {
        Environments::new(&Config::default()).expect("the default environments compile")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(5, |&b| b == 0xFF);
    let mut text = || {
        parts
            .next()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    };
    let (name, git_ref, head_ref, base_ref) = (text(), text(), text(), text());
    let payload = parts.next();
    let path = payload.map(|bytes| {
        std::fs::write(payload_path(), bytes).expect("the payload file can be written");
        payload_path().to_string_lossy().into_owned()
    });
    let get = |key: &str| match key {
        "GITHUB_EVENT_NAME" => name.clone(),
        "GITHUB_REF" => git_ref.clone(),
        "GITHUB_HEAD_REF" => head_ref.clone(),
        "GITHUB_BASE_REF" => base_ref.clone(),
        "GITHUB_EVENT_PATH" => path.clone(),
        _ => None,
    };
    let Ok(trigger) = Trigger::from_runner(&get) else {
        return;
    };
    // What the action does next with a trigger: describe it and resolve it.
    let _ = trigger.describe();
    let _ = environments().resolve(&trigger, None);
    for requested in environments().names() {
        let _ = environments().resolve(&trigger, Some(requested));
    }
});
