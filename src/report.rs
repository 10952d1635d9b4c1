//! Report: what a deploy did, for step outputs, the step summary and the terminal.

use std::time::Duration;

use crate::audit::Finding;
use crate::model::FileClass;
use crate::plan::Plan;

/// One row of the caching policy table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub class: FileClass,
    pub cache_control: String,
    pub files: Vec<String>,
}

/// How a module's deploy ended (`results[].status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Something was written.
    Deployed,
    /// Everything was already there.
    Unchanged,
    /// A dry run: the counts are what a deploy would do.
    Planned,
    /// The manifest points at an earlier version again.
    RolledBack,
    /// The deploy stopped; the counts are what it did before.
    Failed,
    /// A pull request's preview was published (its overlay names the build).
    Previewed,
    /// A pull request's preview ended: its overlay and files are gone.
    PreviewClosed,
    /// A canary started or moved: stable stays for the other users.
    Canary,
    /// The canary became the stable version for everyone.
    Promoted,
    /// The canary was removed: everyone gets the stable version.
    Aborted,
    /// A version's files were copied to a fresh label and the manifest moved to it.
    Republished,
    /// `doctor` checked the live files through `public-url`.
    Checked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployed => "deployed",
            Self::Unchanged => "unchanged",
            Self::Planned => "planned",
            Self::RolledBack => "rolled-back",
            Self::Failed => "failed",
            Self::Previewed => "previewed",
            Self::PreviewClosed => "preview-closed",
            Self::Canary => "canary",
            Self::Promoted => "promoted",
            Self::Aborted => "aborted",
            Self::Republished => "republished",
            Self::Checked => "checked",
        }
    }
}

/// The result of a deploy (or of a dry run: then the counts are what it would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub status: Status,
    /// Why the deploy failed (`status` is `Failed`).
    pub error: Option<String>,
    /// The version the newest deploy record names, before this deploy.
    pub previous_version: Option<String>,
    /// The deploy record this run wrote.
    pub record: Option<String>,
    /// The environment's `public-url`.
    pub environment_url: Option<String>,
    /// Versioned mode: the public URL of the discovery manifest.
    pub manifest_url: Option<String>,
    /// A pull request's preview: the link that opens the shell with it.
    pub preview_url: Option<String>,
    /// The module's canary (version, percent) while one is live after this run.
    pub canary: Option<(String, u8)>,
    /// `doctor`: what it checked and found.
    pub doctor: Option<crate::doctor::Findings>,
    pub package: String,
    pub environment: String,
    pub bucket: String,
    pub prefix: String,
    pub version: String,
    pub dry_run: bool,
    pub uploaded: usize,
    pub headers_updated: usize,
    /// Written by a server-side copy from another version: no byte sent.
    pub copied: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub bytes_uploaded: u64,
    pub duration: Duration,
    pub policy: Vec<PolicyRow>,
    /// JS/CSS without a content hash, relative to the repository root.
    pub unhashed_code: Vec<String>,
    pub entry_url: Option<String>,
    /// CloudFront invalidation id, when one was created.
    pub invalidation_id: Option<String>,
    /// Invalidated (or, in a dry run, planned) paths with the reason for each.
    pub invalidation_paths: Vec<(String, String)>,
    /// Distribution settings worth fixing.
    pub audit: Vec<Finding>,
    /// What the reference check covered, once it ran.
    pub references: Option<ReferenceCheck>,
}

/// The reference check of one module: the summary's "References" line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceCheck {
    /// References found present.
    pub checked: usize,
    /// The files they were read from, relative to the build.
    pub files: Vec<String>,
    /// What could not be checked, each naming its file.
    pub unchecked: Vec<String>,
}

