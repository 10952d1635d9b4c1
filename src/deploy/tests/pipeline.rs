//! The pipeline's guarantees, once for every mode: a scripted mode logs each step
//! it is asked for, with what the bucket held at that moment, and fails where a
//! test says.

use std::sync::{Arc, Mutex};

use super::*;
use crate::deploy::Job;
use crate::deploy::pipeline::{self, Invalidating, Planned, Published};
use crate::invalidate::InvalidationPlan;
use crate::record::{History, Invalidation};
use crate::store::{Body, Condition, ObjectMeta};

const IN_FLIGHT: &str = "_mfe-deploy/in-flight/";

/// What the scripted run does.
#[derive(Clone, Default)]
struct Script {
    /// It uploads a file.
    uploads: bool,
    /// It moves a manifest.
    moves: bool,
    /// The step that fails: `refuse`, `apply`, `publish` or `verify`.
    fail_at: Option<&'static str>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Script {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn say(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }

    fn fails_at(&self, step: &str) -> Result<(), Error> {
        match self.fail_at {
            Some(at) if at == step => Err(Error::Internal(format!("{step} failed"))),
            _ => Ok(()),
        }
    }
}

struct Scripted(Script);

/// How many objects the store holds under `prefix`.
async fn count<S: ObjectStore>(store: &S, prefix: &str) -> usize {
    store.list(prefix).await.unwrap().len()
}

impl pipeline::Mode for Scripted {
    type Input = Script;
    const APPLY_PUBLISHES: bool = false;

    async fn plan<S: ObjectStore, C: Cdn>(
        script: Script,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
    ) -> Result<(Self, Planned), Error> {
        script.say("plan".to_owned());
        let history = crate::record::read_history(ctx.store, job.layout)
            .await
            .map_err(Error::Remote)?;
        let mut report = Report::empty("shop", "production", "b", "shop/", "v1");
        report.uploaded = usize::from(script.uploads);
        let planned = Planned {
            version: "v1".to_owned(),
            history,
            report,
        };
        Ok((Self(script), planned))
    }

    fn invalidation(&self, _: &Job<'_>, _: &History, _: &DistributionInfo) -> InvalidationPlan {
        InvalidationPlan::of_urls(vec![("/shop/a.js".to_owned(), "it moves".to_owned())])
    }

    async fn show<S: ObjectStore, C: Cdn>(
        &self,
        _: &Context<'_, S, C>,
        _: &Job<'_>,
        _: &InvalidationPlan,
        _: Option<&DistributionInfo>,
        _: &mut Report,
        _: &mut dyn Write,
    ) -> Result<(), Error> {
        self.0.say("show".to_owned());
        Ok(())
    }

    async fn refuse<S: ObjectStore, C: Cdn>(
        &mut self,
        _: &Context<'_, S, C>,
        _: &Job<'_>,
        _: &mut Report,
        _: &mut dyn Write,
    ) -> Result<(), Error> {
        self.0.say("refuse".to_owned());
        self.0.fails_at("refuse")
    }

    fn done(&self) -> Status {
        Status::Deployed
    }

    fn uploads(&self) -> bool {
        self.0.uploads
    }

    fn moves(&self) -> bool {
        self.0.moves
    }

    async fn apply<S: ObjectStore, C: Cdn>(
        &mut self,
        ctx: &Context<'_, S, C>,
        _: &Job<'_>,
        r: &mut Report,
    ) -> Result<bool, Error> {
        let intents = count(ctx.store, IN_FLIGHT).await;
        self.0.say(format!("apply ({intents} intent)"));
        r.uploaded = 0;
        if self.0.uploads {
            let body = Body::Bytes(b"a".to_vec());
            let meta = ObjectMeta::private_json();
            ctx.store
                .put("shop/v1/a.js", body, &meta, &Condition::None)
                .await
                .map_err(Error::Remote)?;
            r.uploaded = 1;
        }
        self.0.fails_at("apply")?;
        Ok(self.0.uploads)
    }

    fn record(
        &self,
        provenance: &Provenance,
        job: &Job<'_>,
        _: &History,
        time: Utc,
        owes: Option<Invalidation>,
    ) -> DeployRecord {
        self.0.say("record".to_owned());
        DeployRecord {
            module: job.layout.module().to_owned(),
            provenance: provenance.clone(),
            invalidation: owes,
            ..crate::record::sample("v1", time, &["v1/a.js"])
        }
    }

    async fn settle_state<S: ObjectStore>(
        &self,
        _: &S,
        _: &Job<'_>,
        _: &History,
        next: Option<&str>,
    ) {
        let next = if next.is_some() { "a record" } else { "none" };
        self.0.say(format!("settle (next: {next})"));
    }

    async fn publish<S: ObjectStore, C: Cdn>(
        &self,
        ctx: &Context<'_, S, C>,
        _: &Job<'_>,
        invalidating: Invalidating<'_>,
        _: Utc,
        _: &mut dyn Write,
    ) -> Result<Published, Error> {
        let records = count(ctx.store, RECORDS).await;
        self.0.say(format!("publish ({records} record)"));
        self.0.fails_at("publish")?;
        let moved = if self.0.moves {
            vec!["mfe-manifest.json".to_owned()]
        } else {
            Vec::new()
        };
        Ok(Published {
            invalidation: invalidating.planned,
            moved,
            revision: None,
        })
    }

    async fn verify_live(&self, _: &Job<'_>) -> Result<(), Error> {
        self.0.say("verify".to_owned());
        self.0.fails_at("verify")
    }
}

