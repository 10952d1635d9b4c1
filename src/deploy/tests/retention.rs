//! Retention never deletes what is live or in flight, whatever the policy, and a
//! deploy that completed never fails as bad input because of it.

use std::sync::{Arc, Mutex};

use super::*;
use crate::retention::Policy;

fn policy(keep_versions: Option<usize>, keep_days: Option<u64>) -> Option<Policy> {
    Some(Policy {
        keep_versions,
        keep_days,
        max_deletions: 500,
    })
}

/// The build with its chunk renamed: the next version of the module.
fn next_chunk(build: &Build, from: &str, to: &str) {
    std::fs::remove_file(build.package().join("dist").join(from)).unwrap();
    build.write(to, to);
}

/// `prune` of `request`'s module, as `mfe-deploy prune` runs it: what it deleted
/// and printed.
fn prune_now(store: &MemoryStore, request: &DeployRequest) -> (usize, String) {
    let layout = Layout::new("_mfe-deploy/", &request.prefix).unwrap();
    let policy = request.retention.unwrap();
    let mut out = Vec::new();
    let deleted = futures::executor::block_on(super::super::prune::prune(
        store, request, &layout, &policy, None, &mut out,
    ))
    .unwrap();
    (deleted, String::from_utf8_lossy(&out).into_owned())
}

/// [`prune_now`], run by another process right before the store's next `put` of
/// `key`; its result lands in the returned slot.
fn prune_before_put(
    store: &MemoryStore,
    key: &str,
    request: &DeployRequest,
) -> Arc<Mutex<Option<(usize, String)>>> {
    let seen = Arc::new(Mutex::new(None));
    let (slot, request) = (Arc::clone(&seen), request.clone());
    store.before("put", key, move |store| {
        *slot.lock().unwrap() = Some(prune_now(store, &request));
    });
    seen
}

#[tokio::test]
async fn keep_days_alone_never_deletes_the_live_in_place_build_and_the_dry_run_agrees() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let request = DeployRequest {
        retention: policy(None, Some(0)),
        ..build.request()
    };
    run(&store, &cdn, &request).await.unwrap();
    next_chunk(&build, "main.1a2b3c4d.js", "main.9f8e7d6c.js");
    let second = run(&store, &cdn, &request).await.unwrap();
    assert_eq!(second.deleted, 1, "the first build's chunk goes");
    assert!(store.object("shop/main.1a2b3c4d.js").is_none());

    // Long after, an unchanged redeploy, dry and real.
    store.age_all(30);
    let dry = DeployRequest {
        dry_run: true,
        ..request.clone()
    };
    let (planned, printed) = run_printing(&store, &cdn, &dry).await;
    assert_eq!(planned.unwrap().deleted, 0);
    assert!(printed.contains("would delete 0 object(s)"), "{printed}");
    let again = run(&store, &cdn, &request).await.unwrap();
    assert_eq!(again.deleted, 0);
    for key in [
        "shop/index.html",
        "shop/remoteEntry.js",
        "shop/main.9f8e7d6c.js",
        "shop/robots.txt",
    ] {
        assert!(store.object(key).is_some(), "{key} is live and stays");
    }
}

#[tokio::test]
async fn keep_versions_one_during_a_versioned_deploy_mid_upload_deletes_none_of_its_files() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let v1 = DeployRequest {
        version: Some("v1".to_owned()),
        retention: policy(Some(1), None),
        ..versioned(&build)
    };
    run(&store, &cdn, &v1).await.unwrap();
    next_chunk(&build, "main.1a2b3c4d.js", "main.5e6f7a8b.js");
    let v2 = DeployRequest {
        version: Some("v2".to_owned()),
        ..v1.clone()
    };
    // v2 is going up (its files shared with v1 copied, its new chunk about to be
    // sent): another run prunes.
    let pruned = prune_before_put(&store, "shop/v2/main.5e6f7a8b.js", &v1);

    run(&store, &cdn, &v2).await.unwrap();

    let (deleted, printed) = pruned.lock().unwrap().clone().expect("the prune ran");
    assert_eq!(deleted, 0, "{printed}");
    for rel in [
        "index.html",
        "remoteEntry.js",
        "main.5e6f7a8b.js",
        "robots.txt",
    ] {
        assert!(
            store.object(&format!("shop/v2/{rel}")).is_some(),
            "v2/{rel}"
        );
    }
    assert!(
        !store
            .keys()
            .iter()
            .any(|k| k.starts_with("_mfe-deploy/in-flight/")),
        "the run removed its intent: {:?}",
        store.keys()
    );
}

