//! CloudFront against moto: minimal invalidation, outputs, waiting, bad distribution.

use crate::common::*;

fn edit(ws: &Workspace, rel: &str) {
    let path = ws.path().join(rel);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\n/* edited */\n");
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn second_deploy_invalidates_exactly_the_changed_fixed_addresses() {
    let (moto, bucket, ws) = setup("cf-minimal");
    let distribution = create_distribution(moto, &bucket, "");
    let first = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(first.code(), 0, "{}", first.all_text());
    assert_eq!(
        first.out("invalidation-id"),
        "",
        "a first deploy creates keys; nothing can be stale"
    );
    assert_eq!(first.out("invalidation-paths"), "[]");

    edit(&ws, "packages/main/dist/index.html");
    edit(&ws, "packages/main/dist/robots.txt");
    ws.write("packages/main/dist/new-chunk.0a1b2c3d4e5f6a7b.js", b"new");
    let second = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(second.code(), 0, "{}", second.all_text());
    let id = second.out("invalidation-id");
    assert!(!id.is_empty(), "{}", second.all_text());
    let paths: Vec<String> = serde_json::from_str(second.out("invalidation-paths")).unwrap();
    assert_eq!(paths, ["/main/", "/main/index.html", "/main/robots.txt"]);

    let created = invalidations(moto, &distribution);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].0, id);
    let mut sent = created[0].1.clone();
    sent.sort();
    assert_eq!(sent, paths);
    assert!(
        second
            .summary
            .contains(&format!("#### CloudFront invalidation `{id}`")),
        "{}",
        second.summary
    );
    assert!(
        second
            .summary
            .contains("| `/main/robots.txt` | robots.txt changed |"),
        "{}",
        second.summary
    );
}

#[test]
fn wait_true_terminates_when_cloudfront_reports_completion() {
    let (moto, bucket, ws) = setup("cf-wait");
    let distribution = create_distribution(moto, &bucket, "");
    assert_eq!(
        ActionStep::push(&ws, moto, "checkout", &bucket)
            .run()
            .code(),
        0
    );
    edit(&ws, "packages/checkout/dist/remoteEntry.js");
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("distribution-id", &distribution)
        .input("wait", "true")
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert_eq!(
        run.out("invalidation-paths"),
        r#"["/checkout/remoteEntry.js"]"#
    );
    assert!(
        run.stderr().to_ascii_lowercase().contains("(completed)"),
        "{}",
        run.stderr()
    );
}

#[test]
fn default_root_object_and_unusual_names_are_invalidated_correctly() {
    let (moto, bucket, ws) = setup("cf-root");
    let distribution = create_distribution(
        moto,
        &bucket,
        "config['DefaultRootObject'] = 'main/index.html'",
    );
    ws.write("packages/main/dist/my file (1).txt", b"one");
    ws.write("packages/main/dist/ünï.txt", b"one");
    assert_eq!(ActionStep::push(&ws, moto, "main", &bucket).run().code(), 0);
    edit(&ws, "packages/main/dist/index.html");
    edit(&ws, "packages/main/dist/my file (1).txt");
    edit(&ws, "packages/main/dist/ünï.txt");
    let run = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    let paths: Vec<String> = serde_json::from_str(run.out("invalidation-paths")).unwrap();
    assert_eq!(
        paths,
        [
            "/main/",
            "/main/index.html",
            "/main/my%20file%20(1).txt",
            "/main/%C3%BCn%C3%AF.txt",
            "/"
        ]
    );
}

#[test]
fn unknown_distribution_is_a_setup_error_before_anything_is_written() {
    let (moto, bucket, ws) = setup("cf-missing");
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("distribution-id", "E0000NOTREAL")
        .run();
    assert_eq!(run.code(), 2, "{}", run.all_text());
    assert!(
        run.all_text().contains("E0000NOTREAL"),
        "{}",
        run.all_text()
    );
    assert!(keys(moto, &bucket).is_empty());
}

#[test]
fn dry_run_shows_the_planned_invalidation_and_creates_none() {
    let (moto, bucket, ws) = setup("cf-dry");
    let distribution = create_distribution(moto, &bucket, "");
    assert_eq!(
        ActionStep::push(&ws, moto, "checkout", &bucket)
            .run()
            .code(),
        0
    );
    edit(&ws, "packages/checkout/dist/remoteEntry.js");
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("distribution-id", &distribution)
        .input("dry-run", "true")
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    assert!(
        run.stdout().contains("invalidate 1 path(s)"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout()
            .contains("/checkout/remoteEntry.js  (remoteEntry.js changed)"),
        "{}",
        run.stdout()
    );
    assert_eq!(run.out("invalidation-id"), "");
    assert!(invalidations(moto, &distribution).is_empty());
}
