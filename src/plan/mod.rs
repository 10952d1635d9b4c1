//! Plan: compare the build with what the bucket holds and decide, per file, what to do.
//!
//! Pure and deterministic: the same inputs give the same plan, which `plan`/`dry-run`
//! print and `deploy` executes.

mod render;
pub use render::{Detail, human_bytes};
mod remote;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::classify::Classifier;
use crate::model::{FileClass, Headers, Phase};
use crate::references::Reference;
use crate::scan::{Digest, EtagMatch, LocalFile};
use crate::state::{DeployState, FORMAT, FileRecord};

pub use remote::RemoteView;

/// What happens to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Bytes are sent.
    Upload(UploadReason),
    /// Bytes are already there; only `Cache-Control`/`Content-Type` change.
    HeadersOnly { previous: Option<Headers> },
    /// The same bytes are in the bucket under another key (another version's):
    /// copied there server-side, conditional on that object's ETag.
    Copy { source: String, source_etag: String },
    /// Nothing to do.
    Unchanged,
}

/// Why a file is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadReason {
    /// The key does not exist yet.
    New,
    /// The key holds other bytes.
    Changed,
    /// The key's ETag cannot be compared with local bytes.
    Unverifiable,
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Upload(UploadReason::New) => "upload (new)",
            Self::Upload(UploadReason::Changed) => "upload (changed)",
            Self::Upload(UploadReason::Unverifiable) => "upload (unverifiable)",
            Self::HeadersOnly { .. } => "headers-only",
            Self::Copy { .. } => "copy (server-side)",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One file's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub rel_path: String,
    pub key: String,
    pub abs_path: PathBuf,
    pub digest: Digest,
    pub class: FileClass,
    pub headers: Headers,
    /// JS/CSS served short-lived because its name carries no content hash.
    pub unhashed_code: bool,
    /// Served immutable, so written once: never rewritten with other bytes.
    pub immutable: bool,
    pub action: Action,
    /// The ETag the listing showed for the key (a header-only copy is conditional
    /// on it), when there is an object.
    pub remote_etag: Option<String>,
}

/// A content-hashed key that already holds other bytes: deploying would break the
/// promise that its URL always serves the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub rel_path: String,
    pub key: String,
    /// The ETag could not be compared at all (rather than compared and found different).
    pub unverifiable: bool,
}

/// The whole deploy, decided.
#[derive(Debug, Clone)]
pub struct Plan {
    pub bucket: String,
    pub prefix: String,
    pub version: String,
    /// Sorted by phase, then path.
    pub files: Vec<PlannedFile>,
    pub conflicts: Vec<Conflict>,
    pub previous_state: DeployState,
    /// Versioned mode: every key is written once (`If-None-Match: *`) and never
    /// rewritten, whatever its class.
    pub write_once: bool,
    /// Whether a file can be sent from the runner (a copy the store fails falls back
    /// to sending it); `false` when the bytes are only in the bucket (a republish).
    pub from_runner: bool,
    /// Whether the phases go up one after another (chunks, then entries, then HTML).
    /// A version that nothing names yet is written at once: nobody can load it
    /// before the manifest points at it.
    pub staged: bool,
    /// Per phase, the references of the files it publishes that no earlier step of
    /// this deploy writes: each must still be in the bucket when the phase starts
    /// (another writer may have removed it since the listing).
    pub guards: BTreeMap<Phase, Vec<Reference>>,
}

/// Counts for outputs and reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub uploaded: usize,
    pub headers_only: usize,
    /// Copied server-side: written, but no byte sent.
    pub copied: usize,
    pub unchanged: usize,
    pub bytes: u64,
}

/// Builds the in-place plan from the scanned build and the remote view.
pub fn build_plan(
    files: &[LocalFile],
    classifier: &Classifier,
    bucket: &str,
    prefix: &str,
    version: &str,
    remote: &RemoteView,
) -> Plan {
    plan_files(files, classifier, bucket, prefix, version, remote, false)
}

/// Builds the plan of a versioned deploy under `version_prefix`: every file is
/// served immutable (the entries too: their URL changes with the version) and
/// written once; a key of the version that holds other bytes is a conflict. The
/// classes still decide the order.
pub fn build_versioned_plan(
    files: &[LocalFile],
    classifier: &Classifier,
    bucket: &str,
    version_prefix: &str,
    version: &str,
    remote: &RemoteView,
) -> Plan {
    plan_files(
        files,
        classifier,
        bucket,
        version_prefix,
        version,
        remote,
        true,
    )
}

