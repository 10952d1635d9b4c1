use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::cdn::fake::FakeCdn;
use crate::cdn::{CdnError, OriginInfo};
use crate::classify::Classifier;
use crate::config::CachingConfig;
use crate::plan::build_plan;
use crate::scan::{Digest, LocalFile};
use crate::store::RemoteObject;

fn file(path: &str, body: &str) -> LocalFile {
    LocalFile {
        rel_path: path.to_owned(),
        abs_path: PathBuf::from(path),
        digest: Digest::of_reader(body.as_bytes()).unwrap(),
    }
}

fn listed(key: &str, body: &str) -> RemoteObject {
    let d = Digest::of_reader(body.as_bytes()).unwrap();
    RemoteObject {
        key: key.to_owned(),
        etag: d.expected_etag(),
        size: d.size,
        last_modified: None,
    }
}

fn distribution(origin_path: &str, root: Option<&str>) -> DistributionInfo {
    DistributionInfo {
        id: "E1".to_owned(),
        default_root_object: root.map(str::to_owned),
        origins: vec![OriginInfo {
            id: "s3".to_owned(),
            domain: "site.s3.us-east-1.amazonaws.com".to_owned(),
            origin_path: origin_path.to_owned(),
            s3: true,
            access_restricted: true,
        }],
        ..DistributionInfo::default()
    }
}

/// Deploy `build` over a bucket holding `old` (old bytes under the same names).
fn invalidation(
    prefix: &str,
    build: &[(&str, &str)],
    old: &[(&str, &str)],
    dist: &DistributionInfo,
    budget: usize,
) -> InvalidationPlan {
    let files: Vec<_> = build.iter().map(|(p, b)| file(p, b)).collect();
    let listing: Vec<_> = old
        .iter()
        .map(|(p, b)| listed(&format!("{prefix}{p}"), b))
        .collect();
    let view = RemoteView::new(prefix, listing, None);
    let classifier = Classifier::new(&CachingConfig::default()).unwrap();
    let plan = build_plan(&files, &classifier, "site", prefix, "v", &view);
    plan_invalidation(&plan, &view, dist, budget)
}

fn paths(plan: &InvalidationPlan) -> Vec<String> {
    plan.encoded()
}

#[test]
fn only_changed_bytes_at_existing_fixed_addresses_are_invalidated() {
    let old = [
        ("index.html", "old"),
        ("remoteEntry.js", "old"),
        ("robots.txt", "same"),
        ("a.0a1b2c3d.js", "a"),
    ];
    let build = [
        ("index.html", "new"),     // changed HTML
        ("remoteEntry.js", "new"), // changed entry
        ("robots.txt", "same"),    // unchanged
        ("a.0a1b2c3d.js", "a"),    // unchanged hashed
        ("b.9f8e7d6c.js", "b"),    // new hashed chunk
        ("new.txt", "n"),          // brand-new key
    ];
    let plan = invalidation("shell/", &build, &old, &distribution("", None), 10);
    assert_eq!(
        paths(&plan),
        ["/shell/", "/shell/index.html", "/shell/remoteEntry.js"]
    );
    let why: Vec<_> = plan.explain().into_iter().map(|(_, w)| w).collect();
    assert_eq!(
        why,
        [
            "folder URL of index.html",
            "index.html changed",
            "remoteEntry.js changed"
        ]
    );
}

#[test]
fn default_root_object_also_invalidates_the_root_url() {
    let plan = invalidation(
        "shell/",
        &[("index.html", "new")],
        &[("index.html", "old")],
        &distribution("", Some("shell/index.html")),
        10,
    );
    assert_eq!(paths(&plan), ["/shell/", "/shell/index.html", "/"]);
}

#[test]
fn origin_path_is_stripped_from_urls() {
    let plan = invalidation(
        "site/m/",
        &[("remoteEntry.js", "new")],
        &[("remoteEntry.js", "old")],
        &distribution("/site", None),
        10,
    );
    assert_eq!(paths(&plan), ["/m/remoteEntry.js"]);
    let outside = invalidation(
        "other/m/",
        &[("remoteEntry.js", "new")],
        &[("remoteEntry.js", "old")],
        &distribution("/site", None),
        10,
    );
    assert!(
        outside.is_empty(),
        "keys the distribution does not serve need no invalidation"
    );
}

#[test]
fn first_deploy_invalidates_nothing() {
    let plan = invalidation(
        "m/",
        &[("index.html", "x"), ("remoteEntry.js", "y")],
        &[],
        &distribution("", None),
        10,
    );
    assert!(plan.is_empty());
}

