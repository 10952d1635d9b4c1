//! Versioned mode: the whole build goes to `prefix/<version>/…`, written once and
//! served immutable; it is checked back from the bucket; only then does the
//! discovery manifest move, in every configured format. Only the manifests are
//! invalidated: everything else is a new URL.

use std::io::Write;

use sha2::Digest as _;

use super::{Context, PendingScan, Trail, finish, integrity, steps};
use crate::cdn::{Cdn, DistributionInfo};
use crate::classify::Classifier;
use crate::clock::Utc;
use crate::config::Config;
use crate::error::Error;
use crate::invalidate::InvalidationPlan;
use crate::layout::Layout;
use crate::manifest::{self, Format, LiveEntry};
use crate::plan::{Plan, RemoteView, build_versioned_plan};
use crate::read;
use crate::record::{self, History, Invalidation};
use crate::report::{Report, Status, entry_file, public_url_of};
use crate::request::{DeployRequest, InputError, ManifestKeys};
use crate::scan::hex;
use crate::store::ObjectStore;
use crate::version::build_version;

/// The documents to update, native first.
pub fn targets(keys: &ManifestKeys) -> Vec<(Format, &str)> {
    let mut targets = vec![(Format::Native, keys.native.as_str())];
    for (format, key) in [
        (Format::Flat, &keys.flat),
        (Format::ImportMap, &keys.import_map),
        (Format::ModuleFederation, &keys.module_federation),
    ] {
        if let Some(key) = key {
            targets.push((format, key.as_str()));
        }
    }
    targets
}

/// The manifests' URLs, what a versioned deploy or a rollback invalidates (with
/// what earlier runs still owe).
pub fn manifest_invalidation(
    keys: &ManifestKeys,
    bucket: &str,
    prefix: &str,
    distribution: Option<&DistributionInfo>,
    history: &History,
) -> InvalidationPlan {
    let Some(d) = distribution else {
        return InvalidationPlan::default();
    };
    let urls = targets(keys)
        .into_iter()
        .filter_map(|(format, key)| {
            let why = format!("the {} manifest moves", format.as_str());
            d.url_of(bucket, key).map(|url| (url, why))
        })
        .collect();
    let root = d.url_of(bucket, prefix).unwrap_or_default();
    InvalidationPlan::of_urls(urls).with_owed(&history.owed(&d.id), &root)
}

/// The live entry of `layout`'s module in the native manifest, as it is now.
pub async fn current_live<S: ObjectStore>(
    store: &S,
    keys: &ManifestKeys,
    layout: &Layout,
) -> Result<Option<LiveEntry>, Error> {
    Ok(read_native(store, keys)
        .await?
        .and_then(|bytes| manifest::live(&bytes, layout.module())))
}

/// The native manifest's bytes, when there is one.
async fn read_native<S: ObjectStore>(
    store: &S,
    keys: &ManifestKeys,
) -> Result<Option<Vec<u8>>, Error> {
    let fetched = store.get(&keys.native).await.map_err(Error::Remote)?;
    Ok(fetched.map(|f| f.bytes))
}

/// Refuses a build whose federation name another module of the manifest declares:
/// the flat, import-map and Module Federation documents (and shells) name remotes by
/// it, so one module would silently replace the other there.
fn refuse_taken_name(
    request: &DeployRequest,
    layout: &Layout,
    native: Option<&[u8]>,
    files: &[crate::scan::LocalFile],
) -> Result<(), Error> {
    let Some(native) = native else {
        return Ok(());
    };
    let name = files
        .iter()
        .find(|f| f.rel_path == "mf-manifest.json")
        .and_then(|f| std::fs::read(&f.abs_path).ok())
        .and_then(|bytes| manifest::federation_name(&bytes))
        .unwrap_or_else(|| layout.module().to_owned());
    match manifest::name_taken(native, layout.module(), &name) {
        Some(other) => Err(Error::NameTaken {
            name,
            module: layout.module().to_owned(),
            other,
            manifest: format!("s3://{}/{}", request.bucket, request.manifest.native),
        }),
        None => Ok(()),
    }
}

