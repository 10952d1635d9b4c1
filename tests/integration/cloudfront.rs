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
    deployed(&ws, moto, "checkout", &bucket);
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
    deployed(&ws, moto, "main", &bucket);
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
    deployed(&ws, moto, "checkout", &bucket);
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

const LONG_ERROR_CACHING: &str = "config['CustomErrorResponses'] = {'Quantity': 1, 'Items': [{'ErrorCode': 404, 'ResponsePagePath': '/main/index.html', 'ResponseCode': '200', 'ErrorCachingMinTTL': 300}]}";

#[test]
fn deploy_warns_about_a_long_error_caching_ttl_and_a_missing_error_page() {
    let (moto, bucket, ws) = setup("cf-audit");
    let distribution = create_distribution(moto, &bucket, LONG_ERROR_CACHING);
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    let stdout = run.stdout();
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::warning title=CloudFront audit::"))
        .collect();
    assert_eq!(warnings.len(), 3, "{}", run.stdout());
    assert!(
        warnings[0]
            .contains("answers 404 with 200 /main/index.html for every path, checkout/* included"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].contains("caches its answer to an origin 404 (200 /main/index.html) for 300 s"),
        "{}",
        warnings[1]
    );
    assert!(
        warnings[2].contains(&format!("s3://{bucket}/main/index.html"))
            && warnings[2].contains("does not exist"),
        "{}",
        warnings[2]
    );
    assert!(
        run.summary.contains("#### CloudFront audit"),
        "{}",
        run.summary
    );

    // The shell's own deploy writes the error page, so it is not reported missing;
    // once deployed it exists for every module: the fallback and its TTL remain.
    let shell = ActionStep::push(&ws, moto, "main", &bucket)
        .input("distribution-id", &distribution)
        .run();
    assert_eq!(shell.code(), 0, "{}", shell.all_text());
    let shell_warnings = shell
        .stdout()
        .lines()
        .filter(|l| l.starts_with("::warning title=CloudFront audit::"))
        .count();
    assert_eq!(shell_warnings, 2, "{}", shell.stdout());
    let again = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("distribution-id", &distribution)
        .run();
    let count = again
        .stdout()
        .lines()
        .filter(|l| l.starts_with("::warning title=CloudFront audit::"))
        .count();
    assert_eq!(count, 2, "{}", again.stdout());
}

#[test]
fn audit_subcommand_reports_findings_as_json_and_writes_nothing() {
    let (moto, bucket, ws) = setup("cf-audit-cli");
    let distribution = create_distribution(
        moto,
        &bucket,
        &format!(
            "{LONG_ERROR_CACHING}\nconfig['DefaultCacheBehavior']['ViewerProtocolPolicy'] = 'allow-all'"
        ),
    );
    let json = json_output(
        cli_command(&ws)
            .args([
                "audit",
                "--package",
                "packages/main",
                "--bucket",
                &bucket,
                "--distribution-id",
                &distribution,
            ])
            .args(["--endpoint-url", &moto.endpoint, "--json"]),
    );
    let codes: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "spa-fallback",
            "error-caching",
            "missing-object",
            "records-served",
            "plain-http"
        ]
    );
    assert!(
        json["findings"][1]["fix"]
            .as_str()
            .unwrap()
            .contains("ErrorCachingMinTTL")
    );
    assert!(keys(moto, &bucket).is_empty());
}
