//! `mfe-deploy.yml`: any text parses to a config or an error naming the file, and a
//! config that validates can be used (environments compile, bounds compute).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mfe_deploy::config::Config;
use mfe_deploy::environment::Environments;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("mfe-deploy.yml");
    let Ok(config) = Config::parse(&text, path) else {
        return;
    };
    if config.validate(path).is_err() {
        return;
    }
    // What the shell does with a valid config before any request.
    let _ = config.records_prefix();
    let _ = config.verify_timeout();
    let bounds = mfe_deploy::request::bounds(&config.requests);
    let _ = bounds.client_timeouts();
    let _ = bounds.for_body(u64::MAX);
    assert!(
        Environments::new(&config).is_ok(),
        "validated globs must compile"
    );
});