impl ReferenceCheck {
    /// One line: `9 checked in mf-manifest.json, remoteEntry.js; 1 not checkable`.
    pub fn line(&self) -> String {
        let mut line = if self.files.is_empty() {
            "none: no mf-manifest.json, entry script or HTML in the build".to_owned()
        } else {
            format!("{} checked in {}", self.checked, self.files.join(", "))
        };
        if !self.unchecked.is_empty() {
            line.push_str(&format!("; {} not checkable", self.unchecked.len()));
        }
        line
    }
}

impl Report {
    /// Fills what the plan knows; counts are the plan's until an apply replaces them.
    pub fn from_plan(plan: &Plan, package: &str, environment: &str, dist_display: &str) -> Self {
        let counts = plan.counts();
        Self {
            uploaded: counts.uploaded,
            headers_updated: counts.headers_only,
            copied: counts.copied,
            unchanged: counts.unchanged,
            bytes_uploaded: counts.bytes,
            policy: plan
                .policy_table()
                .into_iter()
                .map(|(class, cache_control, files)| PolicyRow {
                    class,
                    cache_control,
                    files: files.into_iter().map(str::to_owned).collect(),
                })
                .collect(),
            unhashed_code: plan
                .unhashed_code()
                .into_iter()
                .map(|p| format!("{dist_display}/{p}"))
                .collect(),
            ..Self::empty(
                package,
                environment,
                &plan.bucket,
                &plan.prefix,
                &plan.version,
            )
        }
    }

    /// A run refused after planning: nothing was applied, so nothing counts as
    /// uploaded, updated or unchanged, and it is no dry run.
    pub fn forget_plan_counts(&mut self) {
        self.uploaded = 0;
        self.headers_updated = 0;
        self.copied = 0;
        self.unchanged = 0;
        self.bytes_uploaded = 0;
        self.dry_run = false;
    }

    /// A report with nothing done yet, for a run without a build (a rollback).
    pub fn empty(
        package: &str,
        environment: &str,
        bucket: &str,
        prefix: &str,
        version: &str,
    ) -> Self {
        Self {
            status: Status::Planned,
            error: None,
            previous_version: None,
            record: None,
            environment_url: None,
            manifest_url: None,
            preview_url: None,
            canary: None,
            doctor: None,
            package: package.to_owned(),
            environment: environment.to_owned(),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            version: version.to_owned(),
            dry_run: true,
            uploaded: 0,
            headers_updated: 0,
            copied: 0,
            unchanged: 0,
            deleted: 0,
            bytes_uploaded: 0,
            duration: Duration::ZERO,
            policy: Vec::new(),
            unhashed_code: Vec::new(),
            entry_url: None,
            invalidation_id: None,
            invalidation_paths: Vec::new(),
            audit: Vec::new(),
            references: None,
        }
    }

    /// The paths actually invalidated, as a JSON array (`[]` when none or a dry run).
    pub fn invalidated_paths_json(&self) -> String {
        let paths: Vec<&str> = if self.invalidation_id.is_some() {
            self.invalidation_paths
                .iter()
                .map(|(p, _)| p.as_str())
                .collect()
        } else {
            Vec::new()
        };
        serde_json::to_string(&paths).unwrap_or_else(|_| "[]".to_owned())
    }

    /// The deploy changed the bucket or the CDN: files, headers, deletions, a deploy
    /// record (a versioned deploy moving the manifest writes one) or an invalidation.
    /// A dry run counts what it would write, and writes nothing.
    pub fn wrote(&self) -> bool {
        !self.dry_run
            && (self.uploaded + self.headers_updated + self.copied + self.deleted > 0
                || self.record.is_some()
                || self.invalidation_id.is_some())
    }

