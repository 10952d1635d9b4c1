//! The orchestrator's guarantees, on the in-memory store and CDN.

use std::path::PathBuf;

use super::*;
use crate::apply::ProgressMode;
use crate::cdn::fake::FakeCdn;
use crate::cdn::{CdnError, DistributionInfo, OriginInfo};
use crate::clock::Utc;
use crate::config::RequestsConfig;
use crate::layout::Layout;
use crate::record::{DeployRecord, Pointer};
use crate::report::Status;
use crate::request::{AwsSettings, ManifestKeys, Mode};
use crate::store::memory::{Injected, MemoryStore};

const POINTER: &str = "_mfe-deploy/modules/shop/latest.json";
const STATE: &str = "_mfe-deploy/modules/shop/state.json";
const RECORDS: &str = "_mfe-deploy/modules/shop/records/";

struct Build {
    dir: tempfile::TempDir,
}

impl Build {
    fn new() -> Self {
        let build = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        build.write("index.html", "<script src=remoteEntry.js></script>");
        build.write("remoteEntry.js", "entry v1");
        build.write("main.1a2b3c4d.js", "main");
        build.write("robots.txt", "robots");
        build
    }

    fn package(&self) -> PathBuf {
        self.dir.path().join("shop")
    }

    fn write(&self, rel: &str, body: &str) {
        let path = self.package().join("dist").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    fn request(&self) -> DeployRequest {
        DeployRequest {
            package: self.package(),
            dist: "dist".to_owned(),
            environment: "production".to_owned(),
            bucket: "b".to_owned(),
            prefix: "shop/".to_owned(),
            distribution_id: Some("E1".to_owned()),
            public_url: Some("https://example.com".to_owned()),
            version: None,
            dry_run: false,
            wait: false,
            mode: Mode::InPlace,
            manifest: ManifestKeys {
                native: "mfe-manifest.json".to_owned(),
                flat: None,
                import_map: None,
                module_federation: None,
            },
            rollback_to: None,
            rollout: None,
            republish: None,
            doctor: None,
            verify: false,
            retention: None,
            allow_sensitive: Vec::new(),
            preview: None,
            aws: AwsSettings {
                region: "us-east-1".to_owned(),
                endpoint_url: None,
                credentials: None,
                role_to_assume: None,
                bounds: crate::request::bounds(&RequestsConfig::default()),
            },
        }
    }
}

fn cdn() -> FakeCdn {
    FakeCdn {
        distribution: DistributionInfo {
            id: "E1".to_owned(),
            origins: vec![OriginInfo {
                id: "s3".to_owned(),
                domain: "b.s3.us-east-1.amazonaws.com".to_owned(),
                origin_path: String::new(),
                s3: true,
                access_restricted: true,
            }],
            ..DistributionInfo::default()
        },
        ..FakeCdn::default()
    }
}

async fn run(
    store: &MemoryStore,
    cdn: &FakeCdn,
    request: &DeployRequest,
) -> Result<Report, Failed> {
    run_printing(store, cdn, request).await.0
}

/// A run and what it printed.
async fn run_printing(
    store: &MemoryStore,
    cdn: &FakeCdn,
    request: &DeployRequest,
) -> (Result<Report, Failed>, String) {
    let (slots, probe) = (crate::apply::Slots::one_module(), Default::default());
    let ctx = context(store, cdn, &slots, &probe);
    let mut out = Vec::new();
    let result = deploy(
        &ctx,
        request,
        &Config::default(),
        PendingScan::start(request),
        &mut out,
    )
    .await;
    (result, String::from_utf8_lossy(&out).into_owned())
}

/// What a test's run goes against: `store` and `cdn`, as the GitHub runner's run
/// `acme/shop` 1.
fn context<'a>(
    store: &'a MemoryStore,
    cdn: &'a FakeCdn,
    slots: &'a crate::apply::Slots,
    probe: &'a crate::store::probe::Probe,
) -> Context<'a, MemoryStore, FakeCdn> {
    Context {
        store,
        cdn: Some(cdn),
        run_identity: "acme/shop/1/1".to_owned(),
        provenance: Provenance {
            commit: Some("c0ffee".to_owned()),
            git_ref: Some("refs/heads/master".to_owned()),
            actor: Some("octocat".to_owned()),
            run_url: None,
        },
        presentation: Presentation {
            annotations: false,
            progress: ProgressMode::Quiet,
        },
        batch: None,
        uploads: None,
        slots,
        probe,
        manifests: None,
    }
}

