//! The build being read: scanned and digested off the async threads, its MD5s added
//! only where the bucket's ETags need them.

use std::time::Instant;

use crate::error::Error;
use crate::request::DeployRequest;
use crate::scan::{self, LocalFile};

/// The build being scanned and digested, off the async threads. It starts before
/// anything else so that it overlaps the clients' set-up, the distribution read and
/// the listing.
pub struct PendingScan(Option<tokio::task::JoinHandle<Result<Vec<LocalFile>, Error>>>);

impl PendingScan {
    /// No scan: a rollback never reads the build.
    pub fn skipped() -> Self {
        Self(None)
    }

    pub fn start(request: &DeployRequest) -> Self {
        let forced = super::forced_panic("scan", request);
        let package = request.package.clone();
        let dist = request.dist_path();
        let allow = request.allow_sensitive.clone();
        Self(Some(tokio::task::spawn_blocking(move || {
            if let Some(message) = forced {
                panic!("{message}");
            }
            let started = Instant::now();
            // NOTE: the config was validated, so its globs compile.
            let allow =
                crate::globs::glob_set(&allow).unwrap_or_else(|_| globset::GlobSet::empty());
            let files = scan::scan(&package, &dist, &allow)?;
            let bytes: u64 = files.iter().map(|f| f.digest.size).sum();
            tracing::info!(
                "scanned {} files ({}) in {} ms",
                files.len(),
                crate::plan::human_bytes(bytes),
                started.elapsed().as_millis()
            );
            Ok(files)
        })))
    }

    pub async fn finish(self) -> Result<Vec<LocalFile>, Error> {
        match self.0 {
            Some(task) => task.await.map_err(joined)?,
            None => Err(Error::Internal("the build was not scanned".to_owned())),
        }
    }
}

/// The build's files with their MD5s added where `needed` says (one flag a file),
/// off the async threads: for ETag comparisons and the parts of multipart uploads
/// (`Content-MD5`). A whole-file upload carries the scan's SHA-256 instead, and a
/// file the deploy state confirms is never read a second time.
pub async fn add_md5(
    mut files: Vec<LocalFile>,
    needed: Vec<bool>,
) -> Result<Vec<LocalFile>, Error> {
    if !needed.contains(&true) {
        return Ok(files);
    }
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        scan::add_md5(&mut files, &needed)?;
        let (count, bytes) = files
            .iter()
            .zip(&needed)
            .filter(|(_, needed)| **needed)
            .fold((0, 0), |(n, b), (f, _)| (n + 1, b + f.digest.size));
        tracing::info!(
            "MD5 of {count} file(s) to compare with ETags or send in parts ({}) in {} ms",
            crate::plan::human_bytes(bytes),
            started.elapsed().as_millis()
        );
        Ok(files)
    })
    .await
    .map_err(joined)?
}

/// A blocking task that did not return: a panic, caught, or a cancelled task.
fn joined(e: tokio::task::JoinError) -> Error {
    match e.try_into_panic() {
        Ok(payload) => Error::panicked(payload.as_ref()),
        Err(e) => Error::Internal(e.to_string()),
    }
}
