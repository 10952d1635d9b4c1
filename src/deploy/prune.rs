//! Retention after a deploy, and `mfe-deploy prune`: remove under the module's prefix
//! what no kept deploy record references.

use std::collections::BTreeSet;
use std::io::Write;

use crate::clock::Utc;
use crate::error::Error;
use crate::github::commands;
use crate::layout::Layout;
use crate::manifest;
use crate::record::{self, DeployRecord};
use crate::request::DeployRequest;
use crate::retention::{self, Policy, Protected, Prune};
use crate::store::ObjectStore;

/// Applies `policy` to the module of `layout`; returns how many objects were
/// deleted (0 in a dry run, which lists them). `pending` is the record of the deploy
/// being made when it is not written (a dry run): it counts as the newest.
pub async fn prune<S: ObjectStore>(
    store: &S,
    request: &DeployRequest,
    layout: &Layout,
    policy: &Policy,
    pending: Option<DeployRecord>,
    out: &mut dyn Write,
) -> Result<usize, Error> {
    let prefix = layout.prefix();
    let modules_dir = format!("{}modules/", layout.records_prefix());
    let history_dir = layout.history_dir(&request.manifest.native);
    let (listed, records, modules, history, live) = tokio::join!(
        store.list(prefix),
        record::list_records(store, layout, usize::MAX),
        store.list(&modules_dir),
        store.list(&history_dir),
        store.get(&request.manifest.native),
    );
    let listed: Vec<String> = listed
        .map_err(Error::Remote)?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| !layout.is_reserved(k))
        .collect();
    let records: Vec<_> = records
        .map_err(Error::Remote)?
        .into_iter()
        .map(|(_, r)| r)
        .chain(pending)
        .collect();
    let now = Utc::now();
    let mut protected = Protected {
        nested_modules: nested_modules(
            &modules
                .map_err(Error::Remote)?
                .into_iter()
                .map(|o| o.key)
                .collect::<Vec<_>>(),
            &modules_dir,
            layout,
        ),
        keys: manifest_keys(request),
        versions: BTreeSet::new(),
    };
    if let Some(live) = live
        .map_err(Error::Remote)?
        .and_then(|f| manifest::live(&f.bytes, layout.module()))
    {
        protected.versions.insert(live.version);
    }
    let window = policy.keep_days.map(|d| d.saturating_mul(86_400_000));
    let tag = format!("-{}-", layout.module().replace('/', "+"));
    for key in history.map_err(Error::Remote)?.into_iter().map(|o| o.key) {
        let Some(name) = key
            .strip_prefix(&history_dir)
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let (Some(time), Some((_, version))) = (
            name.split('-').next().and_then(Utc::parse_compact),
            name.split_once(&tag),
        ) else {
            continue;
        };
        if window.is_some_and(|w| now.millis - time.millis < i64::try_from(w).unwrap_or(i64::MAX)) {
            protected.versions.insert(version.to_owned());
        }
    }
    match retention::decide(prefix, &listed, &records, &protected, policy, now) {
        Prune::NoRecords => {
            writeln!(
                out,
                "retention: {} has no deploy records yet, so nothing is deleted",
                layout.module()
            )
            .map_err(Error::stdout)?;
            Ok(0)
        }
        Prune::OverCap { would, cap } => Err(Error::Retention(format!(
            "{would} object(s) under s3://{}/{prefix} are referenced by no kept deploy record, more than `max-deletions: {cap}`; nothing was deleted. Check `keep-versions`/`keep-days`, or raise `max-deletions` if that many should go",
            request.bucket
        ))),
        Prune::Delete {
            keys,
            kept_versions,
        } => {
            let verb = if request.dry_run {
                "would delete"
            } else {
                "deletes"
            };
            let mut text = format!(
                "retention: keeps version(s) {}; {verb} {} object(s) no kept record references\n",
                kept_versions.join(", "),
                keys.len()
            );
            for key in &keys {
                text.push_str(&format!("    {key}\n"));
            }
            write!(out, "{}", commands::inert(&text)).map_err(Error::stdout)?;
            if request.dry_run || keys.is_empty() {
                return Ok(0);
            }
            let outcome = store.delete(&keys).await.map_err(Error::Remote)?;
            for (key, why) in &outcome.failed {
                tracing::warn!("retention could not delete {key}: {why}");
            }
            Ok(outcome.deleted.len())
        }
    }
}

/// Prefixes of the other modules with records that lie inside this one's prefix.
fn nested_modules(keys: &[String], modules_dir: &str, layout: &Layout) -> Vec<String> {
    let mut names = BTreeSet::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(modules_dir) else {
            continue;
        };
        let module = ["/records/", "/latest.json", "/state.json"]
            .iter()
            .find_map(|marker| rest.find(marker).map(|i| &rest[..i]));
        if let Some(module) = module {
            names.insert(module.to_owned());
        }
    }
    names
        .into_iter()
        .filter(|m| m != layout.module())
        .map(|m| {
            if m == "~root" {
                String::new()
            } else {
                format!("{m}/")
            }
        })
        .filter(|p| !p.is_empty() && p.starts_with(layout.prefix()))
        .collect()
}

fn manifest_keys(request: &DeployRequest) -> BTreeSet<String> {
    let m = &request.manifest;
    [
        Some(&m.native),
        m.flat.as_ref(),
        m.import_map.as_ref(),
        m.module_federation.as_ref(),
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect()
}
