//! Republish: a version's files copied server-side to a fresh label `<version>.r<N>`,
//! read back, and the manifest moved to it. Nothing is rebuilt and nothing is sent
//! from the runner: the same bytes (the entry's integrity stays valid) under URLs no
//! cache has ever seen, the way out when browsers and proxies hold a wrong answer
//! under the old ones (docs/poisoned-cache.md).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use super::pipeline::{Invalidating, Mode, Planned, Published};
use super::publish::{self, Parts, live_entry};
use super::{Context, Job, finish, steps};
use crate::cdn::{Cdn, DistributionInfo};
use crate::classify::Classifier;
use crate::clock::Utc;
use crate::error::Error;
use crate::invalidate::InvalidationPlan;
use crate::manifest::{self, LiveEntry};
use crate::plan::{Action, CopySources, Plan, RemoteView, build_versioned_plan};
use crate::record::{self, DeployRecord, History, Invalidation, Provenance, RecordKind};
use crate::report::{Report, Status, entry_file, public_url_of};
use crate::scan::{Digest, LocalFile};
use crate::store::{Fetched, ObjectStore};

/// Why a republish is made, as its record keeps it.
const REASON: &str = "fresh URLs for the same bytes: caches outside the CDN may hold wrong answers under the old ones";

/// A republish, planned: every file of the source version to be copied.
pub struct Republish {
    source: DeployRecord,
    plan: Plan,
    entry_rel: String,
    /// The module's entry in the native manifest, as read.
    live: Option<LiveEntry>,
    native_read: Option<Fetched>,
    state: Option<Fetched>,
    read_back: Option<(Vec<u8>, Option<Vec<u8>>)>,
    etags: BTreeMap<String, String>,
}

impl Mode for Republish {
    /// The version to republish.
    type Input = String;
    const APPLY_PUBLISHES: bool = false;