fn plan_files(
    files: &[LocalFile],
    classifier: &Classifier,
    bucket: &str,
    prefix: &str,
    version: &str,
    remote: &RemoteView,
    write_once: bool,
) -> Plan {
    let mut planned = Vec::with_capacity(files.len());
    let mut conflicts = Vec::new();
    for file in files {
        let key = format!("{prefix}{}", file.rel_path);
        let mut classification = classifier.classify(&file.rel_path);
        if write_once {
            classification.headers.cache_control =
                classifier.policy(FileClass::Immutable).to_owned();
        }
        let action = match remote.content(&key, &file.rel_path, file) {
            None => Action::Upload(UploadReason::New),
            // A version is never rewritten, not even its headers.
            Some(EtagMatch::Same) if write_once => Action::Unchanged,
            Some(EtagMatch::Same) => match remote.headers(&key, &file.rel_path) {
                Some(current) if *current == classification.headers => Action::Unchanged,
                previous => Action::HeadersOnly {
                    previous: previous.cloned(),
                },
            },
            Some(found) => {
                if write_once || classification.immutable {
                    conflicts.push(Conflict {
                        rel_path: file.rel_path.clone(),
                        key: key.clone(),
                        unverifiable: found == EtagMatch::Unknown,
                    });
                }
                Action::Upload(match found {
                    EtagMatch::Unknown => UploadReason::Unverifiable,
                    _ => UploadReason::Changed,
                })
            }
        };
        let remote_etag = remote
            .etag(&key)
            .filter(|e| !e.is_empty())
            .map(str::to_owned);
        planned.push(PlannedFile {
            rel_path: file.rel_path.clone(),
            key,
            abs_path: file.abs_path.clone(),
            digest: file.digest.clone(),
            class: classification.class,
            headers: classification.headers,
            unhashed_code: classification.unhashed_code,
            immutable: write_once || classification.immutable,
            action,
            remote_etag,
        });
    }
    planned.sort_by(|a, b| (a.class.phase(), &a.rel_path).cmp(&(b.class.phase(), &b.rel_path)));
    Plan {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        version: version.to_owned(),
        files: planned,
        conflicts,
        previous_state: remote.state().clone(),
        write_once,
        from_runner: true,
        staged: true,
        guards: BTreeMap::new(),
    }
}

/// The largest object one CopyObject request copies (S3's limit).
const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// Objects the bucket holds, by content (size and SHA-256): the key and ETag of
/// each, as a deploy record names them.
#[derive(Debug, Clone, Default)]
pub struct CopySources(BTreeMap<(u64, String), (String, String)>);

