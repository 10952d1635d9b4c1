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

/// What the live `mf-manifest.json` names under `checkout/` that is not in the bucket.
fn missing_references(moto: &Moto, bucket: &str) -> Vec<String> {
    let keys = keys(moto, bucket);
    if !keys.contains(&"checkout/mf-manifest.json".to_owned()) {
        return Vec::new();
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&get(moto, bucket, "checkout/mf-manifest.json")).unwrap();
    let mut named = vec![
        manifest["metaData"]["remoteEntry"]["name"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    for expose in manifest["exposes"].as_array().unwrap() {
        for kind in ["js", "css"] {
            for when in ["sync", "async"] {
                for file in expose["assets"][kind][when].as_array().unwrap() {
                    named.push(file.as_str().unwrap().to_owned());
                }
            }
        }
    }
    named
        .into_iter()
        .map(|f| format!("checkout/{f}"))
        .filter(|k| !keys.contains(k))
        .collect()
}

/// The second build of `checkout`: a new async chunk the manifest names, a new
/// entry, and a file large enough to go up in parts.
fn second_build(ws: &Workspace) {
    let dist = ws.dist("checkout");
    let path = dist.join("mf-manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["exposes"][0]["assets"]["js"]["async"]
        .as_array_mut()
        .unwrap()
        .push("extra.0123456789abcdef0123.js".into());
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    std::fs::write(
        dist.join("extra.0123456789abcdef0123.js"),
        b"console.log('extra')",
    )
    .unwrap();
    let entry = dist.join("remoteEntry.js");
    let mut bytes = std::fs::read(&entry).unwrap();
    bytes.extend_from_slice(b"\n// v2\n");
    std::fs::write(entry, bytes).unwrap();
    std::fs::write(
        dist.join("model.0123456789abcdef.bin"),
        vec![9u8; 17 * 1024 * 1024],
    )
    .unwrap();
}

fn incomplete_uploads(moto: &Moto, bucket: &str) -> usize {
    let client = moto.client();
    block_on(client.list_multipart_uploads().bucket(bucket).send())
        .unwrap()
        .uploads()
        .len()
}

#[test]
fn a_run_killed_at_any_point_leaves_no_broken_entry_and_the_rerun_converges() {
    let moto = shared();
    let clean = bucket(moto, "kill-clean");
    let ws = Workspace::example();
    ws.write("mfe-deploy.yml", BOUNDS.as_bytes());
    deployed(&ws, moto, "checkout", &clean);
    let first = Workspace::example();
    first.write("mfe-deploy.yml", BOUNDS.as_bytes());
    second_build(&ws);
    deployed(&ws, moto, "checkout", &clean);
    let expected = state(moto, &clean);

    let mut killed = 0;
    let mut state_seed: u64 = 0x5eed;
    for round in 0..8 {
        let target = bucket(moto, &format!("kill-{round}"));
        deployed(&first, moto, "checkout", &target);
        // Every write a little slower, so kills land inside the phases.
        let proxy = FaultProxy::start(&moto.endpoint);
        proxy.add(Rule {
            method: "PUT",
            target_prefix: "/".to_owned(),
            fault: Fault::Delay(std::time::Duration::from_millis(40)),
            times: None,
        });
        state_seed ^= state_seed << 13;
        state_seed ^= state_seed >> 7;
        state_seed ^= state_seed << 17;
        // Killed once the proxy has seen this many writes (the deploy makes about 9:
        // three files, three parts of the large one, the state, record and pointer).
        let after = usize::try_from(state_seed % 8).unwrap();
        let step =
            ActionStep::push(&ws, moto, "checkout", &target).input("endpoint-url", &proxy.endpoint);
        // A reader checks the live manifest throughout the run, as a browser would.
        let done = std::sync::atomic::AtomicBool::new(false);
        let (was_killed, broken) = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut broken = Vec::new();
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    broken.extend(missing_references(moto, &target));
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                broken
            });
            let was_killed = step.run_killed_when(|| {
                proxy
                    .seen()
                    .iter()
                    .filter(|r| r.starts_with("PUT "))
                    .count()
                    > after
            });
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            (was_killed, reader.join().unwrap())
        });
        assert!(
            broken.is_empty(),
            "round {round}: a reader saw missing files: {broken:?}"
        );
        if was_killed {
            killed += 1;
        }
        drop(proxy);
        assert!(
            missing_references(moto, &target).is_empty(),
            "round {round}, killed after {after} writes: the live mf-manifest.json names missing files: {:?}",
            missing_references(moto, &target)
        );
        // The re-run converges, and leaves no upload in progress.
        deployed(&ws, moto, "checkout", &target);
        assert_eq!(state(moto, &target), expected, "round {round}");
        assert_eq!(incomplete_uploads(moto, &target), 0, "round {round}");
    }
    eprintln!("{killed} of 8 runs killed mid-deploy; no broken entry, every re-run converged");
    assert!(killed >= 4, "most runs were killed mid-deploy: {killed}");
}