    /// This module's entry of the `results` output.
    pub fn result(&self) -> serde_json::Value {
        let (uploaded, bytes) = (self.uploaded, self.bytes_uploaded);
        serde_json::json!({
            "package": self.package,
            "prefix": self.prefix,
            "environment": self.environment,
            "version": self.version,
            "status": self.status.as_str(),
            "uploaded": uploaded,
            "headers-updated": self.headers_updated,
            "copied": self.copied,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "bytes-uploaded": bytes,
            "entry-url": self.entry_url.clone().unwrap_or_default(),
            "invalidation-id": self.invalidation_id.clone().unwrap_or_default(),
            "previous-version": self.previous_version.clone().unwrap_or_default(),
            "manifest-url": self.manifest_url.clone().unwrap_or_default(),
            "preview-url": self.preview_url.clone().unwrap_or_default(),
            "canary": self.canary.as_ref().map(|(version, percent)| {
                serde_json::json!({"version": version, "percent": percent})
            }),
            "error": self.error,
        })
    }

    /// Step outputs, named as in action.yml. In a dry run nothing was sent: the
    /// counts of what would be are in `results` (status `planned`).
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let planned = self.status == Status::Planned;
        let sent = |n: String| if planned { "0".to_owned() } else { n };
        vec![
            ("environment", self.environment.clone()),
            ("skipped", "false".to_owned()),
            ("version", self.version.clone()),
            (
                "invalidation-id",
                self.invalidation_id.clone().unwrap_or_default(),
            ),
            ("invalidation-paths", self.invalidated_paths_json()),
            ("uploaded", sent(self.uploaded.to_string())),
            ("headers-updated", sent(self.headers_updated.to_string())),
            ("unchanged", self.unchanged.to_string()),
            ("deleted", self.deleted.to_string()),
            ("bytes-uploaded", sent(self.bytes_uploaded.to_string())),
            ("entry-url", self.entry_url.clone().unwrap_or_default()),
            (
                "manifest-url",
                self.manifest_url.clone().unwrap_or_default(),
            ),
            (
                "previous-version",
                self.previous_version.clone().unwrap_or_default(),
            ),
            (
                "environment-url",
                self.environment_url.clone().unwrap_or_default(),
            ),
            ("preview-url", self.preview_url.clone().unwrap_or_default()),
            ("results", results_json(&[self.result()])),
        ]
    }
}

