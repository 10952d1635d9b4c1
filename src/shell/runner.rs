//! The runner's files: `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`, appended to. A
//! failure to write them never hides the run's own error.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::github::outputs;

/// The runner environment, read through a function so tests can supply it.
pub struct Runner<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Runner<'_> {
    pub(super) fn file(&self, name: &str) -> Option<PathBuf> {
        (self.env)(name)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }

    /// Appends `outputs` and `summary` to the runner's files (those it names).
    pub(super) fn write(&self, outputs: &[(&str, String)], summary: &str) -> Result<(), Error> {
        if let Some(path) = self.file("GITHUB_OUTPUT") {
            append(&path, |f| outputs::write_outputs(f, outputs))?;
        }
        if let Some(path) = self.file("GITHUB_STEP_SUMMARY") {
            append(&path, |f| f.write_all(summary.as_bytes()))?;
        }
        Ok(())
    }

    /// Writes what a failed run says and returns its error: still `error` (its
    /// message and exit code) when the files cannot be written, with that said too.
    pub(super) fn write_failure(
        &self,
        outputs: &[(&str, String)],
        summary: &str,
        error: Error,
    ) -> Error {
        match self.write(outputs, summary) {
            Ok(()) => error,
            Err(output) => Error::AndOutputs {
                error: Box::new(error),
                output: Box::new(output),
            },
        }
    }
}

pub(super) fn append(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|source| Error::Output {
            path: path.to_owned(),
            source,
        })?;
    write(&mut file).map_err(|source| Error::Output {
        path: path.to_owned(),
        source,
    })
}
