//! Rollback: repoint the manifest to an earlier version of a module, from its deploy
//! record. It uploads nothing and never reads the build; every file the version
//! published must still be in the bucket, or the manifest is left alone.

use std::collections::BTreeMap;
use std::io::Write;

use sha2::Digest as _;

use super::Context;
use super::Job;
use super::pipeline::{Invalidating, Mode, Planned, Published};
use super::publish::{self, Parts, live_entry};
use crate::cdn::{Cdn, DistributionInfo};
use crate::clock::Utc;
use crate::error::Error;
use crate::invalidate::InvalidationPlan;
use crate::layout::Layout;
use crate::manifest::{self, LiveEntry};
use crate::record::{self, DeployRecord, History, Invalidation, Provenance, RecordKind};
use crate::report::{Report, Status, entry_file, public_url_of};
use crate::request::{DeployRequest, RollbackTarget};
use crate::scan::hex;
use crate::store::{Fetched, ObjectStore};

/// A rollback, planned: the target's record and entry, all its files present.
pub struct Rollback {
    target: DeployRecord,
    /// The target's entry for the manifests (stamped when it is published).
    entry: LiveEntry,
    /// The module's entry in the native manifest, as read.
    live: Option<LiveEntry>,
    /// The deploy state an earlier deploy of the module left, if any.
    state: Option<Fetched>,
}

impl Mode for Rollback {
    type Input = RollbackTarget;
    const APPLY_PUBLISHES: bool = false;

    async fn plan<S: ObjectStore, C: Cdn>(
        target: RollbackTarget,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
    ) -> Result<(Self, Planned), Error> {
        let (store, request, layout) = (ctx.store, job.request, job.layout);
        let records_dir = layout.records_dir();
        let state_key = layout.state_key();
        let (history, native, records, state) = tokio::join!(
            record::read_history(store, layout),
            publish::read_native(store, &request.manifest),
            store.list(&records_dir),
            store.get(&state_key),
        );
        let state = state.map_err(Error::Remote)?;
        let history = history.map_err(Error::Remote)?;
        let live = native?.and_then(|f| manifest::live(&f.bytes, layout.module()));
        let records = records.map_err(Error::Remote)?;
        let module = layout.module();
        let version = match target {
            RollbackTarget::Version(v) => v,
            RollbackTarget::Previous => previous_from_records(store, layout, &records, live.as_ref())
                .await?
                .ok_or_else(|| {
                    Error::Rollback(format!(
                        "the deploy records of `{module}` name no version live before the current one: name the version with `rollback-to: <version>` (`mfe-deploy history` lists them)"
                    ))
                })?,
        };

        let (target, entry) =
            published(store, request, layout, &records, &version, live.as_ref()).await?;
        let version_prefix = layout.version_prefix(&version);

        let mut report = Report::empty(
            &request.package.display().to_string(),
            &request.environment,
            &request.bucket,
            &version_prefix,
            &version,
        );
        report.entry_url = Some(entry.entry.clone());
        report.manifest_url = Some(public_url_of(
            request.public_url.as_deref(),
            &request.manifest.native,
        ));
        report.previous_version = live.as_ref().map(|l| l.version.clone());
        report.unchanged = target.files.len();
        let run = Self {
            target,
            entry,
            live,
            state,
        };
        let planned = Planned {
            version,
            history,
            report,
        };
        Ok((run, planned))
    }

    fn invalidation(
        &self,
        job: &Job<'_>,
        history: &History,
        distribution: &DistributionInfo,
    ) -> InvalidationPlan {
        publish::manifest_invalidation(job, distribution, history)
    }

    async fn show<S: ObjectStore, C: Cdn>(
        &self,
        _ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        _invalidation: &InvalidationPlan,
        _distribution: Option<&DistributionInfo>,
        r: &mut Report,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        writeln!(
            out,
            "Rollback of {}: the manifest {} moves from {} to {} ({} files, all present; nothing is uploaded)",
            job.layout.module(),
            job.request.manifest.native,
            r.previous_version.as_deref().unwrap_or("(none)"),
            self.target.version,
            self.target.files.len()
        )
        .map_err(Error::stdout)
    }

    fn done(&self) -> Status {
        Status::RolledBack
    }

    fn uploads(&self) -> bool {
        false
    }

    /// A rollback to the stable version still moves the manifest when a canary is
    /// live: it clears it.
    fn moves(&self) -> bool {
        let live = self.live.as_ref();
        live.map(|l| l.version.as_str()) != Some(self.target.version.as_str())
            || live.is_some_and(|l| l.canary.is_some())
    }

    async fn apply<S: ObjectStore, C: Cdn>(
        &mut self,
        _ctx: &Context<'_, S, C>,
        _job: &Job<'_>,
        _r: &mut Report,
    ) -> Result<bool, Error> {
        Ok(false)
    }

    /// The record of the rollback: the target's files, made live again now by this
    /// run.
    fn record(
        &self,
        provenance: &Provenance,
        job: &Job<'_>,
        history: &History,
        time: Utc,
        owes: Option<Invalidation>,
    ) -> DeployRecord {
        DeployRecord {
            kind: RecordKind::Rollback,
            environment: job.request.environment.clone(),
            previous_version: self
                .live
                .as_ref()
                .map(|l| l.version.clone())
                .or_else(|| history.latest().map(|(_, v)| v.to_owned())),
            provenance: provenance.clone(),
            time: time.rfc3339(),
            invalidation: owes.filter(|i| !i.paths.is_empty()),
            ..self.target.clone()
        }
    }

    fn left_state(&self) -> Option<&Fetched> {
        self.state.as_ref()
    }

