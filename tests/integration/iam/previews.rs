//! The documented previews policy: it publishes and closes previews, nothing else.

use super::*;

/// docs/previews.md's policy for the previews role, for `bucket`.
fn previews_policy(bucket: &str) -> Value {
    policy_in(
        "docs/previews.md",
        "## Permission policy for previews (least privilege)\n",
        "my-stage-bucket",
        bucket,
    )
}

#[test]
fn the_documented_previews_policy_publishes_and_closes_previews_and_nothing_else() {
    // Staging's manifest, written before enforcement: the previews role may only read it.
    let manifest =
        br#"{"schema":"mfe-deploy/manifest@1","updated":"2026-12-01T00:00:00.000Z","modules":{}}"#;
    let seed = |s3: &Moto, bucket: &str| {
        let put = s3
            .client()
            .put_object()
            .bucket(bucket)
            .key("mfe-manifest.json")
            .body(manifest.to_vec().into())
            .send();
        block_on(put).unwrap();
    };
    let site = Site::start("iam-previews", previews_policy, seed);
    let ws = Workspace::example();
    ws.write(
        "mfe-deploy.yml",
        b"environments:\n  staging:\n    branches: [stage]\n    manual: [\"**\"]\n    previews:\n      pull-requests-into: [stage]\n      public-url: https://preview.shop.example.com\n",
    );
    let pr = |fixture: &'static str| {
        site.step(&ws, "checkout")
            .event("pull_request", "refs/pull/42/merge", fixture)
    };
    let opened = succeeded("a preview", &pr("pull_request_opened_into_stage.json"));
    assert_eq!(opened.out("version"), "pr-42-5e4e162");
    assert!(!site.keys("mfe-manifest.pr-42.json").is_empty());
    let listed = cli_succeeded(
        "mfe-deploy previews",
        &site.cli(&ws, &["previews", "--environment", "staging", "--json"]),
    );
    assert!(listed.contains("pr-42-5e4e162"), "{listed}");
    succeeded(
        "a preview's close",
        &pr("pull_request_closed_into_stage.json"),
    );
    assert!(site.keys("checkout/pr-42-").is_empty(), "the files went");
    assert!(
        site.keys("mfe-manifest.pr-42.json").is_empty(),
        "the overlay went"
    );
    let user = client(&site.s3.endpoint, &site.key, &site.secret);
    let read = user
        .get_object()
        .bucket(&site.bucket)
        .key("mfe-manifest.json")
        .send();
    let body = block_on(async { read.await.unwrap().body.collect().await.unwrap() });
    assert_eq!(body.to_vec(), manifest, "the manifest, byte for byte");

    assert_within_the_letter_of(&site, &previews_policy(&site.bucket));

    // The same role cannot deploy the environment itself.
    let deploy = site
        .step(&ws, "checkout")
        .input("mode", "versioned")
        .event("push", "refs/heads/stage", "push_stage.json")
        .run();
    assert_eq!(deploy.code(), 1, "{}", deploy.all_text());
    assert!(
        deploy.all_text().contains("AccessDenied"),
        "{}",
        deploy.all_text()
    );
}