fn records(store: &MemoryStore) -> Vec<DeployRecord> {
    store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(RECORDS))
        .map(|k| DeployRecord::from_json(&store.object(&k).unwrap().bytes).unwrap())
        .collect()
}

fn pointer(store: &MemoryStore) -> Pointer {
    Pointer::from_json(&store.object(POINTER).unwrap().bytes).unwrap()
}

mod manifest;
mod pipeline;
mod retention;
mod state;
mod versioned;
mod versioned_state;

#[tokio::test]
async fn a_deploy_leaves_its_build_under_the_prefix_and_its_record_outside_it() {
    let build = Build::new();
    let store = MemoryStore::new();
    let report = run(&store, &cdn(), &build.request()).await.unwrap();
    assert_eq!(report.status, Status::Deployed);

    let keys = store.keys();
    let under_prefix: Vec<_> = keys.iter().filter(|k| k.starts_with("shop/")).collect();
    assert_eq!(
        under_prefix,
        [
            "shop/index.html",
            "shop/main.1a2b3c4d.js",
            "shop/remoteEntry.js",
            "shop/robots.txt"
        ]
    );
    let all = records(&store);
    assert_eq!(all.len(), 1);
    let record = &all[0];
    assert_eq!(record.version, report.version);
    assert_eq!(record.provenance.actor.as_deref(), Some("octocat"));
    assert_eq!(record.files.len(), 4);
    for (rel, file) in &record.files {
        assert_eq!(file.key, format!("shop/{rel}"));
        let stored = store.object(&file.key).unwrap();
        assert_eq!(stored.metadata.get("sha256"), Some(&file.sha256));
    }
    assert!(store.object(STATE).is_some());
    assert_eq!(pointer(&store).version, report.version);
    assert_eq!(
        report.record.as_deref().map(|k| k.starts_with(RECORDS)),
        Some(true)
    );
}