/// Moves every manifest document that does not name `entry` yet (each compared and
/// moved on its own, so a re-run repairs a document a failed run left behind) and
/// keeps the native revision in the history. Returns the keys it moved; a failure
/// says which documents name what now.
pub async fn switch<S: ObjectStore>(
    store: &S,
    queue: Option<&manifest::Queue>,
    request: &DeployRequest,
    layout: &Layout,
    entry: &LiveEntry,
    time: Utc,
) -> Result<Vec<String>, Error> {
    let targets = targets(&request.manifest);
    let mut moved = Vec::new();
    for (i, &(format, key)) in targets.iter().enumerate() {
        let (bucket, module) = (&request.bucket, layout.module());
        let updated = match queue {
            Some(queue) => {
                queue
                    .update(store, bucket, key, format, module, entry)
                    .await
            }
            None => manifest::update(store, bucket, key, format, module, entry).await,
        };
        let updated = match updated {
            Ok(updated) => updated,
            Err(source) => {
                return Err(Error::Switch(Box::new(crate::error::SwitchFailure {
                    version: entry.version.clone(),
                    moved,
                    left: targets[i..].iter().map(|(_, k)| (*k).to_owned()).collect(),
                    source,
                })));
            }
        };
        if !updated.moved() {
            continue;
        }
        tracing::info!(
            "{} manifest {key}: {} → {} ({} attempt(s))",
            format.as_str(),
            layout.module(),
            entry.version,
            updated.attempts
        );
        moved.push(key.to_owned());
        if format == Format::Native {
            let history = layout.history_key(key, &time.compact(), &entry.version);
            if let Err(e) = manifest::write_history(store, &history, &updated.written).await {
                tracing::warn!(
                    "the manifest moved, but its revision could not be kept at {history}: {e}"
                );
            }
        }
    }
    Ok(moved)
}

