//! `packages`: every module of the example monorepo in one run, against moto: each
//! deploys on its own, they share one CloudFront invalidation, and one module's
//! failure leaves the others deployed.

use crate::common::*;

/// A push deploying every example module with `packages`.
pub(crate) fn all<'a>(ws: &'a Workspace, moto: &Moto, bucket: &str) -> ActionStep<'a> {
    ActionStep::push(ws, moto, "main", bucket)
        .input("package", "")
        .input("packages", "packages/*")
        .input("public-url", "https://www.example.com")
}

pub(crate) fn results(step: &StepResult) -> Vec<serde_json::Value> {
    serde_json::from_str(step.out("results"))
        .unwrap_or_else(|e| panic!("{e}: {}", step.out("results")))
}

/// The example monorepo's modules, in the order `packages/*` lists them.
const MODULES: [&str; 3] = [
    "packages/checkout",
    "packages/main",
    "packages/subscriptions",
];

/// The packages of `results`, in order.
fn packages_of(modules: &[serde_json::Value]) -> Vec<&str> {
    modules
        .iter()
        .map(|m| m["package"].as_str().unwrap())
        .collect()
}

/// A string field of `package`'s entry in `results`.
pub(crate) fn field(modules: &[serde_json::Value], package: &str, name: &str) -> String {
    modules
        .iter()
        .find(|m| m["package"] == package)
        .unwrap_or_else(|| panic!("{package} in {modules:?}"))[name]
        .as_str()
        .unwrap()
        .to_owned()
}

