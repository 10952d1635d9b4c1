//! Several modules in one run (`packages`): every module deploys concurrently in
//! this one process, each on its own (its own phases, failure, record and owed
//! paths), sharing the clients and one CloudFront invalidation per distribution.

use std::io::Write;
use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;

use super::{Context, Failed, PendingScan, Presentation, connect, deploy};
use crate::apply::Slots;
use crate::aws::RunnerIdentity;
use crate::cleanup::SharedUploads;
use crate::config::Config;
use crate::error::Error;
use crate::invalidate::batch::{Batch, Sending};
use crate::record::Provenance;
use crate::report::Report;
use crate::request::DeployRequest;

/// One module's end, with what it printed.
pub struct Finished {
    pub package: String,
    pub result: Result<Report, Failed>,
}

/// Deploys every request. They are for one environment, so they share the bucket,
/// the credentials and the distribution: one set of clients serves them all. Each
/// module's printout is kept apart and written in the order given.
pub async fn deploy_all(
    requests: &[DeployRequest],
    config: &Config,
    identity: &RunnerIdentity,
    provenance: &Provenance,
    on_runner: bool,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<Vec<Finished>, Error> {
    let Some(first) = requests.first() else {
        return Ok(Vec::new());
    };
    let scans: Vec<PendingScan> = requests
        .iter()
        .map(|r| {
            if r.reads_build() {
                PendingScan::start(r)
            } else {
                PendingScan::skipped()
            }
        })
        .collect();
    let (store, cloudfront) = connect(first, identity, on_runner, &mut *out).await?;
    let batch = Batch::new(requests.len());
    let uploads = SharedUploads::new(requests.iter().map(|r| r.prefix.as_str()));
    let slots = Slots::one_run();
    let probe = crate::store::probe::Probe::default();
    let manifests = crate::manifest::Queue::new(requests.len());
    let sending = Sending::new(
        identity.run_identity(),
        first.wait,
        config.invalidation.wait_timeout,
    );
    let runs = requests.iter().zip(scans).map(|(request, scan)| {
        let (store, cloudfront, batch, sending, uploads, slots, probe, manifests) = (
            &store,
            cloudfront.as_ref(),
            &batch,
            &sending,
            &uploads,
            &slots,
            &probe,
            &manifests,
        );
        async move {
            let ticket = batch.ticket();
            let manifest_ticket = manifests.ticket();
            let ctx = Context {
                store,
                cdn: cloudfront,
                run_identity: identity.run_identity(),
                provenance: provenance.clone(),
                presentation,
                batch: Some(&ticket),
                uploads: Some(uploads),
                slots,
                probe,
                manifests: Some(&manifest_ticket),
            };
            let mut printed = Vec::new();
            // A module that panics fails alone; the others go on.
            let deployed = deploy(&ctx, request, config, scan, &mut printed);
            let result = match AssertUnwindSafe(deployed).catch_unwind().await {
                Ok(result) => result,
                Err(payload) => Err(Error::panicked(payload.as_ref()).into()),
            };
            // Whatever happened, the others need not wait for this module any more.
            drop(ctx);
            drop(manifest_ticket);
            ticket.leave(cloudfront, sending).await;
            (result, printed)
        }
    });
    let ended = futures::future::join_all(runs).await;
    tracing::info!("{}", store.counts().summary());
    if manifests.writes() > 0 {
        tracing::info!("manifest writes: {}", manifests.writes());
    }
    let mut finished = Vec::with_capacity(ended.len());
    for (request, (result, printed)) in requests.iter().zip(ended) {
        let package = request.package.display().to_string();
        writeln!(out, "── {package}").map_err(Error::stdout)?;
        out.write_all(&printed).map_err(Error::stdout)?;
        finished.push(Finished { package, result });
    }
    Ok(finished)
}
