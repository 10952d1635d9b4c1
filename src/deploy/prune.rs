//! Retention after a deploy, and `mfe-deploy prune`: remove under the module's prefix
//! what no kept deploy record references.

use std::collections::BTreeSet;
use std::io::Write;

use crate::clock::Utc;
use crate::error::Error;
use crate::github::commands;
use crate::layout::Layout;
use crate::live;
use crate::record::{self, DeployRecord};
use crate::request::{DeployRequest, Mode};
use crate::retention::{self, Policy, Protected, Prune};
use crate::store::{ObjectStore, RemoteObject};

/// Applies `policy` to the module of `layout`; returns how many objects were
/// deleted (0 in a dry run, which lists them). `pending` is the record of the deploy
/// being made when it is not written (a dry run): it counts as the newest. Whatever
/// the policy, nothing [`live`](crate::live) protects is deleted.
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
    let (listed, records, modules) = tokio::join!(
        store.list(prefix),
        record::list_records(store, layout, usize::MAX),
        store.list(&modules_dir),
    );
    let listed: Vec<RemoteObject> = listed
        .map_err(Error::Remote)?
        .into_iter()
        .filter(|o| !layout.is_reserved(&o.key))
        .collect();
    let stored: Vec<DeployRecord> = records
        .map_err(Error::Remote)?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let versioned = request.mode == Mode::Versioned || stored.iter().any(|r| r.mode == "versioned");
    // NOTE: what is live is read after the listing: an intent written after it
    // names objects the listing cannot hold, and one written before it is seen here.
    let newest_record = live::newest(&stored).and_then(|r| Utc::parse_rfc3339(&r.time));
    let records: Vec<DeployRecord> = stored.into_iter().chain(pending).collect();
    let live = live::read(
        store,
        layout,
        &request.manifest.native,
        &records,
        newest_record,
        versioned,
    )
    .await
    .map_err(Error::Remote)?;
    let now = Utc::now();
    let protected = Protected {
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
        versions: if versioned {
            history_versions(store, request, layout, policy, now).await?
        } else {
            BTreeSet::new()
        },
        live,
    };
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
        Prune::OverCap { would, cap } => Err(Error::Retention {
            deployed: false,
            why: format!(
                "{would} object(s) under s3://{}/{prefix} are referenced by no kept deploy record, more than `max-deletions: {cap}`; nothing was deleted. Check `keep-versions`/`keep-days`, or raise `max-deletions` if that many should go",
                request.bucket
            ),
        }),
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
            if request.dry_run {
                return Ok(0);
            }
            forget_superseded_intents(store, layout, now, newest_record).await;
            if keys.is_empty() {
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

/// The versions the manifest's history names within `keep-days` (versioned
/// modules only: an in-place module has no manifest to read).
async fn history_versions<S: ObjectStore>(
    store: &S,
    request: &DeployRequest,
    layout: &Layout,
    policy: &Policy,
    now: Utc,
) -> Result<BTreeSet<String>, Error> {
    let mut versions = BTreeSet::new();
    let Some(days) = policy.keep_days else {
        return Ok(versions);
    };
    let window = i64::try_from(days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    let manifest = &request.manifest.native;
    let listed = store
        .list(&layout.history_dir(manifest))
        .await
        .map_err(Error::Remote)?;
    for object in &listed {
        if let Some((time, version)) = layout.history_revision(manifest, &object.key)
            && now.millis - time.millis < window
        {
            versions.insert(version.to_owned());
        }
    }
    Ok(versions)
}

/// Removes the intents of this module that stopped runs left and a newer record
/// supersedes (they protect nothing any more); best effort.
async fn forget_superseded_intents<S: ObjectStore>(
    store: &S,
    layout: &Layout,
    now: Utc,
    newest_record: Option<Utc>,
) {
    match live::intent::superseded(store, layout, now, newest_record).await {
        Ok(keys) if !keys.is_empty() => {
            if let Err(e) = store.delete(&keys).await {
                tracing::info!("could not remove superseded in-flight intents: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::info!("could not list in-flight intents to tidy them: {e}"),
    }
}

/// Prefixes of the other modules with records that lie inside this one's prefix.
fn nested_modules(keys: &[String], modules_dir: &str, layout: &Layout) -> Vec<String> {
    let mut names = BTreeSet::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(modules_dir) else {
            continue;
        };
        // NOTE: from the end: a module may itself be called `records`.
        let module = rest
            .strip_suffix("/latest.json")
            .or_else(|| rest.strip_suffix("/state.json"))
            .or_else(|| rest.rfind("/records/").map(|i| &rest[..i]));
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