fn edit(ws: &Workspace, rel: &str) {
    let path = ws.path().join(rel);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\n/* edited */\n");
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn one_run_deploys_every_module_and_shares_one_invalidation() {
    let (moto, bucket, ws) = setup("packages-all");
    let distribution = create_distribution(moto, &bucket, "");
    let first = all(&ws, moto, &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let modules = results(&first);
    assert_eq!(packages_of(&modules), MODULES);
    assert!(
        modules.iter().all(|m| m["status"] == "deployed"),
        "{modules:?}"
    );
    let keys = keys(moto, &bucket);
    for prefix in ["checkout/", "main/", "subscriptions/"] {
        assert!(
            keys.iter().any(|k| k.starts_with(prefix)),
            "{prefix}: {keys:?}"
        );
        // Each module has its own record.
        let records = format!(
            "_mfe-deploy/modules/{}/records/",
            prefix.trim_end_matches('/')
        );
        assert!(
            keys.iter().any(|k| k.starts_with(&records)),
            "{records}: {keys:?}"
        );
    }
    let uploaded: u64 = first.out("uploaded").parse().unwrap();
    let summed: u64 = modules
        .iter()
        .map(|m| m["uploaded"].as_u64().unwrap())
        .sum();
    assert_eq!(uploaded, summed);
    assert!(
        first
            .summary
            .contains("### mfe-deploy · 3 modules → production"),
        "{}",
        first.summary
    );
    assert!(
        invalidations(moto, &distribution).is_empty(),
        "a first deploy invalidates nothing"
    );

    // Two modules change their entries: one invalidation carries both.
    edit(&ws, "packages/checkout/dist/remoteEntry.js");
    edit(&ws, "packages/subscriptions/dist/remoteEntry.js");
    let before = moto.requests(&bucket).len();
    let second = all(&ws, moto, &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    // Per module one LIST page (each has fewer than 1,000 objects); for the run one
    // listing of incomplete uploads. No module lists its records: each state names
    // the record its pointer names.
    let requests: Vec<_> = moto.requests(&bucket).into_iter().skip(before).collect();
    let lists: Vec<&str> = requests
        .iter()
        .filter(|r| r.is_list())
        .map(|r| r.query.as_str())
        .collect();
    assert_eq!(lists.len(), 3, "{lists:?}");
    assert!(lists.iter().all(|q| !q.contains("records")), "{lists:?}");
    let uploads: Vec<&str> = requests
        .iter()
        .filter(|r| r.query.starts_with("uploads"))
        .map(|r| r.query.as_str())
        .collect();
    assert_eq!(uploads.len(), 1, "one for the run: {uploads:?}");
    let created = invalidations(moto, &distribution);
    assert_eq!(created.len(), 1, "{created:?}");
    let mut sent = created[0].1.clone();
    sent.sort();
    assert_eq!(
        sent,
        ["/checkout/remoteEntry.js", "/subscriptions/remoteEntry.js"]
    );
    assert_eq!(second.out("invalidation-id"), created[0].0);
    let modules = results(&second);
    let status = |package: &str| {
        (
            field(&modules, package, "status"),
            field(&modules, package, "invalidation-id"),
        )
    };
    assert_eq!(
        status("packages/checkout"),
        ("deployed".to_owned(), created[0].0.clone())
    );
    assert_eq!(
        status("packages/subscriptions"),
        ("deployed".to_owned(), created[0].0.clone())
    );
    assert_eq!(
        status("packages/main"),
        ("unchanged".to_owned(), String::new())
    );
}

#[test]
fn one_failing_module_leaves_the_others_deployed_and_exits_1() {
    let (moto, bucket, ws) = setup("packages-one-fails");
    // checkout's manifest names a chunk its build lacks: refused before it writes.
    std::fs::remove_file(ws.dist("checkout").join("items.2738bcefd8210fa92271.js")).unwrap();
    let step = all(&ws, moto, &bucket).run();
    assert_eq!(step.code(), 1, "{}", step.all_text());
    let modules = results(&step);
    let status = |package: &str| field(&modules, package, "status");
    assert_eq!(status("packages/checkout"), "failed");
    assert_eq!(status("packages/main"), "deployed");
    assert_eq!(status("packages/subscriptions"), "deployed");
    let keys = keys(moto, &bucket);
    assert!(!keys.iter().any(|k| k.starts_with("checkout/")), "{keys:?}");
    assert!(
        keys.iter().any(|k| k == "subscriptions/remoteEntry.js"),
        "{keys:?}"
    );
    let text = step.all_text();
    assert!(
        text.contains("1 of 3 module(s) failed: packages/checkout"),
        "{text}"
    );
    assert!(
        step.summary.contains("items.2738bcefd8210fa92271.js"),
        "{}",
        step.summary
    );
}

#[test]
fn a_module_failing_mid_upload_leaves_the_others_deployed_and_invalidated() {
    let (moto, bucket, ws) = setup("packages-fails-mid-upload");
    ws.write(
        "mfe-deploy.yml",
        b"requests:\n  attempt-timeout: 5\n  max-attempts: 2\n",
    );
    let distribution = create_distribution(moto, &bucket, "");
    let first = all(&ws, moto, &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    edit(&ws, "packages/checkout/dist/remoteEntry.js");
    edit(&ws, "packages/subscriptions/dist/remoteEntry.js");
    // S3 fails every write of checkout's entry; the other modules' requests pass.
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.always_500("PUT", format!("/{bucket}/checkout/remoteEntry.js"));
    let step = all(&ws, moto, &bucket)
        .input("distribution-id", &distribution)
        .input("endpoint-url", &proxy.endpoint)
        .run();
    assert_eq!(step.code(), 1, "{}", step.all_text());
    assert!(!proxy.faulted().is_empty(), "the fault was injected");
    let modules = results(&step);
    let status = |package: &str| field(&modules, package, "status");
    assert_eq!(status("packages/checkout"), "failed");
    assert_eq!(status("packages/subscriptions"), "deployed");
    assert_eq!(status("packages/main"), "unchanged");
    // The failed module's old entry is still what S3 serves; the other's new one is live.
    let served = |key: &str| get(moto, &bucket, key);
    assert!(!served("checkout/remoteEntry.js").ends_with(b"/* edited */\n"));
    assert!(served("subscriptions/remoteEntry.js").ends_with(b"/* edited */\n"));
    // The module that deployed is invalidated; the one that failed is not.
    let created = invalidations(moto, &distribution);
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].1, ["/subscriptions/remoteEntry.js"]);
    assert_eq!(step.out("invalidation-id"), created[0].0);
}

#[test]
fn a_skipped_event_reports_every_module_as_skipped_and_writes_nothing() {
    let (moto, bucket, ws) = setup("packages-skipped");
    let step = all(&ws, moto, &bucket)
        .event("push", "refs/tags/v1.0.0", "push_tag.json")
        .run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    assert_eq!(step.out("skipped"), "true");
    let modules = results(&step);
    assert_eq!(packages_of(&modules), MODULES);
    assert!(
        modules
            .iter()
            .all(|m| m["status"] == "skipped" && !m["reason"].as_str().unwrap().is_empty()),
        "{modules:?}"
    );
    assert!(keys(moto, &bucket).is_empty());
}

#[test]
fn packages_with_package_or_a_glob_matching_nothing_is_bad_input() {
    let (moto, bucket, ws) = setup("packages-bad");
    let both = all(&ws, moto, &bucket)
        .input("package", "packages/main")
        .run();
    assert_eq!(both.code(), 2, "{}", both.all_text());
    let none = all(&ws, moto, &bucket).input("packages", "apps/*").run();
    assert_eq!(none.code(), 2, "{}", none.all_text());
    assert!(none.all_text().contains("apps/*"), "{}", none.all_text());
    assert!(keys(moto, &bucket).is_empty());
}

#[test]
fn an_environment_prefix_with_packages_is_bad_input_and_nothing_is_written() {
    let (moto, bucket, ws) = setup("packages-env-prefix");
    // One module's prefix for all of them: they would deploy over each other.
    ws.write(
        "mfe-deploy.yml",
        b"environments:\n  production:\n    branches: [master]\n    prefix: shop\n",
    );
    let step = all(&ws, moto, &bucket).run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        text.contains("mfe-deploy.yml: `environments.production.prefix`"),
        "{text}"
    );
    assert!(keys(moto, &bucket).is_empty());
    let modules = results(&step);
    assert_eq!(modules.len(), 3, "one entry per module: {modules:?}");
    assert!(
        modules.iter().all(|m| m["status"] == "failed"),
        "{modules:?}"
    );
    // The same config deploying one module keeps its prefix.
    let one = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_eq!(one.code(), 0, "{}", one.all_text());
    assert!(
        keys(moto, &bucket)
            .iter()
            .any(|k| k == "shop/remoteEntry.js")
    );
}

#[test]
fn two_modules_with_one_folder_name_are_bad_input_and_nothing_is_written() {
    let (moto, bucket, ws) = setup("packages-same-name");
    // Both would deploy to `checkout/`, over each other.
    ws.write("legacy/checkout/dist/remoteEntry.js", b"/* legacy */\n");
    let step = all(&ws, moto, &bucket)
        .input("packages", "packages/* legacy/*")
        .run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        text.contains("packages/checkout legacy/checkout")
            && text.contains("the prefix `checkout/`"),
        "{text}"
    );
    assert!(keys(moto, &bucket).is_empty());
    // Refused as the `packages` input, like a glob that matches nothing.
    let modules = results(&step);
    assert_eq!(packages_of(&modules), ["packages"], "{modules:?}");
    assert_eq!(modules[0]["status"], "failed");
}