/// Step outputs of a `packages` run: counts summed over the modules, the
/// invalidations they shared, and per module everything in `results`. Values that
/// belong to one module (`entry-url`) are empty; `version` and `manifest-url` are
/// set when every module has the same.
pub fn many_outputs(
    environment: &str,
    environment_url: Option<&str>,
    reports: &[&Report],
    results: &[serde_json::Value],
) -> Vec<(&'static str, String)> {
    let planned = !reports.is_empty() && reports.iter().all(|r| r.status == Status::Planned);
    let sum = |f: fn(&Report) -> u64| reports.iter().map(|r| f(r)).sum::<u64>().to_string();
    let sent = |n: String| if planned { "0".to_owned() } else { n };
    let same = |f: fn(&Report) -> Option<String>| {
        let mut values = reports.iter().map(|r| f(r));
        let first = values.next().flatten();
        if values.all(|v| v == first) {
            first.unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut ids: Vec<&str> = reports
        .iter()
        .filter_map(|r| r.invalidation_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut paths: Vec<&str> = reports
        .iter()
        .filter(|r| r.invalidation_id.is_some())
        .flat_map(|r| r.invalidation_paths.iter().map(|(p, _)| p.as_str()))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    vec![
        ("environment", environment.to_owned()),
        ("skipped", "false".to_owned()),
        ("version", same(|r| Some(r.version.clone()))),
        ("invalidation-id", ids.join(" ")),
        (
            "invalidation-paths",
            serde_json::to_string(&paths).unwrap_or_else(|_| "[]".to_owned()),
        ),
        ("uploaded", sent(sum(|r| r.uploaded as u64))),
        ("headers-updated", sent(sum(|r| r.headers_updated as u64))),
        ("unchanged", sum(|r| r.unchanged as u64)),
        ("deleted", sum(|r| r.deleted as u64)),
        ("bytes-uploaded", sent(sum(|r| r.bytes_uploaded))),
        ("entry-url", String::new()),
        ("manifest-url", same(|r| r.manifest_url.clone())),
        ("preview-url", same(|r| r.preview_url.clone())),
        ("previous-version", String::new()),
        (
            "environment-url",
            environment_url.unwrap_or_default().to_owned(),
        ),
        ("results", results_json(results)),
    ]
}

/// The `results` output: one object per module.
pub fn results_json(results: &[serde_json::Value]) -> String {
    serde_json::to_string(results).unwrap_or_else(|_| "[]".to_owned())
}

/// The `results` entry of a module that failed before a plan existed.
pub fn failed_result(package: &str, environment: &str, error: &str) -> serde_json::Value {
    serde_json::json!({
        "package": package,
        "environment": environment,
        "status": "failed",
        "uploaded": 0,
        "headers-updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "bytes-uploaded": 0,
        "error": error,
    })
}

/// Step outputs of a run that failed before it had a plan: nothing was written. One
/// `results` entry per module.
pub fn failed_outputs(packages: &[&str], error: &str) -> Vec<(&'static str, String)> {
    let mut outputs = empty_outputs();
    outputs.push(("skipped", "false".to_owned()));
    let results: Vec<serde_json::Value> = packages
        .iter()
        .map(|package| failed_result(package, "", error))
        .collect();
    outputs.push(("results", results_json(&results)));
    outputs
}

/// Step outputs of a skipped run: nothing deployed, one `results` entry per module.
pub fn skipped_outputs(packages: &[&str], reason: &str) -> Vec<(&'static str, String)> {
    let mut outputs = empty_outputs();
    outputs.push(("skipped", "true".to_owned()));
    let results: Vec<serde_json::Value> = packages
        .iter()
        .map(|package| {
            serde_json::json!({
                "package": package,
                "status": "skipped",
                "reason": reason,
            })
        })
        .collect();
    outputs.push(("results", results_json(&results)));
    outputs
}

/// Every output but `skipped` and `results`, for a run that deployed nothing.
fn empty_outputs() -> Vec<(&'static str, String)> {
    let mut outputs: Vec<(&'static str, String)> = [
        "environment",
        "version",
        "invalidation-id",
        "entry-url",
        "manifest-url",
        "previous-version",
        "environment-url",
        "preview-url",
    ]
    .into_iter()
    .map(|name| (name, String::new()))
    .collect();
    outputs.push(("invalidation-paths", "[]".to_owned()));
    for count in [
        "uploaded",
        "headers-updated",
        "unchanged",
        "deleted",
        "bytes-uploaded",
    ] {
        outputs.push((count, "0".to_owned()));
    }
    outputs
}

/// The files a module's entry can be, in order of preference: the federation entry,
/// a Module Federation 2 manifest, a shell's page.
pub const ENTRY_FILES: [&str; 3] = ["remoteEntry.js", "mf-manifest.json", "index.html"];

/// The module's entry among `paths` (relative to the dist folder).
pub fn entry_file<'a>(paths: impl Iterator<Item = &'a str> + Clone) -> Option<&'static str> {
    ENTRY_FILES
        .into_iter()
        .find(|name| paths.clone().any(|p| p == *name))
}

/// The public URL of a key: `public-url` + key, or root-relative without one.
pub fn public_url_of(public_url: Option<&str>, key: &str) -> String {
    match public_url {
        Some(base) => format!("{}/{key}", base.trim_end_matches('/')),
        None => format!("/{key}"),
    }
}

/// The public URL of the module's entry: `remoteEntry.js`, else the shell's `index.html`.
pub fn entry_url(public_url: Option<&str>, prefix: &str, plan: &Plan) -> Option<String> {
    public_url?;
    let has = |name: &str| plan.files.iter().any(|f| f.rel_path == name);
    let entry = ["remoteEntry.js", "index.html"]
        .into_iter()
        .find(|n| has(n))?;
    Some(public_url_of(public_url, &format!("{prefix}{entry}")))
}