#[test]
fn over_budget_collapses_within_the_module_prefix() {
    let build: Vec<(String, String)> = (0..30)
        .map(|i| (format!("locales/l{i}.json"), "new".to_owned()))
        .collect();
    let old: Vec<(String, String)> = (0..30)
        .map(|i| (format!("locales/l{i}.json"), "old".to_owned()))
        .collect();
    let plan = invalidation(
        "m/",
        &as_refs(&build),
        &as_refs(&old),
        &distribution("", None),
        10,
    );
    assert_eq!(paths(&plan), ["/m/locales/*"]);
    assert_eq!(
        plan.explain()[0].1,
        "30 changed URL(s) under it, 0 unchanged object(s) swept"
    );
}

#[test]
fn caller_reference_is_stable_per_run_and_paths_but_differs_otherwise() {
    let a = caller_reference(
        "acme/storefront/7301234567/1",
        "m/",
        &["/m/b".to_owned(), "/m/a".to_owned()],
    );
    let b = caller_reference(
        "acme/storefront/7301234567/1",
        "m/",
        &["/m/a".to_owned(), "/m/b".to_owned()],
    );
    let c = caller_reference(
        "acme/storefront/7301234567/2",
        "m/",
        &["/m/a".to_owned(), "/m/b".to_owned()],
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.len() <= 128);
}

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

fn one_path() -> InvalidationPlan {
    InvalidationPlan {
        paths: vec![Selected {
            path: "/m/remoteEntry.js".to_owned(),
            covers: vec![],
            swept: 0,
        }],
        reasons: Default::default(),
    }
}

#[tokio::test(start_paused = true)]
async fn too_many_in_progress_is_retried_with_backoff_until_accepted() {
    let cdn = FakeCdn::default();
    cdn.create_errors.lock().unwrap().extend([
        CdnError::TooManyInProgress("15 wildcards in flight".to_owned()),
        CdnError::Throttled("rate exceeded".to_owned()),
    ]);
    let started = tokio::time::Instant::now();
    let done = invalidate(&cdn, "E1", &one_path(), "ref", RetryPolicy::default(), None)
        .await
        .unwrap();
    assert_eq!(done.id, "I1");
    assert_eq!(started.elapsed(), Duration::from_secs(2 + 4));
    assert_eq!(cdn.created.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retrying_is_bounded_and_the_error_says_how_to_invalidate_by_hand() {
    let cdn = FakeCdn::default();
    cdn.create_errors
        .lock()
        .unwrap()
        .extend((0..100).map(|_| CdnError::TooManyInProgress("busy".to_owned())));
    let err = invalidate(&cdn, "E1", &one_path(), "ref", RetryPolicy::default(), None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("the upload succeeded"), "{text}");
    assert!(
        text.contains(
            "aws cloudfront create-invalidation --distribution-id E1 --paths '/m/remoteEntry.js'"
        ),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn batch_too_large_and_other_errors_are_not_retried() {
    let cdn = FakeCdn::default();
    cdn.create_errors
        .lock()
        .unwrap()
        .push_back(CdnError::Other {
            operation: "CreateInvalidation",
            message: "BatchTooLarge".to_owned(),
        });
    assert!(
        invalidate(&cdn, "E1", &one_path(), "ref", RetryPolicy::default(), None)
            .await
            .is_err()
    );
    assert!(cdn.created.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn wait_polls_until_completed_in_any_case() {
    let cdn = FakeCdn::default();
    cdn.statuses.lock().unwrap().extend([
        "InProgress".to_owned(),
        "InProgress".to_owned(),
        "COMPLETED".to_owned(),
    ]);
    let done = invalidate(
        &cdn,
        "E1",
        &one_path(),
        "ref",
        RetryPolicy::default(),
        Some(Duration::from_secs(600)),
    )
    .await
    .unwrap();
    assert_eq!(done.status, "COMPLETED");
    assert_eq!(*cdn.polls.lock().unwrap(), 3);
}

#[tokio::test(start_paused = true)]
async fn wait_never_hangs_past_its_limit() {
    let cdn = FakeCdn::default();
    cdn.statuses
        .lock()
        .unwrap()
        .push_back("InProgress".to_owned());
    let started = tokio::time::Instant::now();
    let err = invalidate(
        &cdn,
        "E1",
        &one_path(),
        "ref",
        RetryPolicy::default(),
        Some(Duration::from_secs(45)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, InvalidateError::WaitTimeout { .. }), "{err}");
    assert!(started.elapsed() <= Duration::from_secs(46));
}
