//! One module's `doctor` run: what is live (from the manifest and the records), each
//! of its files fetched through `public-url`, the wrong ones reported and, when
//! asked, invalidated.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use super::{Context, Failed};
use crate::cdn::Cdn;
use crate::classify::Classifier;
use crate::config::Config;
use crate::doctor::fetch::{Checked, check_all};
use crate::doctor::{Expected, Findings, Wrong};
use crate::error::Error;
use crate::http::HttpClient;
use crate::invalidate::{InvalidationPlan, caller_reference, invalidate};
use crate::layout::Layout;
use crate::model::FileClass;
use crate::record::{self, DeployRecord};
use crate::report::{Report, Status, public_url_of};
use crate::request::{DeployRequest, Doctor, InputError, Mode};
use crate::store::ObjectStore;

/// A live version and the record that names its files.
struct Live {
    /// `stable <version>`, `canary <version>`, `preview #N <version>`.
    label: String,
    record: DeployRecord,
}

/// Checks the module `request` names; `Err` (exit 1) when any file is served wrong.
pub async fn run<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    how: Doctor,
    out: &mut dyn Write,
) -> Result<Report, Failed> {
    let public = request.public_url.as_deref().ok_or_else(|| InputError::Missing {
        name: "public-url",
        hint: "doctor fetches every live file the way a browser does: set `public-url` (or the environment's `public-url` in mfe-deploy.yml)".to_owned(),
    })?;
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;
    let (live, unchecked) = live_versions(ctx.store, request, &layout)
        .await
        .map_err(Error::Remote)?;
    let classifier =
        Classifier::new(&config.caching).map_err(|e| Error::Internal(e.to_string()))?;
    let mut seen = BTreeSet::new();
    let expected: Vec<Expected> = live
        .iter()
        .flat_map(|l| expected_of(&l.record, &classifier, public))
        .filter(|e| seen.insert(e.url.clone()))
        .collect();
    let version = live
        .first()
        .map_or(String::new(), |l| l.record.version.clone());
    let mut report = Report::empty(
        &request.package.display().to_string(),
        &request.environment,
        &request.bucket,
        layout.prefix(),
        &version,
    );
    report.dry_run = false;
    report.status = Status::Checked;
    report.environment_url = Some(public.to_owned());
    let versions: Vec<String> = live.iter().map(|l| l.label.clone()).collect();
    let say = |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(Error::stdout);
    say(
        out,
        format!(
            "doctor: {} ({}): {} file(s) of {} through {public}",
            layout.module(),
            request.environment,
            expected.len(),
            if versions.is_empty() {
                "nothing live".to_owned()
            } else {
                versions.join(", ")
            }
        ),
    )?;
    let client = HttpClient::new().map_err(|e| Error::Internal(e.to_string()))?;
    let checked = check_all(&client, expected).await;
    let wrong: Vec<&Checked> = checked.iter().filter(|c| !c.problems.is_empty()).collect();
    for c in &wrong {
        say(out, format!("  WRONG {}", line_of(c)))?;
    }
    for why in &unchecked {
        say(out, format!("  UNCHECKED {why}"))?;
    }
    say(
        out,
        format!(
            "{} of {} served wrong. A cache at another edge location may hold something else than the one this runner reached.",
            wrong.len(),
            checked.len()
        ),
    )?;
    report.unchanged = checked.len() - wrong.len();
    report.doctor = Some(Findings {
        checked: checked.len(),
        versions,
        wrong: wrong.iter().map(|c| wrong_of(c)).collect(),
        unchecked,
    });
    if how == Doctor::Invalidate && !wrong.is_empty() {
        let keys: Vec<&str> = wrong.iter().map(|c| c.expected.key.as_str()).collect();
        if let Err(error) =
            invalidate_wrong(ctx, request, config, &layout, &keys, &mut report).await
        {
            return Err(Failed {
                report: Some(Box::new(report)),
                error,
            });
        }
    }
    if wrong.is_empty() {
        return Ok(report);
    }
    let error = Error::Doctor {
        wrong: wrong.len(),
        checked: checked.len(),
        public: public.to_owned(),
    };
    Err(Failed {
        report: Some(Box::new(report)),
        error,
    })
}