#[test]
fn the_cli_deploys_every_module_with_packages_too() {
    let (moto, bucket, ws) = setup("packages-cli");
    let output = cli_command(&ws)
        .args([
            "deploy",
            "--packages",
            "packages/*",
            "--bucket",
            &bucket,
            "--endpoint-url",
            &moto.endpoint,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for package in MODULES {
        assert!(
            stdout.contains(&format!("{package} → ")),
            "{package}: {stdout}"
        );
    }
    assert!(keys(moto, &bucket).iter().any(|k| k == "main/index.html"));
}

#[test]
fn the_cli_plans_with_packages_in_its_own_words_and_one_module_commands_refuse_them() {
    let (moto, bucket, ws) = setup("packages-cli-plan");
    let run = |command: &str| {
        cli_command(&ws)
            .args([command, "--packages", "packages/*", "--bucket", &bucket])
            .args(["--endpoint-url", &moto.endpoint])
            .output()
            .unwrap()
    };
    let plan = run("plan");
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert!(plan.status.success(), "{stdout}");
    assert!(
        stdout.contains("packages/checkout → development: would upload 14 file(s)"),
        "{stdout}"
    );
    assert!(!stdout.contains(" uploaded "), "{stdout}");
    for command in ["history", "prune", "audit"] {
        let output = run(command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("`{command}` works on one module at a time")),
            "{command}: {stderr}"
        );
    }
    assert!(keys(moto, &bucket).is_empty());
}

#[test]
fn a_versioned_run_moves_every_module_in_the_one_manifest_and_invalidates_it_once() {
    let (moto, bucket, ws) = setup("packages-versioned");
    let distribution = create_distribution(moto, &bucket, "");
    let run = || {
        all(&ws, moto, &bucket)
            .input("mode", "versioned")
            .input("distribution-id", &distribution)
            .run()
    };
    let live = || -> serde_json::Value {
        serde_json::from_slice(&get(moto, &bucket, "mfe-manifest.json")).unwrap()
    };
    let first = run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    let manifest = live();
    for (package, name) in MODULES.iter().zip(["checkout", "main", "subscriptions"]) {
        assert_eq!(
            manifest["modules"][name]["version"].as_str().unwrap(),
            field(&results(&first), package, "version"),
            "{manifest}"
        );
    }

    // Two modules move at once: the manifest takes both moves, and one invalidation
    // carries it once.
    let before = invalidations(moto, &distribution).len();
    edit(&ws, "packages/checkout/dist/remoteEntry.js");
    edit(&ws, "packages/subscriptions/dist/remoteEntry.js");
    let second = run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    let modules = results(&second);
    let manifest = live();
    for (package, name) in [
        ("packages/checkout", "checkout"),
        ("packages/subscriptions", "subscriptions"),
    ] {
        let version = field(&modules, package, "version");
        assert_ne!(version, field(&results(&first), package, "version"));
        assert_eq!(
            manifest["modules"][name]["version"].as_str().unwrap(),
            version,
            "{manifest}"
        );
    }
    assert_eq!(
        manifest["modules"]["main"]["version"].as_str().unwrap(),
        field(&results(&first), "packages/main", "version")
    );
    let created = invalidations(moto, &distribution);
    assert_eq!(created.len(), before + 1, "{created:?}");
    assert_eq!(created[before].1, ["/mfe-manifest.json"], "{created:?}");
}

#[test]
fn thirty_versioned_modules_move_the_one_manifest_in_one_write() {
    let (moto, bucket, ws) = setup("packages-30-versioned");
    for i in 0..27 {
        ws.write(
            &format!("packages/m{i:02}/dist/remoteEntry.js"),
            format!("// remote m{i:02}\n").as_bytes(),
        );
        ws.write(
            &format!("packages/m{i:02}/dist/chunk.{i:016x}.js"),
            format!("console.log({i})\n").as_bytes(),
        );
    }
    let step = all(&ws, moto, &bucket).input("mode", "versioned").run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let modules = results(&step);
    assert_eq!(modules.len(), 30);
    let requests = moto.requests(&bucket);
    let manifest: serde_json::Value =
        serde_json::from_slice(&get(moto, &bucket, "mfe-manifest.json")).unwrap();
    assert_eq!(
        manifest["modules"].as_object().unwrap().len(),
        30,
        "no module's move is lost"
    );
    let on_manifest = |method: &str| {
        requests
            .iter()
            .filter(|r| r.method == method && r.key == "mfe-manifest.json")
            .count()
    };
    let (puts, gets) = (on_manifest("PUT"), on_manifest("GET"));
    // Each module reads the manifest once before it plans; the run writes it once (one
    // GET and one PUT), and never after a collision with itself.
    assert_eq!(puts, 1, "{puts} manifest writes for 30 modules");
    assert_eq!(
        gets,
        30 + puts,
        "{gets} GETs, {puts} PUTs: no write was retried"
    );
    eprintln!("30 modules: {puts} manifest PUT(s), {gets} GET(s)");
}