#[tokio::test]
async fn a_conflict_found_by_the_plan_writes_nothing() {
    let build = Build::new();
    let store = MemoryStore::new();
    let headers = crate::model::Headers {
        cache_control: "public, max-age=31536000, immutable".to_owned(),
        content_type: "text/javascript; charset=utf-8".to_owned(),
    };
    store.insert("shop/main.1a2b3c4d.js", b"other bytes!", headers);
    let failed = run(&store, &cdn(), &build.request()).await.unwrap_err();
    assert!(
        matches!(failed.error, Error::Conflict { .. }),
        "{}",
        failed.error
    );
    assert!(store.writes().is_empty());
    let report = failed.report.unwrap();
    assert_eq!(report.status, Status::Failed);
    assert_eq!(
        (
            report.uploaded,
            report.headers_updated,
            report.unchanged,
            report.bytes_uploaded
        ),
        (0, 0, 0, 0),
        "a refused run reports what it did, not what it planned"
    );
    assert!(!report.dry_run);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_the_plan_as_planned() {
    let build = Build::new();
    let store = MemoryStore::new();
    let mut request = build.request();
    request.dry_run = true;
    let report = run(&store, &cdn(), &request).await.unwrap();
    assert!(store.writes().is_empty());
    assert_eq!(report.status, Status::Planned);
    assert_eq!(report.uploaded, 4, "the plan's figures");
    let outputs: std::collections::BTreeMap<_, _> = report.outputs().into_iter().collect();
    assert_eq!(outputs["uploaded"], "0");
    assert_eq!(outputs["bytes-uploaded"], "0");
    let results: serde_json::Value = serde_json::from_str(&outputs["results"]).unwrap();
    assert_eq!(results[0]["status"], "planned");
    assert_eq!(results[0]["uploaded"], 4);
}

#[tokio::test]
async fn a_failure_mid_phase_stops_every_later_phase_and_reports_what_was_done() {
    let build = Build::new();
    let store = MemoryStore::new();
    store.fail_on("put", "shop/remoteEntry.js");
    let cdn = cdn();
    let failed = run(&store, &cdn, &build.request()).await.unwrap_err();
    assert!(matches!(failed.error, Error::Apply(_)), "{}", failed.error);
    assert!(
        store.object("shop/index.html").is_none(),
        "HTML never goes live"
    );
    assert!(records(&store).is_empty(), "no record of a failed deploy");
    assert!(cdn.created.lock().unwrap().is_empty());
    let report = failed.report.unwrap();
    assert_eq!(report.status, Status::Failed);
    assert_eq!(report.uploaded, 2, "the assets made it");
    let results: serde_json::Value = serde_json::from_str(
        &report
            .outputs()
            .into_iter()
            .find(|(n, _)| *n == "results")
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(results[0]["status"], "failed");
    assert_eq!(results[0]["uploaded"], 2);
}

#[tokio::test]
async fn an_invalidation_that_fails_is_owed_and_made_by_the_next_run_even_when_nothing_changed() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();

    build.write("remoteEntry.js", "entry v2");
    cdn.create_errors
        .lock()
        .unwrap()
        .push_back(CdnError::Other {
            operation: "CreateInvalidation",
            message: "injected".to_owned(),
        });
    let failed = run(&store, &cdn, &build.request()).await.unwrap_err();
    assert!(
        matches!(failed.error, Error::Invalidate(_)),
        "{}",
        failed.error
    );
    assert_eq!(failed.report.unwrap().uploaded, 1);
    let owed = pointer(&store).owed.unwrap();
    assert_eq!(owed.paths, ["/shop/remoteEntry.js"]);

    // "Re-run failed jobs": nothing to upload, the owed invalidation is made.
    let report = run(&store, &cdn, &build.request()).await.unwrap();
    assert_eq!(report.status, Status::Unchanged);
    assert_eq!(report.uploaded, 0);
    let created = cdn.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].1, ["/shop/remoteEntry.js"]);
    assert!(report.invalidation_id.is_some());
    assert_eq!(pointer(&store).owed, None);

    // And then nothing is owed any more.
    let report = run(&store, &cdn, &build.request()).await.unwrap();
    assert_eq!(report.invalidation_id, None);
    assert_eq!(cdn.created.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_run_killed_before_its_pointer_leaves_its_record_to_settle_what_is_owed() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    let confirmed = store.object(POINTER).unwrap();

    build.write("remoteEntry.js", "entry v2");
    the_next_invalidation_fails(&cdn);
    run(&store, &cdn, &build.request()).await.unwrap_err();
    // As if the run had died before it wrote the pointer.
    store.insert(POINTER, &confirmed.bytes, confirmed.headers.clone());

    let report = run(&store, &cdn, &build.request()).await.unwrap();
    let created = cdn.created.lock().unwrap().clone();
    assert_eq!(created.last().unwrap().1, ["/shop/remoteEntry.js"]);
    assert!(report.invalidation_id.is_some());
}

