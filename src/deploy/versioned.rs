//! Versioned mode: the whole build goes to `prefix/<version>/…`, written once and
//! served immutable; it is checked back from the bucket; only then does the
//! discovery manifest move, in every configured format. Only the manifests are
//! invalidated: everything else is a new URL.

use std::io::Write;

use super::Job;
use super::pipeline::{Invalidating, Mode, Planned, Published};
use super::publish::{self, Parts, Switched, live_entry};
use super::steps;
use super::vouched;
use super::{Context, PendingScan, finish, integrity};
use crate::cdn::{Cdn, DistributionInfo};
use crate::classify::Classifier;
use crate::clock::Utc;
use crate::error::Error;
use crate::invalidate::InvalidationPlan;
use crate::manifest::rollout::{self, RolloutError};
use crate::manifest::{self, LiveEntry};
use crate::plan::{Plan, RemoteView, build_versioned_plan};
use crate::read;
use crate::record::{
    self, DeployRecord, History, Invalidation, Provenance, RecordKind, RecordedRollout,
};
use crate::report::{Report, Status, entry_file, public_url_of};
use crate::request::{DeployRequest, InputError, Rollout};
use crate::store::{Fetched, ObjectStore, listing};
use crate::version::build_version;

/// A versioned run, planned.
pub struct Versioned {
    plan: Plan,
    /// The version's folder as listed (a re-run finds what it uploaded).
    remote: RemoteView,
    /// The build's entry, the file the manifests point at.
    entry_rel: String,
    /// The module's entry in the native manifest, as read.
    live: Option<LiveEntry>,
    /// The module's deploy state as read (an in-place deploy's or a versioned one's).
    state: Option<Fetched>,
    /// The native manifest as this run read it (its first write merges into it).
    native_read: Option<Fetched>,
    /// The entry and `mf-manifest.json` as read back from the bucket.
    read_back: Option<(Vec<u8>, Option<Vec<u8>>)>,
    /// The ETags the uploads returned.
    etags: std::collections::BTreeMap<String, String>,
    /// Where the build is published.
    target: Target,
    /// The id a canary of this build starts a new rollout with.
    new_rollout: String,
}

/// Where a versioned build is published.
enum Target {
    /// The environment's manifests: everyone gets it.
    Manifests,
    /// A pull request's overlay (its key), instead of the environment's manifests.
    Overlay(String),
    /// The native manifest's canary, for this share of users; stable stays.
    Canary(u8),
}

impl Mode for Versioned {
    type Input = PendingScan;
    const APPLY_PUBLISHES: bool = false;