#[test]
fn a_persistent_fault_in_each_phase_publishes_nothing_after_it_and_a_rerun_converges() {
    let moto = shared();
    let ws = Workspace::example();
    ws.write(
        "mfe-deploy.yml",
        b"requests:\n  attempt-timeout: 5\n  max-attempts: 2\n",
    );
    let clean = bucket(moto, "phase-clean");
    deployed(&ws, moto, "main", &clean);
    let expected = state(moto, &clean);
    // (the failing key, what must not be there after the failure)
    let cases: [(&str, &[&str]); 3] = [
        (
            "main/main.9bd77ed5d268c9c228c0.js",
            &["main/mf-manifest.json", "main/index.html"],
        ),
        ("main/mf-manifest.json", &["main/index.html"]),
        // The last phase: nothing after it but the record, which is not written.
        ("main/index.html", &["main/index.html"]),
    ];
    for (failing, absent) in cases {
        let target = bucket(moto, "phase");
        let proxy = FaultProxy::start(&moto.endpoint);
        proxy.always_500("PUT", format!("/{target}/{failing}?"));
        let step = ActionStep::push(&ws, moto, "main", &target)
            .input("endpoint-url", &proxy.endpoint)
            .run();
        assert_eq!(step.code(), 1, "{failing}: {}", step.all_text());
        let keys = keys(moto, &target);
        for key in absent {
            assert!(
                !keys.contains(&(*key).to_owned()),
                "{failing} failed, yet {key} went live"
            );
        }
        deployed(&ws, moto, "main", &target);
        assert_eq!(
            state(moto, &target),
            expected,
            "{failing}: the re-run converges"
        );
    }
}

#[test]
fn a_persistent_fault_on_the_manifest_switch_leaves_the_previous_version_live() {
    let (moto, bucket, ws) = setup("switch-fault");
    ws.write(
        "mfe-deploy.yml",
        b"requests:\n  attempt-timeout: 5\n  max-attempts: 2\n",
    );
    let versioned = |ws: &Workspace, endpoint: &str| {
        ActionStep::push(ws, moto, "checkout", &bucket)
            .input("mode", "versioned")
            .input("endpoint-url", endpoint)
            .run()
    };
    let first = versioned(&ws, &moto.endpoint);
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let live = get(moto, &bucket, "mfe-manifest.json");

    ws.write("packages/checkout/dist/remoteEntry.js", b"// v2");
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.always_500("PUT", format!("/{bucket}/mfe-manifest.json?"));
    let failed = versioned(&ws, &proxy.endpoint);
    assert_eq!(failed.code(), 1, "{}", failed.all_text());
    assert_eq!(
        get(moto, &bucket, "mfe-manifest.json"),
        live,
        "the previous version stays live"
    );

    let rerun = versioned(&ws, &moto.endpoint);
    assert_eq!(rerun.code(), 0, "{}", rerun.all_text());
    assert_eq!(
        rerun.out("uploaded"),
        "0",
        "the version was already uploaded"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&get(moto, &bucket, "mfe-manifest.json")).unwrap();
    assert_eq!(
        manifest["modules"]["checkout"]["version"],
        failed.out("version")
    );
}