#[tokio::test]
async fn a_parent_modules_retention_leaves_a_new_nested_modules_first_upload_alone() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let parent = DeployRequest {
        retention: policy(Some(1), None),
        ..build.request()
    };
    run(&store, &cdn, &parent).await.unwrap();

    let nested_build = Build::new();
    let nested = DeployRequest {
        prefix: "shop/cart/".to_owned(),
        ..nested_build.request()
    };
    let pruned = prune_before_put(&store, "shop/cart/remoteEntry.js", &parent);
    run(&store, &cdn, &nested).await.unwrap();

    let (deleted, printed) = pruned.lock().unwrap().clone().expect("the prune ran");
    assert_eq!(deleted, 0, "{printed}");
    assert!(store.object("shop/cart/main.1a2b3c4d.js").is_some());
}

#[tokio::test]
async fn a_retention_failure_after_a_complete_deploy_is_exit_1_and_the_deploy_stays_deployed() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let request = DeployRequest {
        retention: Some(Policy {
            keep_versions: Some(1),
            keep_days: None,
            max_deletions: 0,
        }),
        ..build.request()
    };
    run(&store, &cdn, &request).await.unwrap();
    next_chunk(&build, "main.1a2b3c4d.js", "main.9f8e7d6c.js");
    let failed = run(&store, &cdn, &request).await.unwrap_err();
    assert_eq!(failed.error.exit_code(), 1);
    let message = failed.error.to_string();
    assert!(
        message.starts_with("deployed, and it stays live; retention could not"),
        "{message}"
    );
    let report = failed.report.unwrap();
    assert_eq!(report.status, Status::Deployed);
    assert_eq!(report.uploaded, 1);
    assert_eq!(report.deleted, 0);
    assert!(
        store.object("shop/main.1a2b3c4d.js").is_some(),
        "nothing was deleted"
    );
}

#[tokio::test]
async fn a_store_error_in_retention_after_a_deploy_never_reads_as_bad_input() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let request = DeployRequest {
        retention: policy(Some(1), None),
        ..build.request()
    };
    store.fail_on("list", "_mfe-deploy/in-flight/");
    let failed = run(&store, &cdn, &request).await.unwrap_err();
    assert_eq!(failed.error.exit_code(), 1, "{}", failed.error);
    assert_eq!(failed.report.unwrap().status, Status::Deployed);
}

#[tokio::test]
async fn an_in_place_run_that_stopped_after_its_entry_keeps_that_entrys_files_from_retention() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let request = DeployRequest {
        retention: policy(Some(1), None),
        ..build.request()
    };
    run(&store, &cdn, &request).await.unwrap();
    // The next build's entry goes live, then its HTML fails: no record names the
    // new chunk that the live remoteEntry.js may load.
    next_chunk(&build, "main.1a2b3c4d.js", "main.9f8e7d6c.js");
    build.write("remoteEntry.js", "entry v2");
    build.write(
        "index.html",
        "<script src=remoteEntry.js></script><!-- v2 -->",
    );
    store.fail_on("put", "shop/index.html");
    run(&store, &cdn, &request).await.unwrap_err();
    assert!(store.object("shop/main.9f8e7d6c.js").is_some());
    assert!(
        store
            .keys()
            .iter()
            .any(|k| k.starts_with("_mfe-deploy/in-flight/shop/")),
        "the stopped run keeps its intent"
    );

    let (deleted, printed) = prune_now(&store, &request);
    assert_eq!(deleted, 0, "{printed}");
    assert!(store.object("shop/main.9f8e7d6c.js").is_some());
}