#[tokio::test]
async fn losing_everything_under_the_reserved_prefix_uploads_nothing_and_records_again() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    let first = run(&store, &cdn, &build.request()).await.unwrap();
    for key in store.keys() {
        if key.starts_with("_mfe-deploy/") {
            store.remove(&key);
        }
    }
    store.reset_counts();
    let report = run(&store, &cdn, &build.request()).await.unwrap();
    assert_eq!(report.uploaded, 0);
    assert_eq!(report.status, Status::Unchanged);
    assert!(
        store.writes().iter().all(|k| k.starts_with("_mfe-deploy/")),
        "{:?}",
        store.writes()
    );
    let all = records(&store);
    assert_eq!(all.len(), 1, "the version is recorded again");
    assert_eq!(all[0].version, first.version);
}

#[tokio::test]
async fn a_rebuild_writes_nothing_at_all() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    store.reset_counts();
    let report = run(&store, &cdn, &build.request()).await.unwrap();
    assert_eq!(report.status, Status::Unchanged);
    assert!(store.writes().is_empty(), "{:?}", store.writes());
    assert_eq!(
        store.calls("list"),
        1,
        "the module's listing alone: the state names the record the pointer names"
    );
    assert_eq!(records(&store).len(), 1);
    assert_eq!(
        report.previous_version.as_deref(),
        Some(report.version.as_str())
    );
}

/// The next invalidation fails, as if the run had been killed there (after its
/// record, before its pointer confirms it).
fn the_next_invalidation_fails(cdn: &FakeCdn) {
    cdn.create_errors
        .lock()
        .unwrap()
        .push_back(CdnError::Other {
            operation: "CreateInvalidation",
            message: "killed here".to_owned(),
        });
}

fn state(store: &MemoryStore) -> crate::state::DeployState {
    crate::state::DeployState::from_json(&store.object(STATE).unwrap().bytes).unwrap()
}

/// Just before this run's next write of the state, another run rewrites it: the
/// state as it is now, changed by `change`.
fn another_run_rewrites_the_state(
    store: &MemoryStore,
    change: impl Fn(&mut crate::state::DeployState) + Send + Sync + 'static,
) {
    let theirs = store.object(STATE).unwrap();
    store.before("put", STATE, move |s| {
        let mut other = crate::state::DeployState::from_json(&theirs.bytes).unwrap();
        change(&mut other);
        s.insert(STATE, &other.to_json(), theirs.headers.clone());
    });
}

#[tokio::test]
async fn a_build_file_inside_the_reserved_prefix_is_refused_before_anything_is_written() {
    let build = Build::new();
    build.write("_mfe-deploy/x.js", "x");
    let store = MemoryStore::new();
    let mut request = build.request();
    request.prefix = String::new();
    let failed = run(&store, &cdn(), &request).await.unwrap_err();
    assert_eq!(failed.error.exit_code(), 2, "{}", failed.error);
    assert!(store.writes().is_empty());
}

#[tokio::test]
async fn a_record_sorts_after_one_stamped_by_a_runner_whose_clock_runs_ahead() {
    let build = Build::new();
    let store = MemoryStore::new();
    let cdn = cdn();
    run(&store, &cdn, &build.request()).await.unwrap();
    // Move the first record an hour into the future, as a fast clock would stamp it.
    let first = store
        .keys()
        .into_iter()
        .find(|k| k.starts_with(RECORDS))
        .unwrap();
    let object = store.object(&first).unwrap();
    store.remove(&first);
    store.remove(POINTER);
    let ahead = Utc::from_millis(Utc::now().millis + 3_600_000);
    let layout = Layout::new("_mfe-deploy/", "shop/").unwrap();
    let future = layout.record_key(&ahead.compact(), "v1", "aaaaaaaa");
    store.insert(&future, &object.bytes, object.headers);

    build.write("remoteEntry.js", "entry v2");
    let second = run(&store, &cdn, &build.request()).await.unwrap();
    let newest = store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(RECORDS))
        .max()
        .unwrap();
    assert_eq!(second.record.as_deref(), Some(newest.as_str()));
}

fn versioned(build: &Build) -> DeployRequest {
    DeployRequest {
        mode: Mode::Versioned,
        ..build.request()
    }
}
