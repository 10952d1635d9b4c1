//! Rollback: repoint the manifest to an earlier version of a module, from its deploy
//! record. It uploads nothing and never reads the build; every file the version
//! published must still be in the bucket, or the manifest is left alone.

use std::collections::BTreeMap;
use std::io::Write;

use sha2::Digest as _;

use super::versioned::{Published, current_live, live_entry, manifest_invalidation, switch};
use super::{Context, Trail, finish, steps};
use crate::cdn::Cdn;
use crate::clock::Utc;
use crate::config::Config;
use crate::error::Error;
use crate::layout::Layout;
use crate::manifest::LiveEntry;
use crate::record::{self, DeployRecord, History, Invalidation, RecordKind};
use crate::report::{Report, Status, entry_file, public_url_of};
use crate::request::{DeployRequest, RollbackTarget};
use crate::scan::hex;
use crate::store::ObjectStore;

/// The rollback pipeline.
pub async fn run<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    target: &RollbackTarget,
    out: &mut dyn Write,
    trail: &mut Trail,
) -> Result<(), Error> {
    let store = ctx.store;
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;
    let records_dir = layout.records_dir();
    let state_key = layout.state_key();
    let (distribution, history, live, records, state) = tokio::join!(
        steps::read_distribution(ctx.cdn, request.distribution_id.as_deref()),
        record::read_history(store, &layout),
        current_live(store, &request.manifest, &layout),
        store.list(&records_dir),
        store.get(&state_key),
    );
    let distribution = distribution?;
    let state = state.map_err(Error::Remote)?;
    let history = history.map_err(Error::Remote)?;
    let live = live?;
    let records = records.map_err(Error::Remote)?;
    let module = layout.module();
    let version = match target {
        RollbackTarget::Version(v) => v.clone(),
        RollbackTarget::Previous => previous_from_records(store, &layout, &records, live.as_ref())
            .await?
            .ok_or_else(|| {
                Error::Rollback(format!(
                    "the deploy records of `{module}` name no version live before the current one: name the version with `rollback-to: <version>` (`mfe-deploy history` lists them)"
                ))
            })?,
    };

    // The target's record, and its files, still all there.
    let key = records
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| layout.record_version(k) == Some(version.as_str()))
        .max()
        .ok_or_else(|| {
            Error::Rollback(format!(
                "no deploy record of version `{version}` of `{module}` in s3://{}/{}: it was never deployed here",
                request.bucket,
                layout.records_dir()
            ))
        })?
        .to_owned();
    let target_record = store
        .get(&key)
        .await
        .map_err(Error::Remote)?
        .and_then(|f| DeployRecord::from_json(&f.bytes))
        .ok_or_else(|| Error::Rollback(format!("the deploy record {key} cannot be read")))?;
    if target_record.mode != "versioned" {
        return Err(Error::Rollback(format!(
            "version `{version}` was deployed in place, so its files were overwritten since; redeploy that build instead"
        )));
    }
    let version_prefix = layout.version_prefix(&version);
    check_complete(store, request, &version_prefix, &target_record).await?;
    let entry = target_entry(store, request, &layout, &target_record, live.as_ref()).await?;

    let invalidation = manifest_invalidation(
        &request.manifest,
        &request.bucket,
        &request.prefix,
        distribution.as_ref(),
        &history,
    );
    let r = trail.report.insert(Report::empty(
        &request.package.display().to_string(),
        &request.environment,
        &request.bucket,
        &version_prefix,
        &version,
    ));
    r.entry_url = Some(entry.entry.clone());
    r.manifest_url = Some(public_url_of(
        request.public_url.as_deref(),
        &request.manifest.native,
    ));
    r.environment_url = request.public_url.clone();
    r.previous_version = live.as_ref().map(|l| l.version.clone());
    r.unchanged = target_record.files.len();
    r.invalidation_paths = invalidation.explain();
    writeln!(
        out,
        "Rollback of {module}: the manifest {} moves from {} to {version} ({} files, all present; nothing is uploaded)",
        request.manifest.native,
        r.previous_version.as_deref().unwrap_or("(none)"),
        target_record.files.len()
    )
    .map_err(Error::stdout)?;
    let job = steps::Job {
        request,
        config,
        layout: &layout,
    };
    if request.dry_run {
        let time = Utc::now();
        let pending = rollback_record(
            &target_record,
            request,
            ctx,
            live.as_ref(),
            &history,
            time,
            None,
        );
        return steps::retain(ctx, &job, Some(pending), r, out).await;
    }
    r.dry_run = false;
    if let Some(current) = live.as_ref().filter(|l| l.version == version) {
        // The native manifest names it; a document a failed run left behind moves.
        let repaired = switch(store, ctx.manifests, request, &layout, current, Utc::now()).await?;
        if repaired.is_empty() {
            writeln!(out, "{version} is already live: nothing to do").map_err(Error::stdout)?;
            r.status = Status::Unchanged;
            return Ok(());
        }
        writeln!(
            out,
            "{version} is live in the native manifest; moved the documents left behind: {}",
            repaired.join(", ")
        )
        .map_err(Error::stdout)?;
        r.status = Status::RolledBack;
        return steps::invalidate_and_confirm(
            ctx,
            &job,
            &history,
            distribution.as_ref(),
            &invalidation,
            None,
            r,
        )
        .await;
    }

    // A record of the rollback, then the switch, then the manifests' invalidation.
    r.status = Status::Failed;
    steps::begin_writing(
        ctx,
        &job,
        &version,
        Vec::new(),
        vec![version_prefix.clone()],
        &mut trail.intent,
    )
    .await?;
    let time = finish::record_time(&layout, &history, Utc::now());
    let rollback = rollback_record(
        &target_record,
        request,
        ctx,
        live.as_ref(),
        &history,
        time,
        distribution.as_ref().map(|d| Invalidation {
            distribution_id: d.id.clone(),
            paths: invalidation.decoded(),
        }),
    );
    finish::unmark_state(store, &layout, state.as_ref()).await;
    let record_key = record::write_record(store, &layout, &rollback, time, &record::new_nonce())
        .await
        .map_err(|source| Error::Record {
            live: false,
            source,
        })?;
    r.record = Some(record_key.clone());
    let entry = LiveEntry {
        deployed: time.rfc3339(),
        ..entry
    };
    switch(store, ctx.manifests, request, &layout, &entry, time).await?;
    r.status = Status::RolledBack;
    steps::invalidate_and_confirm(
        ctx,
        &job,
        &history,
        distribution.as_ref(),
        &invalidation,
        Some((&record_key, &version)),
        r,
    )
    .await?;
    steps::retain(ctx, &job, None, r, out).await
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
    let published = Published {
        version: &record.version,
        entry_rel,
        entry: &entry,
        mf_manifest: mf.as_deref(),
        commit: record.provenance.commit.clone(),
    };
    Ok(live_entry(request, layout, &published, live, String::new()))
}

/// The record of the rollback: the target's files, made live again now by this run.
fn rollback_record<S, C>(
    target: &DeployRecord,
    request: &DeployRequest,
    ctx: &Context<'_, S, C>,
    live: Option<&LiveEntry>,
    history: &History,
    time: Utc,
    invalidation: Option<Invalidation>,
) -> DeployRecord {
    DeployRecord {
        kind: RecordKind::Rollback,
        environment: request.environment.clone(),
        previous_version: live
            .map(|l| l.version.clone())
            .or_else(|| history.latest().map(|(_, v)| v.to_owned())),
        provenance: ctx.provenance.clone(),
        time: time.rfc3339(),
        invalidation: invalidation.filter(|i| !i.paths.is_empty()),
        ..target.clone()
    }
}