impl CopySources {
    pub fn insert(&mut self, size: u64, sha256: &str, key: &str, etag: &str) {
        self.0
            .insert((size, sha256.to_owned()), (key.to_owned(), etag.to_owned()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Plan {
    /// Each key this plan creates whose bytes `sources` holds under another key is
    /// copied from there server-side instead of sent from the runner.
    pub fn copy_from(&mut self, sources: &CopySources) {
        for file in &mut self.files {
            if file.action != Action::Upload(UploadReason::New) || file.digest.size > MAX_COPY {
                continue;
            }
            let content = (file.digest.size, file.digest.sha256_hex());
            if let Some((source, source_etag)) = sources.0.get(&content)
                && *source != file.key
            {
                file.action = Action::Copy {
                    source: source.clone(),
                    source_etag: source_etag.clone(),
                };
            }
        }
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for file in &self.files {
            match file.action {
                Action::Upload(_) => {
                    counts.uploaded += 1;
                    counts.bytes += file.digest.size;
                }
                Action::HeadersOnly { .. } => counts.headers_only += 1,
                Action::Copy { .. } => counts.copied += 1,
                Action::Unchanged => counts.unchanged += 1,
            }
        }
        counts
    }

    /// Files of one phase that need a request, in the order they may go up: a
    /// phase's files go in waves, and a file that names another comes in a later
    /// wave than the one it names (`mf-manifest.json` names `remoteEntry.js`).
    /// An unstaged plan writes every file in the first phase's first wave, the
    /// entries first, then HTML (a run reads its entries back while the rest go up).
    pub fn waves(&self, phase: Phase) -> [Vec<&PlannedFile>; 2] {
        let mut waves: [Vec<&PlannedFile>; 2] = [Vec::new(), Vec::new()];
        let written = self.files.iter().filter(|f| f.action != Action::Unchanged);
        for file in written {
            if !self.staged {
                if phase == Phase::Assets {
                    waves[0].push(file);
                }
            } else if file.class.phase() == phase {
                waves[usize::from(names_other_entries(&file.rel_path))].push(file);
            }
        }
        if !self.staged {
            // The entries the run reads back first, then HTML, then the rest.
            waves[0].sort_by_key(|f| match f.class.phase() {
                Phase::Entries => 0,
                Phase::Html => 1,
                Phase::Assets => 2,
            });
        }
        waves
    }

    /// The references checked before `phase` starts: an unstaged plan checks them
    /// all before its one wave.
    pub fn guards_of(&self, phase: Phase) -> Vec<&Reference> {
        match (self.staged, phase) {
            (true, _) => self.guards.get(&phase).into_iter().flatten().collect(),
            (false, Phase::Assets) => self.guards.values().flatten().collect(),
            (false, _) => Vec::new(),
        }
    }

    /// Sets the guards from the build's references: a reference of a file this plan
    /// writes is guarded in that file's phase, unless this plan writes its target in
    /// the same phase or before.
    pub fn guard(&mut self, references: &[Reference]) {
        let written = self.files.iter().filter(|f| f.action != Action::Unchanged);
        // The phase each written file goes up in, by key and by path.
        let by_key: BTreeMap<&str, Phase> = written
            .clone()
            .map(|f| (f.key.as_str(), f.class.phase()))
            .collect();
        let by_path: BTreeMap<&str, Phase> = written
            .map(|f| (f.rel_path.as_str(), f.class.phase()))
            .collect();
        let mut guards: BTreeMap<Phase, Vec<Reference>> = BTreeMap::new();
        for reference in references {
            let Some(&phase) = by_path.get(reference.from.as_str()) else {
                continue;
            };
            if by_key
                .get(reference.key.as_str())
                .is_some_and(|p| *p <= phase)
            {
                continue;
            }
            guards.entry(phase).or_default().push(reference.clone());
        }
        self.guards = guards;
    }

    /// Files served with each (class, `Cache-Control`): the policy table of the report.
    pub fn policy_table(&self) -> Vec<(FileClass, String, Vec<&str>)> {
        let mut table: BTreeMap<(FileClass, &str), Vec<&str>> = BTreeMap::new();
        for file in &self.files {
            table
                .entry((file.class, file.headers.cache_control.as_str()))
                .or_default()
                .push(file.rel_path.as_str());
        }
        table
            .into_iter()
            .map(|((class, cache_control), files)| (class, cache_control.to_owned(), files))
            .collect()
    }

    /// Paths of JS/CSS files without a content hash in their names.
    pub fn unhashed_code(&self) -> Vec<&str> {
        self.files
            .iter()
            .filter(|f| f.unhashed_code)
            .map(|f| f.rel_path.as_str())
            .collect()
    }

    /// The state after a successful apply; `etags` holds the ETag S3 returned for
    /// every key written (uploads and header rewrites).
    pub fn next_state(&self, etags: &BTreeMap<String, String>, listed: &RemoteView) -> DeployState {
        let mut files = self.previous_state.files.clone();
        for file in &self.files {
            let previous = self.previous_state.files.get(&file.rel_path);
            let record = self.file_record(file, etags, listed, previous);
            files.insert(file.rel_path.clone(), record);
        }
        DeployState {
            format: FORMAT,
            version: self.version.clone(),
            files,
            record: None,
        }
    }

    /// The state a versioned apply leaves: this version's files alone, each named
    /// relative to the module's prefix `module_prefix` (`<version>/<path>`), as an
    /// in-place state names the objects under it.
    pub fn version_state(
        &self,
        module_prefix: &str,
        etags: &BTreeMap<String, String>,
        listed: &RemoteView,
    ) -> DeployState {
        let files = self
            .files
            .iter()
            .filter_map(|file| {
                let rel = file.key.strip_prefix(module_prefix)?;
                Some((rel.to_owned(), self.file_record(file, etags, listed, None)))
            })
            .collect();
        DeployState {
            format: FORMAT,
            version: self.version.clone(),
            files,
            record: None,
        }
    }

    /// What the state says of a file after the apply: its ETag as written now, else
    /// as listed, else (stores that list no ETags) as recorded, else as computed.
    fn file_record(
        &self,
        file: &PlannedFile,
        etags: &BTreeMap<String, String>,
        listed: &RemoteView,
        previous: Option<&FileRecord>,
    ) -> FileRecord {
        let etag = etags
            .get(&file.key)
            .cloned()
            .or_else(|| {
                listed
                    .etag(&file.key)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
            })
            .or_else(|| previous.map(|r| r.etag.clone()))
            .unwrap_or_else(|| file.digest.expected_etag());
        FileRecord {
            etag: etag.trim_matches('"').to_owned(),
            sha256: file.digest.sha256_hex(),
            size: file.digest.size,
            headers: file.headers.clone(),
            last_version: self.version.clone(),
        }
    }
}

/// Whether a published file names other entries of its build, so that it must be
/// stored after them: `mf-manifest.json` names the remote entry (`metaData.remoteEntry`).
fn names_other_entries(rel_path: &str) -> bool {
    rel_path.rsplit('/').next() == Some("mf-manifest.json")
}

#[cfg(test)]
mod tests;