    async fn plan<S: ObjectStore, C: Cdn>(
        version: String,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
    ) -> Result<(Self, Planned), Error> {
        let (store, request, layout) = (ctx.store, job.request, job.layout);
        let refused = |e: Error| match e {
            Error::Rollback(why) => Error::Republish(why),
            other => other,
        };
        let taken = format!("{}{}.r", layout.prefix(), stem_of(&version));
        let (records_dir, state_key) = (layout.records_dir(), layout.state_key());
        let (history, native, records, state, taken) = tokio::join!(
            record::read_history(store, layout),
            publish::read_native(store, &request.manifest),
            store.list(&records_dir),
            store.get(&state_key),
            store.list(&taken),
        );
        let state = state.map_err(Error::Remote)?;
        let history = history.map_err(Error::Remote)?;
        let native_read = native?;
        let records = records.map_err(Error::Remote)?;
        let live = native_read
            .as_ref()
            .and_then(|f| manifest::live(&f.bytes, layout.module()));
        // What is republished is what is live: the version asked, or its latest
        // republished label; the copy is of the live label's files.
        let (live_version, stem) = live_label(live.as_ref(), &version, layout.module())?;
        let (source, _) = super::rollback::published(
            store,
            request,
            layout,
            &records,
            &live_version,
            live.as_ref(),
        )
        .await
        .map_err(refused)?;
        let version = stem;
        let labels = records
            .iter()
            .filter_map(|o| layout.record_version(&o.key))
            .map(str::to_owned)
            .chain(taken.map_err(Error::Remote)?.into_iter().filter_map(|o| {
                let rest = o.key.strip_prefix(layout.prefix())?;
                rest.split_once('/').map(|(label, _)| label.to_owned())
            }));
        let label = format!("{version}.r{}", next_number(&version, labels));

        let entry_rel = entry_file(source.files.keys().map(String::as_str))
            .ok_or_else(|| {
                Error::Republish(format!(
                    "version `{version}` has no remoteEntry.js, mf-manifest.json or index.html to point at"
                ))
            })?
            .to_owned();
        let own = layout.version_prefix(&live_version);
        let pinned = pinned_paths(store, &source, &own).await?;
        if !pinned.is_empty() {
            return Err(Error::Republish(format!(
                "rebuild needed: {} name(s) the version's own path `/{own}`, so its files cannot move to a new label (set the bundler's publicPath to `auto` or a relative path, then deploy a new build)",
                pinned.join(", ")
            )));
        }
        let plan = copy_plan(job, &source, &label)?;
        let mut report = Report::from_plan(
            &plan,
            &request.package.display().to_string(),
            &request.environment,
            &format!(
                "s3://{}/{}",
                request.bucket,
                layout.version_prefix(&live_version)
            ),
        );
        let public = request.public_url.as_deref();
        let prefix = layout.version_prefix(&label);
        report.entry_url = Some(public_url_of(public, &format!("{prefix}{entry_rel}")));
        report.manifest_url = Some(public_url_of(public, &request.manifest.native));
        report.previous_version = live.as_ref().map(|l| l.version.clone());
        let run = Self {
            source,
            plan,
            entry_rel,
            live,
            native_read,
            state,
            read_back: None,
            etags: BTreeMap::new(),
        };
        let planned = Planned {
            version: label,
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
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        invalidation: &InvalidationPlan,
        distribution: Option<&DistributionInfo>,
        r: &mut Report,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        super::show::plan(ctx, job, &self.plan, invalidation, distribution, r, out).await?;
        writeln!(
            out,
            "then the manifest {}: {} → {} (republished from {}: {} file(s) copied server-side, nothing sent)",
            job.request.manifest.native,
            job.layout.module(),
            self.plan.version,
            self.source.version,
            self.plan.files.len()
        )
        .map_err(Error::stdout)
    }

    fn done(&self) -> Status {
        Status::Republished
    }

    fn uploads(&self) -> bool {
        true
    }

    fn moves(&self) -> bool {
        true
    }

    /// Copies the version, reading its entries back as soon as they are copied
    /// (and through `public-url` with `verify`) before anything points at them.
    async fn apply<S: ObjectStore, C: Cdn>(
        &mut self,
        ctx: &Context<'_, S, C>,
        job: &Job<'_>,
        r: &mut Report,
    ) -> Result<bool, Error> {
        let entry_rel = self.entry_rel.as_str();
        let (applied, read_back) =
            steps::apply_and_read_back(ctx, &self.plan, entry_rel, true, r).await?;
        self.etags = applied.etags;
        self.read_back = read_back;
        steps::verify_entries(job, &self.plan, entry_rel).await?;
        Ok(true)
    }

    fn record(
        &self,
        provenance: &Provenance,
        job: &Job<'_>,
        history: &History,
        time: Utc,
        owes: Option<Invalidation>,
    ) -> DeployRecord {
        let etag = |key: &str| self.etags.get(key).cloned();
        let record = finish::record_of(&self.plan, job, provenance, history, time, owes, etag);
        DeployRecord {
            kind: RecordKind::Republish,
            previous_version: publish::previous_version(self.live.as_ref(), history),
            republished: Some(record::Republished {
                from: self.source.version.clone(),
                reason: REASON.to_owned(),
            }),
            ..record
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
        _out: &mut dyn Write,
    ) -> Result<Published, Error> {
        let Some((entry, mf)) = &self.read_back else {
            return Err(Error::Internal(
                "a republish reached its manifest write without its entries read back".to_owned(),
            ));
        };
        let parts = Parts {
            version: &self.plan.version,
            entry_rel: &self.entry_rel,
            entry,
            mf_manifest: mf.as_deref(),
            commit: self.source.provenance.commit.clone(),
        };
        let public = job.request.public_url.as_deref();
        let live = self.live.as_ref();
        let mut next = live_entry(public, job.layout, &parts, live, time.rfc3339());
        // A rollout in progress goes on: only the stable version moves.
        next.canary = live.and_then(|l| l.canary.clone());
        let read = Some(self.native_read.clone());
        publish::publish(ctx, job, invalidating, live, Some(next), time, read).await
    }
}

/// The plan of the copy: every file of `source` to `label`, served as a version is
/// (immutable, its content type by name), each copied from where the record names
/// it; nothing can be sent from the runner.
fn copy_plan(job: &Job<'_>, source: &DeployRecord, label: &str) -> Result<Plan, Error> {
    let (request, layout) = (job.request, job.layout);
    let classifier =
        Classifier::new(&job.config.caching).map_err(|e| Error::Internal(e.to_string()))?;
    let mut sources = CopySources::default();
    let mut files = Vec::with_capacity(source.files.len());
    for (rel, file) in &source.files {
        let unusable = || {
            Error::Republish(format!(
                "the record of `{}` names {} without an ETag or SHA-256 it can be copied by (written by a release before 0.2): deploy that build again instead",
                source.version, file.key
            ))
        };
        let etag = file
            .etag
            .as_deref()
            .filter(|e| !e.is_empty())
            .ok_or_else(unusable)?;
        let digest = Digest::known(file.size, &file.sha256).ok_or_else(unusable)?;
        sources.insert(file.size, &file.sha256, &file.key, etag);
        files.push(LocalFile {
            rel_path: rel.clone(),
            abs_path: PathBuf::new(),
            digest,
        });
    }
    let prefix = layout.version_prefix(label);
    let remote = RemoteView::new(&prefix, Vec::new(), None);
    let mut plan = build_versioned_plan(
        &files,
        &classifier,
        &request.bucket,
        &prefix,
        label,
        &remote,
    );
    plan.copy_from(&sources);
    plan.staged = false;
    plan.from_runner = false;
    if let Some(file) = plan
        .files
        .iter()
        .find(|f| !matches!(f.action, Action::Copy { .. }))
    {
        return Err(Error::Republish(format!(
            "{} cannot be copied server-side (over 5 GiB)",
            file.rel_path
        )));
    }
    Ok(plan)
}

/// The live label to copy and the stem of its fresh label, when `asked` is live
/// (itself, or as the stem of a republished label): a republish gives the live
/// version new URLs; it never makes another version live.
fn live_label(
    live: Option<&LiveEntry>,
    asked: &str,
    module: &str,
) -> Result<(String, String), Error> {
    let Some(live) = live else {
        return Err(Error::Republish(format!(
            "the manifest names no version of `{module}`: nothing live to republish"
        )));
    };
    if live.canary.as_ref().is_some_and(|c| c.version == asked) {
        return Err(Error::Republish(format!(
            "`{asked}` is `{module}`'s canary: promote it (`rollout: promote`) or abort the rollout first, then republish the stable version"
        )));
    }
    let stem = stem_of(&live.version);
    if live.version == asked || stem == asked {
        return Ok((live.version.clone(), stem.to_owned()));
    }
    Err(Error::Republish(format!(
        "`{asked}` is not live (the manifest names `{}` for `{module}`): republish the live version; to make `{asked}` live again, use `rollback-to: {asked}`",
        live.version
    )))
}

/// `v41` of `v41.r2`; a label without such a suffix is its own stem.
fn stem_of(label: &str) -> &str {
    match label.rsplit_once(".r") {
        Some((stem, n)) if !stem.is_empty() && n.parse::<u32>().is_ok() => stem,
        _ => label,
    }
}

/// The next free `N` of `<version>.r<N>` among `labels` (the records' versions and
/// the folders under the module).
fn next_number(version: &str, labels: impl Iterator<Item = String>) -> u32 {
    let stem = format!("{version}.r");
    labels
        .filter_map(|label| label.strip_prefix(&stem)?.parse::<u32>().ok())
        .max()
        .map_or(1, |n| n + 1)
}

/// The files of the version that name its own folder by path (an absolute or
/// root-relative publicPath): every script, stylesheet, HTML and JSON file (a
/// bundler's preload helper may live in any chunk), read from the bucket, a few at a
/// time. Such a build cannot move to another label.
async fn pinned_paths<S: ObjectStore>(
    store: &S,
    source: &DeployRecord,
    version_prefix: &str,
) -> Result<Vec<String>, Error> {
    use futures::{StreamExt, TryStreamExt, stream};
    const TEXT: [&str; 6] = [".js", ".mjs", ".cjs", ".css", ".html", ".json"];
    let texts = source
        .files
        .iter()
        .filter(|(rel, _)| TEXT.iter().any(|ext| rel.ends_with(ext)));
    let read: Vec<(String, Vec<u8>)> = stream::iter(texts)
        .map(|(rel, file)| async move {
            let fetched = store.get(&file.key).await.map_err(Error::Remote)?;
            Ok::<_, Error>((rel.clone(), fetched.map(|f| f.bytes).unwrap_or_default()))
        })
        .buffered(16)
        .try_collect()
        .await?;
    Ok(names_own_path(&read, version_prefix))
}

/// Which of `files` name `version_prefix` (`checkout/v41/`) as a path.
fn names_own_path(files: &[(String, Vec<u8>)], version_prefix: &str) -> Vec<String> {
    let needle = format!("/{version_prefix}");
    files
        .iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(rel, _)| rel.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(version: &str, canary: Option<&str>) -> LiveEntry {
        let mut entry: LiveEntry = serde_json::from_value(serde_json::json!({
            "name": "checkout", "entry": "", "version": version, "integrity": "",
            "deployed": "", "commit": null, "previous": null,
        }))
        .unwrap();
        entry.canary = canary.map(|v| {
            serde_json::from_value(serde_json::json!({
                "version": v, "entry": "", "integrity": "", "percent": 10,
                "rollout": "r", "started": "",
            }))
            .unwrap()
        });
        entry
    }

    #[test]
    fn only_the_live_version_or_its_stem_is_republished_never_the_canary() {
        let ok = |l: &LiveEntry, asked: &str| live_label(Some(l), asked, "checkout").ok();
        let pair = |a: &str, b: &str| Some((a.to_owned(), b.to_owned()));
        assert_eq!(ok(&live("v41", None), "v41"), pair("v41", "v41"));
        assert_eq!(ok(&live("v41.r2", None), "v41"), pair("v41.r2", "v41"));
        assert_eq!(ok(&live("v41.r2", None), "v41.r2"), pair("v41.r2", "v41"));
        assert_eq!(
            ok(&live("v41", None), "v40"),
            None,
            "an earlier version: rollback-to"
        );
        assert_eq!(ok(&live("v41", Some("v42")), "v42"), None, "the canary");
        assert!(live_label(None, "v41", "checkout").is_err());
        assert_eq!(stem_of("build.r"), "build.r");
    }

    #[test]
    fn the_next_label_follows_the_highest_taken() {
        let labels = ["v41", "v41.r1", "v41.r3", "v42.r9", "v41.rx", "v41.r2.r1"];
        let labels = labels.iter().map(|s| (*s).to_owned());
        assert_eq!(next_number("v41", labels), 4);
        assert_eq!(next_number("v7", std::iter::empty()), 1);
    }

    #[test]
    fn a_build_naming_its_own_folder_cannot_move_a_relative_one_can() {
        let file = |rel: &str, text: &str| (rel.to_owned(), text.as_bytes().to_vec());
        let files = [
            file("remoteEntry.js", r#"__webpack_require__.p = "auto";"#),
            file("mf-manifest.json", r#"{"metaData":{"publicPath":"auto"}}"#),
            file("main.css", "url(./font.woff2)"),
        ];
        assert!(names_own_path(&files, "checkout/v41/").is_empty());
        let pinned = [
            file(
                "remoteEntry.js",
                r#"__webpack_require__.p = "/checkout/v41/";"#,
            ),
            file(
                "mf-manifest.json",
                r#"{"metaData":{"publicPath":"https://cdn.example.com/checkout/v41/"}}"#,
            ),
            file("index.html", r#"<script src="/checkout/v41.r1/x.js">"#),
        ];
        assert_eq!(
            names_own_path(&pinned, "checkout/v41/"),
            ["remoteEntry.js", "mf-manifest.json"]
        );
    }
}