/// Runs the scripted mode against `store`.
async fn scripted(
    store: &MemoryStore,
    cdn: &FakeCdn,
    script: &Script,
    dry_run: bool,
) -> Result<Report, Failed> {
    let (slots, probe) = (crate::apply::Slots::one_module(), Default::default());
    let ctx = context(store, cdn, &slots, &probe);
    let request = DeployRequest {
        dry_run,
        ..Build::new().request()
    };
    let config = Config::default();
    let mut out = Vec::new();
    pipeline::run::<Scripted, _, _>(&ctx, &request, &config, script.clone(), &mut out).await
}

fn changing() -> Script {
    Script {
        uploads: true,
        moves: true,
        ..Script::default()
    }
}

#[tokio::test]
async fn every_run_names_what_it_makes_live_before_writing_and_records_it_before_publishing() {
    let (store, cdn) = (MemoryStore::new(), cdn());
    let script = changing();
    let report = scripted(&store, &cdn, &script, false).await.unwrap();
    assert_eq!(
        script.log(),
        [
            "plan",
            "show",
            "refuse",
            "apply (1 intent)",
            "settle (next: a record)",
            "record",
            "publish (1 record)",
            "verify"
        ]
    );
    assert_eq!(report.status, Status::Deployed);
    assert_eq!(report.uploaded, 1);
    let record = &records(&store)[0];
    assert_eq!(
        record.invalidation.as_ref().unwrap().paths,
        ["/shop/a.js"],
        "what the run owes CloudFront is in its record before it is sent"
    );
    assert_eq!(cdn.created.lock().unwrap()[0].1, ["/shop/a.js"]);
    assert!(
        !store.keys().iter().any(|k| k.starts_with(IN_FLIGHT)),
        "a complete run's record says what its intent said: the intent is gone"
    );
}

#[tokio::test]
async fn a_refusal_writes_nothing_and_reports_nothing_done() {
    let (store, cdn) = (MemoryStore::new(), cdn());
    let script = Script {
        fail_at: Some("refuse"),
        ..changing()
    };
    let failed = scripted(&store, &cdn, &script, false).await.unwrap_err();
    assert_eq!(script.log(), ["plan", "show", "refuse"]);
    assert!(store.keys().is_empty(), "{:?}", store.keys());
    let report = failed.report.unwrap();
    assert_eq!(report.status, Status::Failed);
    assert_eq!(report.uploaded, 0, "planned, not done");
}

#[tokio::test]
async fn a_dry_run_stops_after_its_refusals_and_writes_nothing() {
    let (store, cdn) = (MemoryStore::new(), cdn());
    let script = changing();
    let report = scripted(&store, &cdn, &script, true).await.unwrap();
    assert_eq!(
        script.log(),
        ["plan", "show", "refuse", "record"],
        "the pending record is only made for retention to decide on"
    );
    assert!(store.keys().is_empty(), "{:?}", store.keys());
    assert!(cdn.created.lock().unwrap().is_empty());
    assert_eq!(report.status, Status::Planned);
}

#[tokio::test]
async fn a_run_that_stopped_after_writing_keeps_its_intent_and_one_that_wrote_nothing_does_not() {
    let (store, cdn) = (MemoryStore::new(), cdn());
    let wrote = Script {
        fail_at: Some("apply"),
        ..changing()
    };
    scripted(&store, &cdn, &wrote, false).await.unwrap_err();
    let intents = |store: &MemoryStore| {
        let keys = store.keys();
        keys.iter().filter(|k| k.starts_with(IN_FLIGHT)).count()
    };
    assert_eq!(
        intents(&store),
        1,
        "its uploads are protected until a record names them"
    );
    assert!(records(&store).is_empty());

    let store = MemoryStore::new();
    let wrote_nothing = Script {
        uploads: false,
        moves: true,
        fail_at: Some("apply"),
        ..Script::default()
    };
    scripted(&store, &cdn, &wrote_nothing, false)
        .await
        .unwrap_err();
    assert_eq!(intents(&store), 0);
}

#[tokio::test]
async fn a_record_that_cannot_be_written_stops_the_run_before_it_publishes_anything() {
    let (store, cdn) = (MemoryStore::new(), cdn());
    store.fail_under("put", RECORDS);
    let script = changing();
    let failed = scripted(&store, &cdn, &script, false).await.unwrap_err();
    assert!(
        matches!(failed.error, Error::Record { live: false, .. }),
        "{}",
        failed.error
    );
    assert!(!script.log().iter().any(|step| step.starts_with("publish")));
    assert!(cdn.created.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_run_that_changes_nothing_takes_no_intent_and_writes_no_record() {
    let (store, cdn) = (MemoryStore::new(), cdn());
    scripted(&store, &cdn, &changing(), false).await.unwrap();
    let again = Script::default();
    let report = scripted(&store, &cdn, &again, false).await.unwrap();
    assert_eq!(report.status, Status::Unchanged);
    assert!(again.log().contains(&"apply (0 intent)".to_owned()));
    assert!(again.log().contains(&"settle (next: none)".to_owned()));
    assert_eq!(records(&store).len(), 1);
}

#[tokio::test]
async fn a_failure_after_the_record_leaves_the_record_and_fails_the_run() {
    for step in ["publish", "verify"] {
        let (store, cdn) = (MemoryStore::new(), cdn());
        let script = Script {
            fail_at: Some(step),
            ..changing()
        };
        let failed = scripted(&store, &cdn, &script, false).await.unwrap_err();
        assert_eq!(failed.report.unwrap().status, Status::Failed, "{step}");
        assert_eq!(records(&store).len(), 1, "{step}");
    }
}
