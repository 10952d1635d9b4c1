//! The documented policy is enough for every run, and one without a statement is
//! caught.

use super::*;

#[test]
fn the_documented_policy_is_enough_for_every_run() {
    let site = Site::start("iam-docs", documented_policy, legacy_state);
    let ws = Workspace::example();

    // In place, with retention: the second deploy deletes the chunk the first left.
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 1\n");
    ws.write(EXTRA_CHUNK, b"console.log('extra')");
    succeeded("an in-place deploy", &site.step(&ws, "checkout"));
    assert!(
        !site.keys("checkout/").contains(&LEGACY_STATE.to_owned()),
        "moved"
    );
    std::fs::remove_file(ws.path().join(EXTRA_CHUNK)).unwrap();
    let second = succeeded(
        "an in-place deploy with retention",
        &site.step(&ws, "checkout"),
    );
    assert_eq!(second.out("deleted"), "1", "{}", second.all_text());

    // Versioned twice, then back: `keep-days` keeps v1 for the rollback and makes
    // retention read the manifest's history.
    ws.write(
        "mfe-deploy.yml",
        b"retention:\n  keep-versions: 1\n  keep-days: 30\n",
    );
    let versioned = |what: &str| {
        succeeded(
            what,
            &site.step(&ws, "subscriptions").input("mode", "versioned"),
        )
    };
    let v1 = versioned("a versioned deploy");
    ws.write("packages/subscriptions/dist/remoteEntry.js", b"// v2 entry");
    let v2 = versioned("a second versioned deploy");
    assert_ne!(v1.out("version"), v2.out("version"));
    let rollback = succeeded(
        "a rollback",
        &site
            .step(&ws, "subscriptions")
            .event(
                "workflow_dispatch",
                "refs/heads/master",
                "workflow_dispatch_master.json",
            )
            .input("mode", "versioned")
            .input("rollback-to", "previous"),
    );
    assert_eq!(rollback.out("version"), v1.out("version"));

    // Without the day window, `prune` deletes v2, which is no longer live.
    ws.write("mfe-deploy.yml", b"retention:\n  keep-versions: 1\n");
    let pruned = cli_succeeded(
        "mfe-deploy prune",
        &site.cli(&ws, &["prune", "--package", "packages/subscriptions"]),
    );
    assert!(!pruned.contains("deleted 0 object(s)"), "{pruned}");
    let v2_prefix = format!("subscriptions/{}/", v2.out("version"));
    assert!(site.keys(&v2_prefix).is_empty(), "v2 was pruned");

    let history = cli_succeeded(
        "mfe-deploy history",
        &site.cli(&ws, &["history", "--module", "subscriptions", "--json"]),
    );
    let rows: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(3), "{history}");
    cli_succeeded(
        "mfe-deploy history of an in-place module",
        &site.cli(&ws, &["history", "--module", "checkout"]),
    );

    assert!(
        site.keys("_mfe-deploy/in-flight/").is_empty(),
        "every run removed its in-flight intent"
    );
    assert_within_the_letter_of(&site, &documented_policy(&site.bucket));
}

#[test]
fn without_retention_the_retention_statement_can_go() {
    let policy = |bucket: &str| without(&documented_policy(bucket), "Retention");
    let site = Site::start("iam-no-retention", policy, legacy_state);
    let ws = Workspace::example();
    succeeded("an in-place deploy", &site.step(&ws, "checkout"));
    assert!(
        !site.keys("checkout/").contains(&LEGACY_STATE.to_owned()),
        "moved"
    );
    assert_within_the_letter_of(&site, &policy(&site.bucket));
}

#[test]
fn a_policy_without_one_of_its_statements_is_caught() {
    // Without the intents' statement, a deploy goes on unprotected and says so.
    let site = Site::start(
        "iam-no-in-flight",
        |bucket| without(&documented_policy(bucket), "InFlight"),
        |_, _| {},
    );
    let ws = Workspace::example();
    let step = site.step(&ws, "checkout").run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    let text = step.all_text();
    assert!(
        denials(&text)
            .iter()
            .any(|line| line.contains("could not write the in-flight intent")),
        "the warning `assert_no_denial` finds: {text}"
    );

    // Without the manifest's statement, a versioned deploy cannot publish.
    let site = Site::start(
        "iam-no-manifest",
        |bucket| without(&documented_policy(bucket), "Manifest"),
        |_, _| {},
    );
    let step = site
        .step(&ws, "subscriptions")
        .input("mode", "versioned")
        .run();
    assert_eq!(step.code(), 2, "{}", step.all_text());
    assert!(
        step.all_text().contains(&format!(
            "access denied: GetObject on s3://{}/mfe-manifest.json",
            site.bucket
        )),
        "{}",
        step.all_text()
    );
}