/// The versioned pipeline.
pub async fn run<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    scan: PendingScan,
    out: &mut dyn Write,
    trail: &mut Trail,
) -> Result<(), Error> {
    let store = ctx.store;
    let classifier =
        Classifier::new(&config.caching).map_err(|e| Error::Internal(e.to_string()))?;
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;

    let state_key = layout.state_key();
    // Read: the distribution, the build, the history, the live entry.
    let (distribution, files, history, live, abandoned, state) = tokio::join!(
        steps::read_distribution(ctx.cdn, request.distribution_id.as_deref()),
        scan.finish(),
        record::read_history(store, &layout),
        read_native(store, &request.manifest),
        steps::abandoned_uploads(ctx, config, &layout),
        store.get(&state_key),
    );
    let distribution = distribution?;
    let state = state.map_err(Error::Remote)?;
    let files = files?;
    let history = history.map_err(Error::Remote)?;
    let native = live?;
    let live = native
        .as_deref()
        .and_then(|bytes| manifest::live(bytes, layout.module()));
    refuse_taken_name(request, &layout, native.as_deref(), &files)?;
    let version = request
        .version
        .clone()
        .unwrap_or_else(|| build_version(&files));
    let version_prefix = layout.version_prefix(&version);
    for file in &files {
        layout.file_key(&format!("{version}/{}", file.rel_path))?;
    }
    // A version is never rewritten and keeps no state: a file needs its MD5 only
    // when a re-run finds an object of its size there (a new version has none).
    let listed = RemoteView::new(
        &version_prefix,
        store.list(&version_prefix).await.map_err(Error::Remote)?,
        None,
    );
    let needed = files.iter().map(|f| listed.needs_md5(f)).collect();
    let files = steps::add_md5(files, needed).await?;
    let remote = read::complete_content(store, listed, &files)
        .await
        .map_err(Error::Remote)?;

    // Plan.
    let mut plan = build_versioned_plan(
        &files,
        &classifier,
        &request.bucket,
        &version_prefix,
        &version,
        &remote,
    );
    let entry_rel = entry_file(plan.files.iter().map(|f| f.rel_path.as_str())).ok_or_else(|| {
        InputError::Invalid {
            name: "mode",
            value: "versioned".to_owned(),
            hint: format!(
                "the build in {} has no remoteEntry.js, mf-manifest.json or index.html at its root for the manifest to point at",
                request.dist_path().display()
            ),
        }
    })?;
    let invalidation = manifest_invalidation(
        &request.manifest,
        &request.bucket,
        &request.prefix,
        distribution.as_ref(),
        &history,
    );
    let public = request.public_url.as_deref();
    let r = trail.report.insert(Report::from_plan(
        &plan,
        &request.package.display().to_string(),
        &request.environment,
        &request.dist_path().display().to_string(),
    ));
    r.entry_url = Some(public_url_of(
        public,
        &format!("{version_prefix}{entry_rel}"),
    ));
    r.manifest_url = Some(public_url_of(public, &request.manifest.native));
    r.environment_url = request.public_url.clone();
    r.invalidation_paths = invalidation.explain();
    r.previous_version = live
        .as_ref()
        .map(|l| l.version.clone())
        .or_else(|| history.latest().map(|(_, v)| v.to_owned()));
    let job = steps::Job {
        request,
        config,
        layout: &layout,
    };
    steps::show(
        ctx,
        &job,
        &plan,
        &invalidation,
        distribution.as_ref(),
        r,
        out,
    )
    .await?;
    writeln!(
        out,
        "then the manifest {}: {} → {version}",
        request.manifest.native,
        layout.module()
    )
    .map_err(Error::stdout)?;
    if !plan.conflicts.is_empty() {
        return Err(Error::VersionTaken {
            bucket: request.bucket.clone(),
            prefix: version_prefix,
            version,
            keys: plan.conflicts.iter().map(|c| c.rel_path.clone()).collect(),
        });
    }
    integrity::check(store, public, &mut plan, &remote, r, out).await?;
    if request.dry_run {
        return steps::retain_planned(ctx, &job, &plan, &history, r, out).await;
    }

    // Apply (after clearing what interrupted runs left), then check the entries
    // back before anything points at them.
    let moves = live.as_ref().map(|l| l.version.as_str()) != Some(version.as_str());
    if plan.counts().uploaded > 0 || moves || finish::needs_record(false, &history, &version) {
        steps::begin_writing(
            ctx,
            &job,
            &version,
            Vec::new(),
            vec![version_prefix.clone()],
            &mut trail.intent,
        )
        .await?;
    }
    crate::cleanup::abort(store, &abandoned).await;
    let applied = steps::apply_into(ctx, &plan, r).await?;
    let (entry_bytes, mf_bytes) = read_back(store, &plan, entry_rel).await?;
    if request.verify {
        let published = |f: &&crate::plan::PlannedFile| {
            f.rel_path == entry_rel || f.rel_path == "mf-manifest.json"
        };
        steps::verify_through_public_url(&job, plan.files.iter().filter(published)).await?;
    }
    let changed = applied.uploaded > 0;

    // Record, then switch the manifest.
    let time = finish::record_time(&layout, &history, Utc::now());
    let record_key = if finish::needs_record(changed || moves, &history, &version) {
        let stamp = finish::Stamp {
            environment: &request.environment,
            provenance: &ctx.provenance,
            time,
        };
        let owes = distribution.as_ref().map(|d| Invalidation {
            distribution_id: d.id.clone(),
            paths: invalidation.decoded(),
        });
        let record = finish::record_of(&plan, &layout, &history, &stamp, owes);
        finish::unmark_state(store, &layout, state.as_ref()).await;
        Some(
            record::write_record(store, &layout, &record, time, &record::new_nonce())
                .await
                .map_err(|source| Error::Record {
                    live: false,
                    source,
                })?,
        )
    } else {
        None
    };
    r.record.clone_from(&record_key);
    let mut repaired = Vec::new();
    let invalidation = if moves {
        let published = Published {
            version: &version,
            entry_rel,
            entry: &entry_bytes,
            mf_manifest: mf_bytes.as_deref(),
            commit: ctx.provenance.commit.clone(),
        };
        let entry = live_entry(request, &layout, &published, live.as_ref(), time.rfc3339());
        switch(store, ctx.manifests, request, &layout, &entry, time).await?;
        invalidation
    } else {
        // The native manifest names this version already; another document a failed
        // run left behind is moved to it too. Only those, and what earlier runs owe,
        // are invalidated.
        repaired = match live.as_ref() {
            Some(entry) if targets(&request.manifest).len() > 1 => {
                switch(store, ctx.manifests, request, &layout, entry, time).await?
            }
            _ => Vec::new(),
        };
        match &distribution {
            Some(d) => InvalidationPlan::of_urls(
                repaired
                    .iter()
                    .filter_map(|key| {
                        let why = "a manifest a failed run left behind moves".to_owned();
                        d.url_of(&request.bucket, key).map(|url| (url, why))
                    })
                    .collect(),
            )
            .with_owed(&history.owed(&d.id), ""),
            None => InvalidationPlan::default(),
        }
    };
    r.status = if changed || moves || !repaired.is_empty() {
        Status::Deployed
    } else {
        Status::Unchanged
    };
    r.invalidation_paths = invalidation.explain();
    let written = record_key.as_deref().map(|k| (k, version.as_str()));
    steps::invalidate_and_confirm(
        ctx,
        &job,
        &history,
        distribution.as_ref(),
        &invalidation,
        written,
        r,
    )
    .await?;
    steps::retain(ctx, &job, None, r, out).await
}