    async fn plan<S: ObjectStore, C: Cdn>(
        scan: PendingScan,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
    ) -> Result<(Self, Planned), Error> {
        let (store, request, layout) = (ctx.store, job.request, job.layout);
        let classifier =
            Classifier::new(&job.config.caching).map_err(|e| Error::Internal(e.to_string()))?;
        let target = match (&request.preview, request.rollout) {
            (Some(p), _) => {
                Target::Overlay(manifest::overlay_key(&request.manifest.native, p.number))
            }
            (None, Some(Rollout::Percent(percent))) => Target::Canary(percent),
            _ => Target::Manifests,
        };
        let overlay = match &target {
            Target::Overlay(key) => Some(key.clone()),
            _ => None,
        };
        let read_overlay = async {
            match &overlay {
                Some(key) => store.get(key).await.map(|f| f.map(|f| f.bytes)),
                None => Ok(None),
            }
        };
        // The build's version folder is listed as soon as the scan names it, while
        // the history, the manifest and the state are read.
        let listed_build = async {
            let files = scan.finish().await?;
            let version = request
                .version
                .clone()
                .unwrap_or_else(|| build_version(&files));
            let version_prefix = layout.version_prefix(&version);
            for file in &files {
                layout.file_key(&format!("{version}/{}", file.rel_path))?;
            }
            // A version holds its build's keys or fewer: where they fall tells where
            // the listing's pages start, so a large one is listed all at once.
            let mut expected: Vec<String> = files
                .iter()
                .map(|f| format!("{version_prefix}{}", f.rel_path))
                .collect();
            expected.sort_unstable();
            let (first, ahead) = tokio::join!(
                store.list_page(&version_prefix, None),
                listing::ahead(store, &version_prefix, &expected),
            );
            let (first, ahead) = (first.map_err(Error::Remote)?, ahead.map_err(Error::Remote)?);
            let listing = listing::join(store, &version_prefix, first, ahead)
                .await
                .map_err(Error::Remote)?;
            Ok::<_, Error>((files, version, version_prefix, listing))
        };
        let (build, known, native, overlaid) = tokio::join!(
            listed_build,
            vouched::read(store, layout),
            publish::read_native(store, &request.manifest),
            read_overlay,
        );
        let known = known.map_err(Error::Remote)?;
        let (files, version, version_prefix, listing) = build?;
        let native_read = native?;
        let native = native_read.as_ref().map(|f| f.bytes.clone());
        // What this run moves from: the module's entry in the document it publishes to.
        let published_to = match &overlay {
            Some(_) => overlaid.map_err(Error::Remote)?,
            None => native.clone(),
        };
        let live = published_to
            .as_deref()
            .and_then(|bytes| manifest::live(bytes, layout.module()));
        publish::refuse_taken_name(request, layout, native.as_deref(), &files)?;
        // A version is never rewritten: a file needs its MD5 only when a re-run finds
        // an object of its size there (a new version has none), and not even then
        // when the deploy state or the version's record names the very objects listed
        // (same size and ETag): a rebuild then reads each file once and asks nothing.
        // A new version copies the files it shares with those the state or the newest
        // record names.
        let mut listed = RemoteView::new(&version_prefix, listing, None);
        let write_once = copies_are_write_once(request);
        let sources = known.vouch(layout, &version, &version_prefix, write_once, &mut listed);
        let needed = files.iter().map(|f| listed.needs_md5(f)).collect();
        let files = super::build::add_md5(files, needed).await?;
        let remote = read::complete_content(store, listed, &files)
            .await
            .map_err(Error::Remote)?;

        let mut plan = build_versioned_plan(
            &files,
            &classifier,
            &request.bucket,
            &version_prefix,
            &version,
            &remote,
        );
        plan.copy_from(&sources);
        // Nobody loads a version no manifest names: it goes up at once, not in phases.
        let names = |entry: Option<&LiveEntry>| {
            entry.is_some_and(|l| {
                l.version == version || l.canary.as_ref().is_some_and(|c| c.version == version)
            })
        };
        let in_native = native
            .as_deref()
            .and_then(|bytes| manifest::live(bytes, layout.module()));
        plan.staged = names(live.as_ref()) || names(in_native.as_ref());
        let entry_rel = entry_file(plan.files.iter().map(|f| f.rel_path.as_str()))
            .ok_or_else(|| InputError::Invalid {
                name: "mode",
                value: "versioned".to_owned(),
                hint: format!(
                    "the build in {} has no remoteEntry.js, mf-manifest.json or index.html at its root for the manifest to point at",
                    request.dist_path().display()
                ),
            })?
            .to_owned();
        let public = request.public_url.as_deref();
        let mut report = Report::from_plan(
            &plan,
            &request.package.display().to_string(),
            &request.environment,
            &request.dist_path().display().to_string(),
        );
        report.entry_url = Some(public_url_of(
            public,
            &format!("{version_prefix}{entry_rel}"),
        ));
        report.manifest_url = Some(match (&overlay, &request.preview) {
            (Some(key), Some(preview)) => public_url_of(preview.public_url.as_deref(), key),
            _ => public_url_of(public, &request.manifest.native),
        });
        report.preview_url = request.preview.as_ref().and_then(|p| p.url());
        if let Target::Canary(percent) = target {
            let module = layout.module();
            match &live {
                None => {
                    return Err(Error::Rollout(RolloutError::NoStable {
                        module: module.to_owned(),
                    }));
                }
                Some(stable) if stable.version == version => {
                    return Err(Error::Rollout(RolloutError::Stable {
                        module: module.to_owned(),
                        version: version.clone(),
                    }));
                }
                Some(_) => {}
            }
            report.canary = Some((version.clone(), percent));
        }
        let history = known.history;
        report.previous_version = publish::previous_version(live.as_ref(), &history);
        let run = Self {
            plan,
            remote,
            entry_rel,
            live,
            state: known.state,
            native_read,
            read_back: None,
            etags: Default::default(),
            target,
            new_rollout: format!("{version}-{}", record::new_nonce()),
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
        let d = distribution;
        let overlay = match &self.target {
            Target::Manifests => return publish::manifest_invalidation(job, d, history),
            Target::Canary(_) => return publish::native_invalidation(job, d, history),
            Target::Overlay(key) => key,
        };
        publish::document_invalidation(job, d, history, overlay, "the preview's overlay changes")
    }

    async fn show<S: ObjectStore, C: Cdn>(
        &self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        invalidation: &InvalidationPlan,
        distribution: Option<&DistributionInfo>,
        r: &mut Report,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        super::show::plan(ctx, job, &self.plan, invalidation, distribution, r, out).await?;
        let (module, version) = (job.layout.module(), &self.plan.version);
        let native = &job.request.manifest.native;
        let then = match &self.target {
            Target::Manifests => format!("the manifest {native}: {module} → {version}"),
            Target::Overlay(key) => format!("the preview's overlay {key}: {module} → {version}"),
            Target::Canary(p) => {
                format!("the manifest {native}: {module}'s canary → {version} for {p}% of users")
            }
        };
        writeln!(out, "then {then}").map_err(Error::stdout)
    }

    async fn refuse<S: ObjectStore, C: Cdn>(
        &mut self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        r: &mut Report,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let plan = &mut self.plan;
        if !plan.conflicts.is_empty() {
            return Err(Error::VersionTaken {
                bucket: job.request.bucket.clone(),
                prefix: plan.prefix.clone(),
                version: plan.version.clone(),
                keys: plan.conflicts.iter().map(|c| c.rel_path.clone()).collect(),
            });
        }
        let public = job.request.public_url.as_deref();
        integrity::check(ctx.store, public, plan, &self.remote, r, out).await
    }

    fn done(&self) -> Status {
        match self.target {
            Target::Manifests => Status::Deployed,
            Target::Overlay(_) => Status::Previewed,
            Target::Canary(_) => Status::Canary,
        }
    }

    fn uploads(&self) -> bool {
        let counts = self.plan.counts();
        counts.uploaded + counts.copied > 0
    }

    fn moves(&self) -> bool {
        let live = self.live.as_ref();
        match self.target {
            Target::Canary(percent) => {
                let canary = live.and_then(|l| l.canary.as_ref());
                canary.map(|c| (c.version.as_str(), c.percent))
                    != Some((self.plan.version.as_str(), percent))
            }
            // A plain deploy goes live for everyone: a live canary is cleared.
            Target::Manifests => {
                live.map(|l| l.version.as_str()) != Some(self.plan.version.as_str())
                    || live.is_some_and(|l| l.canary.is_some())
            }
            Target::Overlay(_) => {
                live.map(|l| l.version.as_str()) != Some(self.plan.version.as_str())
            }
        }
    }

    /// Uploads the version and checks its entries back from the bucket as soon as
    /// they are there (and through `public-url` with `verify`), before anything
    /// points at them.
    async fn apply<S: ObjectStore, C: Cdn>(
        &mut self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        r: &mut Report,
    ) -> Result<bool, Error> {
        let entry_rel = self.entry_rel.as_str();
        // A re-run that writes nothing and moves nothing publishes nothing to check.
        let read = self.uploads() || self.moves();
        let (applied, read_back) =
            steps::apply_and_read_back(ctx, &self.plan, entry_rel, read, r).await?;
        self.etags = applied.etags;
        self.read_back = read_back;
        let wrote = applied.uploaded + applied.copied > 0;
        steps::verify_entries(job, &self.plan, entry_rel).await?;
        Ok(wrote)
    }

    fn record(
        &self,
        provenance: &Provenance,
        job: &Job<'_>,
        history: &History,
        time: Utc,
        owes: Option<Invalidation>,
    ) -> DeployRecord {
        let etag = finish::known_etag(&self.etags, &self.remote);
        let record = finish::record_of(&self.plan, job, provenance, history, time, owes, etag);
        let record = DeployRecord {
            previous_version: publish::previous_version(self.live.as_ref(), history),
            ..record
        };
        match self.target {
            Target::Manifests => record,
            Target::Overlay(_) => DeployRecord {
                kind: RecordKind::Preview,
                ..record
            },
            Target::Canary(percent) => DeployRecord {
                kind: RecordKind::Canary,
                rollout: Some(RecordedRollout {
                    id: self.rollout_id(),
                    percent,
                }),
                ..record
            },
        }
    }

    /// Before the record: the state names this version's files (relative to the
    /// module's prefix) and the record, so that the next run of the module needs no
    /// records listed or read while the pointer names that record.
    async fn settle_state<S: ObjectStore>(
        &self,
        store: &S,
        job: &Job<'_>,
        _history: &History,
        next: Option<&str>,
    ) {
        let Some(record) = next else {
            return;
        };
        let mut state = self
            .plan
            .version_state(job.layout.prefix(), &self.etags, &self.remote);
        state.record = Some(record.to_owned());
        let read = self.state.as_ref().map(|f| f.etag.as_str());
        finish::write_state(store, job.layout, state, read).await;
    }

    async fn publish<S: ObjectStore, C: Cdn>(
        &self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        invalidating: Invalidating<'_>,
        time: Utc,
        _out: &mut dyn Write,
    ) -> Result<Published, Error> {
        let next = match (&self.read_back, self.moves()) {
            (Some((entry, mf)), true) => {
                let parts = Parts {
                    version: &self.plan.version,
                    entry_rel: &self.entry_rel,
                    entry,
                    mf_manifest: mf.as_deref(),
                    commit: ctx.provenance.commit.clone(),
                };
                // NOTE: a preview's entries are root-relative: the shell runtime honours
                // only same-origin paths from an overlay, served on both hosts.
                let public = match self.target {
                    Target::Overlay(_) => None,
                    _ => job.request.public_url.as_deref(),
                };
                let (live, deployed) = (self.live.as_ref(), time.rfc3339());
                Some(live_entry(public, job.layout, &parts, live, deployed))
            }
            _ => None,
        };
        let moved = match (&self.target, next) {
            (Target::Manifests, next) => {
                let live = self.live.as_ref();
                let read = Some(self.native_read.clone());
                return publish::publish(ctx, job, invalidating, live, next, time, read).await;
            }
            (Target::Overlay(key), Some(entry)) => Switched {
                moved: publish::overlay(ctx, job, key, &entry).await?,
                revision: None,
            },
            (Target::Canary(percent), Some(candidate)) => {
                let module = job.layout.module();
                let (live, now, id) = (self.live.as_ref(), time.rfc3339(), self.rollout_id());
                let entry = rollout::canary(module, live, &candidate, *percent, &now, id)?;
                let read = Some(self.native_read.clone());
                publish::native(ctx, job, &entry, time, read).await?
            }
            (_, None) => {
                return Ok(Published {
                    invalidation: publish::owed_only(job, &invalidating),
                    moved: Vec::new(),
                    revision: None,
                });
            }
        };
        Ok(Published {
            invalidation: invalidating.planned,
            moved: moved.moved,
            revision: moved.revision,
        })
    }
}

impl Versioned {
    /// The canary's rollout id: the live canary's when it is this version (its
    /// percentage moves), else a new one, the same for the record and the manifest.
    fn rollout_id(&self) -> String {
        let canary = self.live.as_ref().and_then(|l| l.canary.as_ref());
        match canary {
            Some(c) if c.version == self.plan.version => c.rollout.clone(),
            _ => self.new_rollout.clone(),
        }
    }
}

/// Whether a copy into the version can be trusted to create its key only: S3
/// honours `If-None-Match` on CopyObject; S3-compatible stores may not (moto and
/// s3s-fs ignore it), and there only a label that is the build's digest makes an
/// overwrite harmless (every writer of that key writes the same bytes).
fn copies_are_write_once(request: &DeployRequest) -> bool {
    request.aws.endpoint_url.is_none() || request.version.is_none()
}
