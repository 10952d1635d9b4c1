//! Publish integrity at plan time: the build's public path is where this deploy
//! serves it, and every file its entries and HTML name is in the build or already
//! in the bucket. Either failing is exit 2 with nothing written; what passes becomes
//! the plan's guards, checked again right before each phase (`apply`).

use std::io::Write;

use futures::{StreamExt, stream};

use crate::error::Error;
use crate::github::commands;
use crate::model::FileClass;
use crate::plan::{Plan, RemoteView};
use crate::references::{Kind, Reference, References, Site};
use crate::report::{ReferenceCheck, Report};
use crate::store::ObjectStore;

/// HEADs in flight for references outside the listed prefix.
const CONCURRENCY: usize = 16;

/// Checks the plan's references against the build and `remote` (the listing of
/// `plan.prefix`); keys outside it are asked for with a HEAD. Sets the plan's guards
/// and the report's "References" line.
pub async fn check<S: ObjectStore>(
    store: &S,
    public_url: Option<&str>,
    plan: &mut Plan,
    remote: &RemoteView,
    r: &mut Report,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let references = collect(public_url, plan).await?;
    if !references.misplaced.is_empty() {
        return Err(Error::Misplaced {
            misplaced: references.misplaced,
        });
    }
    let in_build: std::collections::HashSet<&str> =
        plan.files.iter().map(|f| f.key.as_str()).collect();
    let unknown = references.unresolved(|key| in_build.contains(key) || remote.etag(key).is_some());
    let (listed, elsewhere): (Vec<&Reference>, Vec<&Reference>) = unknown
        .into_iter()
        .partition(|reference| reference.key.starts_with(plan.prefix.as_str()));
    let mut missing: Vec<&Reference> = listed;
    let mut unchecked = references.unchecked.clone();
    let mut unreadable = Vec::new();
    let heads: Vec<_> = stream::iter(elsewhere)
        .map(|reference| async move { (reference, store.head(&reference.key).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (reference, head) in heads {
        match head {
            Ok(Some(_)) => {}
            Ok(None) => missing.push(reference),
            Err(e) => {
                unchecked.push(format!(
                    "{}: {} could not be read to check it ({e})",
                    reference.from, reference.key
                ));
                unreadable.push(reference.key.clone());
            }
        }
    }
    let check = ReferenceCheck {
        checked: references.references.len() - missing.len() - unreadable.len(),
        files: references.files.clone(),
        unchecked,
    };
    writeln!(out, "references: {}", commands::inert(&check.line())).map_err(Error::stdout)?;
    for why in &check.unchecked {
        writeln!(out, "  not checked: {}", commands::inert(why)).map_err(Error::stdout)?;
    }
    r.references = Some(check);
    if !missing.is_empty() {
        let mut by_key: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for reference in missing {
            by_key
                .entry(reference.key.clone())
                .or_default()
                .push(reference.from.clone());
        }
        return Err(Error::Unresolved {
            bucket: plan.bucket.clone(),
            missing: by_key.into_iter().collect(),
        });
    }
    let guarded: Vec<Reference> = references
        .references
        .into_iter()
        .filter(|reference| !unreadable.contains(&reference.key))
        .collect();
    plan.guard(&guarded);
    Ok(())
}

/// Reads the plan's referring files from the build and collects what they name.
async fn collect(public_url: Option<&str>, plan: &Plan) -> Result<References, Error> {
    let mut read = Vec::new();
    for file in &plan.files {
        let Some(kind) = Kind::of(&file.rel_path, file.class == FileClass::Entry) else {
            continue;
        };
        let bytes =
            tokio::fs::read(&file.abs_path)
                .await
                .map_err(|e| crate::scan::ScanError::Io {
                    path: file.abs_path.clone(),
                    source: e,
                })?;
        read.push((file.rel_path.as_str(), kind, bytes));
    }
    let site = Site::new(public_url, &plan.prefix);
    Ok(References::collect(
        &site,
        read.iter()
            .map(|(path, kind, bytes)| (*path, *kind, bytes.as_slice())),
    ))
}
