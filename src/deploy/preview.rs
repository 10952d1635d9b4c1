//! The end of a pull request's preview of a module (a `closed` event, or `mfe-deploy
//! previews --close`): the overlay goes at once, then the module's files of the pull
//! request's versions that nothing live names, then a record says so. Publishing a
//! preview is the versioned mode publishing into the overlay (`versioned.rs`).

use std::io::Write;

use super::{Context, Failed};
use crate::cdn::Cdn;
use crate::clock::Utc;
use crate::config::Config;
use crate::error::Error;
use crate::layout::Layout;
use crate::live;
use crate::manifest;
use crate::record::{self, DeployRecord, RECORD_SCHEMA, RecordKind};
use crate::report::{Report, Status};
use crate::request::{DeployRequest, Preview};
use crate::store::{DELETE_BATCH, ObjectStore};

/// Ends `preview` of the request's module.
pub async fn close<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    config: &Config,
    preview: &Preview,
    out: &mut dyn Write,
) -> Result<Report, Failed> {
    let layout = Layout::new(&config.records_prefix(), &request.prefix)?;
    // Every version of the pull request: `prefix/pr-<number>-<head>/…`.
    let versions = format!("{}{}-", layout.prefix(), preview.id());
    let mut report = Report::empty(
        &request.package.display().to_string(),
        &request.environment,
        &request.bucket,
        &versions,
        &preview.id(),
    );
    let overlay = manifest::overlay_key(&request.manifest.native, preview.number);
    writeln!(
        out,
        "Closing the preview {} of {}: the overlay {overlay}, then {versions}*",
        preview.id(),
        layout.module()
    )
    .map_err(Error::stdout)?;
    if request.dry_run {
        return Ok(report);
    }
    report.dry_run = false;
    let result = end(
        ctx,
        request,
        &layout,
        preview,
        &overlay,
        &versions,
        &mut report,
    )
    .await;
    match result {
        Ok(()) => {
            report.status = Status::PreviewClosed;
            Ok(report)
        }
        Err(error) => {
            report.status = Status::Failed;
            report.error = Some(error.to_string());
            Err(Failed {
                report: Some(Box::new(report)),
                error,
            })
        }
    }
}

async fn end<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    request: &DeployRequest,
    layout: &Layout,
    preview: &Preview,
    overlay: &str,
    versions: &str,
    report: &mut Report,
) -> Result<(), Error> {
    let store = ctx.store;
    let gone = store
        .delete(&[overlay.to_owned()])
        .await
        .map_err(Error::Remote)?;
    if let Some((key, why)) = gone.failed.first() {
        return Err(Error::Preview(format!(
            "could not delete the overlay {key} ({why}): the preview stays live; allow s3:DeleteObject on it and run `mfe-deploy previews --close {}`",
            preview.number
        )));
    }
    // What is live is read after the overlay is gone: nothing of this pull request
    // is, unless another document or a deploy in flight names it.
    let listed = store.list(versions).await.map_err(Error::Remote)?;
    let records: Vec<DeployRecord> = record::list_records(store, layout, usize::MAX)
        .await
        .map_err(Error::Remote)?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let newest = live::newest(&records).and_then(|r| Utc::parse_rfc3339(&r.time));
    let live = live::read(
        store,
        layout,
        &request.manifest.native,
        &records,
        newest,
        true,
    )
    .await
    .map_err(Error::Remote)?;
    // Only the pull request's own versions, `pr-<n>-<7 hex>/`: an environment version
    // someone labelled `pr-5-hotfix` is not the preview's.
    let previewed = |key: &str| {
        key.strip_prefix(versions)
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(head, _)| head.len() == 7 && head.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let (kept, doomed): (Vec<_>, Vec<_>) = listed
        .into_iter()
        .map(|o| o.key)
        .filter(|key| previewed(key))
        .partition(|key| live.protects(key).is_some());
    for key in &kept {
        if let Some(why) = live.protects(key) {
            tracing::info!("kept {key}: {why}");
        }
    }
    for batch in doomed.chunks(DELETE_BATCH) {
        let deleted = store.delete(batch).await.map_err(Error::Remote)?;
        report.deleted += deleted.deleted.len();
        if let Some((key, why)) = deleted.failed.first() {
            return Err(Error::Preview(format!(
                "the overlay is gone (the preview is no longer live), but {key} could not be deleted ({why}); `mfe-deploy previews --close {}` finishes it (it finds the modules in the preview's records)",
                preview.number
            )));
        }
    }
    let time = Utc::now();
    let closing = DeployRecord {
        schema: RECORD_SCHEMA.to_owned(),
        kind: RecordKind::PreviewClosed,
        module: layout.module().to_owned(),
        prefix: layout.prefix().to_owned(),
        environment: request.environment.clone(),
        mode: "versioned".to_owned(),
        version: preview.id(),
        previous_version: None,
        provenance: ctx.provenance.clone(),
        time: time.rfc3339(),
        files: Default::default(),
        invalidation: None,
        rollout: None,
        republished: None,
    };
    let preview_layout = layout.for_preview(preview.number);
    super::finish::empty_state(store, &preview_layout).await;
    let key = record::write_record(store, &preview_layout, &closing, time, &record::new_nonce())
        .await
        .map_err(|source| Error::Record {
            live: false,
            source,
        })?;
    report.record = Some(key);
    Ok(())
}