    async fn publish<S: ObjectStore, C: Cdn>(
        &self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        invalidating: Invalidating<'_>,
        time: Utc,
        out: &mut dyn Write,
    ) -> Result<Published, Error> {
        let next = self.moves().then(|| LiveEntry {
            deployed: time.rfc3339(),
            ..self.entry.clone()
        });
        let live = self.live.as_ref();
        let published = publish::publish(ctx, job, invalidating, live, next, time, None).await?;
        let version = &self.target.version;
        if !self.moves() {
            // The native manifest names it; a document a failed run left behind moved.
            let said = if published.moved.is_empty() {
                format!("{version} is already live: nothing to do")
            } else {
                format!(
                    "{version} is live in the native manifest; moved the documents left behind: {}",
                    published.moved.join(", ")
                )
            };
            writeln!(out, "{said}").map_err(Error::stdout)?;
        }
        Ok(published)
    }
}

/// A version published earlier, as its newest record names it: its record and its
/// manifest entry, once every file the record names is still in the bucket with its
/// size, and its entry holds the recorded bytes. What a rollback and a rollout step
/// publish without a build.
pub(super) async fn published<S: ObjectStore>(
    store: &S,
    request: &DeployRequest,
    layout: &Layout,
    records: &[crate::store::RemoteObject],
    version: &str,
    live: Option<&LiveEntry>,
) -> Result<(DeployRecord, LiveEntry), Error> {
    let module = layout.module();
    let key = records
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| layout.record_version(k) == Some(version))
        .max()
        .ok_or_else(|| {
            Error::Rollback(format!(
                "no deploy record of version `{version}` of `{module}` in s3://{}/{}: it was never deployed here",
                request.bucket,
                layout.records_dir()
            ))
        })?
        .to_owned();
    let target = store
        .get(&key)
        .await
        .map_err(Error::Remote)?
        .and_then(|f| DeployRecord::from_json(&f.bytes))
        .ok_or_else(|| Error::Rollback(format!("the deploy record {key} cannot be read")))?;
    if target.mode != "versioned" {
        return Err(Error::Rollback(format!(
            "version `{version}` was deployed in place, so its files were overwritten since; redeploy that build instead"
        )));
    }
    let version_prefix = layout.version_prefix(version);
    check_complete(store, request, &version_prefix, &target).await?;
    let entry = target_entry(store, request, layout, &target, live).await?;
    Ok((target, entry))
}

/// The version live before the current one, from the records (the source of truth:
/// a manifest recreated by hand has no `previous`): what the newest record of the
/// live version says was live before it. The live version is the manifest's, or
/// the newest record's when the manifest names none.
async fn previous_from_records<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    records: &[crate::store::RemoteObject],
    live: Option<&LiveEntry>,
) -> Result<Option<String>, Error> {
    let keys = || {
        records
            .iter()
            .map(|o| o.key.as_str())
            .filter(|k| layout.is_record_key(k))
    };
    let current = match live {
        Some(l) => keys()
            .filter(|k| layout.record_version(k) == Some(l.version.as_str()))
            .max(),
        None => keys().max(),
    };
    let Some(key) = current else {
        return Ok(None);
    };
    let record = store
        .get(key)
        .await
        .map_err(Error::Remote)?
        .and_then(|f| DeployRecord::from_json(&f.bytes));
    Ok(record
        .and_then(|r| r.previous_version)
        .filter(|p| live.is_none_or(|l| &l.version != p)))
}

/// Every file the record names is under the version with its recorded size.
async fn check_complete<S: ObjectStore>(
    store: &S,
    request: &DeployRequest,
    version_prefix: &str,
    record: &DeployRecord,
) -> Result<(), Error> {
    let present: BTreeMap<String, u64> = store
        .list(version_prefix)
        .await
        .map_err(Error::Remote)?
        .into_iter()
        .map(|o| (o.key, o.size))
        .collect();
    let missing: Vec<&str> = record
        .files
        .values()
        .filter(|f| present.get(&f.key) != Some(&f.size))
        .map(|f| f.key.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Rollback(format!(
        "version `{}` is incomplete in s3://{}: {} of its {} file(s) are missing or changed: {}",
        record.version,
        request.bucket,
        missing.len(),
        record.files.len(),
        missing.join(", ")
    )))
}

/// The target's entry for the manifests, its integrity from the bytes in the bucket
/// (which must be the recorded ones).
async fn target_entry<S: ObjectStore>(
    store: &S,
    request: &DeployRequest,
    layout: &Layout,
    record: &DeployRecord,
    live: Option<&LiveEntry>,
) -> Result<LiveEntry, Error> {
    let entry_rel = entry_file(record.files.keys().map(String::as_str)).ok_or_else(|| {
        Error::Rollback(format!(
            "version `{}` has no remoteEntry.js, mf-manifest.json or index.html to point at",
            record.version
        ))
    })?;
    let read = |rel: &str| {
        let file = record.files.get(rel);
        async move {
            let Some(file) = file else {
                return Ok(None);
            };
            let fetched = store
                .get(&file.key)
                .await
                .map_err(Error::Remote)?
                .ok_or_else(|| Error::Rollback(format!("{} is missing", file.key)))?;
            if hex(&sha2::Sha256::digest(&fetched.bytes)) != file.sha256 {
                return Err(Error::Rollback(format!(
                    "{} no longer holds the bytes its record names",
                    file.key
                )));
            }
            Ok(Some(fetched.bytes))
        }
    };
    let entry = read(entry_rel).await?.unwrap_or_default();
    let mf = read("mf-manifest.json").await?;
    let parts = Parts {
        version: &record.version,
        entry_rel,
        entry: &entry,
        mf_manifest: mf.as_deref(),
        commit: record.provenance.commit.clone(),
    };
    let public = request.public_url.as_deref();
    Ok(live_entry(public, layout, &parts, live, String::new()))
}