/// Reads the version's entry and `mf-manifest.json` back from the bucket and
/// compares them with what was uploaded; returns the bytes read (entry, manifest).
async fn read_back<S: ObjectStore>(
    store: &S,
    plan: &Plan,
    entry_rel: &str,
) -> Result<(Vec<u8>, Option<Vec<u8>>), Error> {
    let mut entry = Vec::new();
    let mut mf = None;
    for file in plan
        .files
        .iter()
        .filter(|f| f.rel_path == entry_rel || f.rel_path == "mf-manifest.json")
    {
        let fail = |why: String| Error::ReadBack {
            bucket: plan.bucket.clone(),
            key: file.key.clone(),
            why,
        };
        let fetched = store
            .get(&file.key)
            .await
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail("it is not there".to_owned()))?;
        let sha = hex(&sha2::Sha256::digest(&fetched.bytes));
        if sha != file.digest.sha256_hex() {
            return Err(fail(format!(
                "its bytes differ from the ones uploaded (SHA-256 {sha}, uploaded {})",
                file.digest.sha256_hex()
            )));
        }
        if file.rel_path == "mf-manifest.json" {
            mf = Some(fetched.bytes.clone());
        }
        if file.rel_path == entry_rel {
            entry = fetched.bytes;
        }
    }
    Ok((entry, mf))
}

/// What a version's manifest entry is made of.
pub struct Published<'a> {
    pub version: &'a str,
    /// The entry's path in the build, and its bytes.
    pub entry_rel: &'a str,
    pub entry: &'a [u8],
    /// The version's `mf-manifest.json`, when it has one.
    pub mf_manifest: Option<&'a [u8]>,
    pub commit: Option<String>,
}

/// The manifests' entry for a published version of `layout`'s module.
pub fn live_entry(
    request: &DeployRequest,
    layout: &Layout,
    published: &Published<'_>,
    live: Option<&LiveEntry>,
    deployed: String,
) -> LiveEntry {
    let public = request.public_url.as_deref();
    let prefix = layout.version_prefix(published.version);
    LiveEntry {
        name: published
            .mf_manifest
            .and_then(manifest::federation_name)
            .unwrap_or_else(|| layout.module().to_owned()),
        entry: public_url_of(public, &format!("{prefix}{}", published.entry_rel)),
        mf_manifest: published
            .mf_manifest
            .map(|_| public_url_of(public, &format!("{prefix}mf-manifest.json"))),
        version: published.version.to_owned(),
        integrity: manifest::integrity(published.entry),
        deployed,
        commit: published.commit.clone(),
        previous: live.map(|l| l.version.clone()),
    }
}