/// What is live of the module: in place, its newest record's build; versioned, the
/// manifest's version and canary, and the live previews' versions; each with the
/// newest record of that version that names its files. And what could not be
/// checked (a live version without such a record).
async fn live_versions<S: ObjectStore>(
    store: &S,
    request: &DeployRequest,
    layout: &Layout,
) -> Result<(Vec<Live>, Vec<String>), crate::store::StoreError> {
    let module = layout.module();
    let (mut live, mut unchecked) = (Vec::new(), Vec::new());
    let native = store.get(&request.manifest.native).await?;
    let entry = native
        .as_ref()
        .and_then(|f| crate::manifest::live(&f.bytes, module));
    let mut wanted: Vec<(String, Layout, Option<String>)> = Vec::new();
    match (&entry, request.mode) {
        (Some(entry), _) => {
            wanted.push((
                format!("stable {}", entry.version),
                layout.clone(),
                Some(entry.version.clone()),
            ));
            if let Some(canary) = &entry.canary {
                let label = format!("canary {} ({}%)", canary.version, canary.percent);
                wanted.push((label, layout.clone(), Some(canary.version.clone())));
            }
        }
        (None, Mode::InPlace) => wanted.push(("live".to_owned(), layout.clone(), None)),
        (None, Mode::Versioned) => {}
    }
    for (number, version) in crate::live::previews(store, &request.manifest.native, module).await? {
        let label = format!("preview #{number} {version}");
        wanted.push((label, layout.for_preview(number), Some(version)));
    }
    // Each records folder is listed once (the stable version and the canary share one).
    let mut listed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (label, records_of, version) in wanted {
        let keys = match listed.entry(records_of.records_dir()) {
            Entry::Occupied(keys) => keys.into_mut(),
            Entry::Vacant(slot) => slot.insert(record::record_keys(store, &records_of).await?),
        };
        match newest_with_files(store, &records_of, keys, version.as_deref()).await? {
            Some(record) => {
                let label = match version {
                    Some(_) => label,
                    None => format!("live {}", record.version),
                };
                live.push(Live { label, record });
            }
            None => unchecked.push(format!(
                "{label}: no deploy record names its files under s3://{}/{}",
                request.bucket,
                records_of.records_dir()
            )),
        }
    }
    Ok((live, unchecked))
}

/// The newest of the records at `keys` (newest first; of `version`, when given)
/// that names files.
async fn newest_with_files<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    keys: &[String],
    version: Option<&str>,
) -> Result<Option<DeployRecord>, crate::store::StoreError> {
    let of_version = keys
        .iter()
        .filter(|k| version.is_none_or(|v| layout.record_version(k) == Some(v)));
    for key in of_version {
        let record = store
            .get(key)
            .await?
            .and_then(|f| DeployRecord::from_json(&f.bytes));
        if let Some(record) = record.filter(|r| !r.files.is_empty()) {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

/// What each file of `record` must serve: its bytes, and the headers its deploy
/// gave it (a version's files are all immutable).
fn expected_of(record: &DeployRecord, classifier: &Classifier, public: &str) -> Vec<Expected> {
    record
        .files
        .iter()
        .map(|(rel, file)| {
            let classification = classifier.classify(rel);
            let cache_control = if record.mode == "versioned" {
                classifier.policy(FileClass::Immutable).to_owned()
            } else {
                classification.headers.cache_control
            };
            Expected {
                url: public_url_of(Some(public), &file.key),
                key: file.key.clone(),
                size: file.size,
                sha256: file.sha256.clone(),
                etag: file.etag.clone(),
                content_type: classification.headers.content_type,
                cache_control,
            }
        })
        .collect()
}

fn wrong_of(checked: &Checked) -> Wrong {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    Wrong {
        url: checked.expected.url.clone(),
        problems: checked.problems.iter().map(ToString::to_string).collect(),
        age: or_dash(&checked.observed.age),
        x_cache: or_dash(&checked.observed.x_cache),
        pop: or_dash(&checked.observed.pop),
    }
}

fn line_of(checked: &Checked) -> String {
    let w = wrong_of(checked);
    format!(
        "{}: {} (Age: {}, X-Cache: {}, POP: {})",
        w.url,
        w.problems.join("; "),
        w.age,
        w.x_cache,
        w.pop
    )
}

/// Invalidates exactly `keys` on the module's distribution (its own prefix at once
/// when they are more than one request takes).
async fn invalidate_wrong<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    layout: &Layout,
    keys: &[&str],
    report: &mut Report,
) -> Result<(), Error> {
    let (Some(cdn), Some(id)) = (ctx.cdn, request.distribution_id.as_deref()) else {
        return Err(InputError::Missing {
            name: "distribution-id",
            hint: "`doctor: invalidate` (`--invalidate`) invalidates on the environment's CloudFront distribution: set `distribution-id`".to_owned(),
        }
        .into());
    };
    let distribution = cdn.distribution(id).await.map_err(Error::Cdn)?;
    let bucket = &request.bucket;
    let why = "served wrong through public-url (doctor)";
    let urls = keys
        .iter()
        .filter_map(|key| {
            distribution
                .url_of(bucket, key)
                .map(|u| (u, why.to_owned()))
        })
        .collect();
    let root = distribution
        .url_of(bucket, layout.prefix())
        .unwrap_or_default();
    let plan = InvalidationPlan::of_urls(urls).with_owed(&[], &root);
    let reference = caller_reference(&ctx.run_identity, layout.prefix(), &plan.encoded());
    let sending = crate::invalidate::batch::Sending::new(
        ctx.run_identity.clone(),
        request.wait,
        config.invalidation.wait_timeout,
    );
    let done = invalidate(cdn, id, &plan, &reference, sending.policy, sending.wait).await?;
    report.invalidation_id = Some(done.id);
    report.invalidation_paths = plan.explain();
    Ok(())
}
