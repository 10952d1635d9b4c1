use super::*;
use crate::cdn::{BehaviorInfo, ErrorResponseInfo, OriginInfo};

fn healthy() -> DistributionInfo {
    DistributionInfo {
        id: "E1".to_owned(),
        default_root_object: Some("main/index.html".to_owned()),
        origins: vec![OriginInfo {
            id: "s3".to_owned(),
            domain: "site.s3.us-east-1.amazonaws.com".to_owned(),
            origin_path: String::new(),
            s3: true,
            access_restricted: true,
        }],
        default_behavior: BehaviorInfo {
            target_origin_id: "s3".to_owned(),
            viewer_protocol_policy: "redirect-to-https".to_owned(),
            min_ttl: None,
            compress: true,
            cache_policy_id: Some("658327ea-f89d-4fab-a63d-7e88639e58f6".to_owned()),
            forwards_query_or_cookies: false,
        },
        error_responses: vec![ErrorResponseInfo {
            error_code: 404,
            response_code: Some("404".to_owned()),
            page_path: Some("/main/index.html".to_owned()),
            caching_min_ttl: Some(5),
        }],
        http_version: Some("http2and3".to_owned()),
        path_behaviors: vec![("/_mfe-deploy/*".to_owned(), "deny".to_owned())],
    }
}

fn codes(dist: &DistributionInfo, prefix: &str, existing: &[&str]) -> Vec<&'static str> {
    audit(dist, "site", prefix, "_mfe-deploy/", &|k| {
        Presence::from(existing.contains(&k))
    })
    .into_iter()
    .map(|f| f.code)
    .collect()
}

#[test]
fn a_well_configured_distribution_has_no_findings() {
    assert!(codes(&healthy(), "main/", &["main/index.html"]).is_empty());
    assert_eq!(referenced_keys(&healthy(), "site"), ["main/index.html"]);
}

#[test]
fn long_error_caching_of_an_spa_fallback_is_flagged_with_the_fix() {
    let mut d = healthy();
    d.error_responses[0].caching_min_ttl = Some(300);
    d.error_responses[0].response_code = Some("200".to_owned());
    let findings = audit(&d, "site", "main/", "_mfe-deploy/", &|_| Presence::Exists);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert_eq!(findings[0].code, "spa-fallback");
    assert!(
        findings[0].what.contains("main/* included"),
        "{:?}",
        findings[0]
    );
    let findings = &findings[1..];
    assert_eq!(findings[0].code, "error-caching");
    assert!(findings[0].what.contains("for 300 s"), "{:?}", findings[0]);
    assert!(
        findings[0].fix.contains("CloudFront Function"),
        "{:?}",
        findings[0]
    );
}

#[test]
fn an_spa_fallback_is_flagged_even_when_kept_briefly_and_an_error_cached_long_too() {
    let mut d = healthy();
    d.error_responses[0].response_code = Some("200".to_owned());
    assert_eq!(codes(&d, "main/", &["main/index.html"]), ["spa-fallback"]);
    let mut d = healthy();
    d.error_responses[0].caching_min_ttl = Some(3600);
    assert_eq!(codes(&d, "main/", &["main/index.html"]), ["error-caching"]);
}

#[test]
fn missing_default_root_object_and_error_page_are_flagged() {
    assert_eq!(codes(&healthy(), "main/", &[]), ["missing-object"]);
}

#[test]
fn origin_path_that_excludes_the_module_is_flagged() {
    let mut d = healthy();
    d.origins[0].origin_path = "/site-v2".to_owned();
    d.default_root_object = None;
    d.error_responses.clear();
    assert_eq!(codes(&d, "subscriptions/", &[]), ["origin-path"]);
    assert!(codes(&d, "site-v2/subscriptions/", &[]).is_empty());
}

#[test]
fn every_behavior_problem_is_named() {
    let mut d = healthy();
    d.default_behavior = BehaviorInfo {
        target_origin_id: "s3".to_owned(),
        viewer_protocol_policy: "allow-all".to_owned(),
        min_ttl: Some(60),
        compress: false,
        cache_policy_id: None,
        forwards_query_or_cookies: true,
    };
    d.origins[0].access_restricted = false;
    d.http_version = Some("http1.1".to_owned());
    assert_eq!(
        codes(&d, "main/", &["main/index.html"]),
        [
            "public-origin",
            "min-ttl",
            "compression-off",
            "plain-http",
            "cache-key",
            "http-version"
        ]
    );
}

#[test]
fn a_distribution_for_another_bucket_is_flagged() {
    let mut d = healthy();
    d.origins[0].domain = "other.s3.amazonaws.com".to_owned();
    assert!(codes(&d, "main/", &["main/index.html"]).contains(&"no-origin"));
}

#[test]
fn a_distribution_that_serves_the_records_says_so_and_how_to_stop_it() {
    let mut d = healthy();
    d.path_behaviors.clear();
    assert_eq!(codes(&d, "main/", &["main/index.html"]), ["records-served"]);
    d.path_behaviors = vec![("_mfe-deploy/*".to_owned(), "s3".to_owned())];
    assert_eq!(
        codes(&d, "main/", &["main/index.html"]),
        ["records-served"],
        "a behavior to the same bucket still serves them"
    );
    d.origins[0].origin_path = "/main".to_owned();
    d.default_root_object = None;
    d.error_responses.clear();
    assert!(
        codes(&d, "main/", &[]).is_empty(),
        "an origin path that excludes the records keeps them out"
    );
}

#[test]
fn a_key_the_credentials_cannot_read_is_a_finding_not_a_failure() {
    let findings = audit(&healthy(), "site", "main/", "_mfe-deploy/", &|_| {
        Presence::Unknown("access denied".to_owned())
    });
    let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["could-not-check"]);
    assert!(
        findings[0].what.contains("s3://site/main/index.html"),
        "{:?}",
        findings[0]
    );
}

#[tokio::test]
async fn a_denied_head_during_the_check_becomes_could_not_check() {
    use crate::store::memory::MemoryStore;
    let store = MemoryStore::new();
    store.fail_on("head", "main/index.html");
    let layout = Layout::new("_mfe-deploy/", "checkout/").unwrap();
    let findings = check(&store, &healthy(), "site", &layout, |_| false).await;
    let codes: Vec<_> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["could-not-check"]);
}
