//! Transient faults between the binary and S3 (dropped connections, 503 SlowDown,
//! 500, delays, answers cut short), injected by a seeded proxy: a deploy through them
//! ends exactly as a clean one does.

use crate::common::*;

const BOUNDS: &str = "requests:\n  connect-timeout: 2\n  attempt-timeout: 5\n  max-attempts: 8\n";

/// Every build key with its headers and ETag (the bytes' MD5).
fn state(moto: &Moto, bucket: &str) -> Vec<(String, (String, String, String))> {
    keys(moto, bucket)
        .into_iter()
        .filter(|k| !k.starts_with("_mfe-deploy/"))
        .map(|k| {
            let head = head(moto, bucket, &k);
            (k, head)
        })
        .collect()
}

#[test]
fn ten_percent_transient_faults_end_in_the_same_state_as_a_clean_deploy() {
    let (moto, clean, ws) = setup("clean");
    ws.write("mfe-deploy.yml", BOUNDS.as_bytes());
    for module in ["main", "checkout"] {
        deployed(&ws, moto, module, &clean);
    }
    let expected = state(moto, &clean);
    let mut injected = 0;
    for seed in [7, 42, 1_234] {
        let target = bucket(moto, &format!("faults-{seed}"));
        let proxy = FaultProxy::start(&moto.endpoint);
        proxy.chaos(seed, 100);
        for module in ["main", "checkout"] {
            let step = ActionStep::push(&ws, moto, module, &target)
                .input("endpoint-url", &proxy.endpoint)
                .deadline(std::time::Duration::from_secs(240))
                .run();
            assert_eq!(step.code(), 0, "seed {seed}, {module}: {}", step.all_text());
        }
        injected += proxy.faulted().len();
        let got = state(moto, &target);
        assert_eq!(
            got, expected,
            "seed {seed}: the end state differs from a clean deploy"
        );
    }
    eprintln!("{injected} faults injected over 6 deploys, end states identical");
    assert!(injected >= 3, "faults were injected: {injected}");
}
