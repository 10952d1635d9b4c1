//! Hashing on every core, and on no more than that: the scans of a `packages` run
//! (thirty modules at once) share the machine's cores through one gate, instead of
//! each starting a thread per core and leaving none to the requests in flight.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

use super::ScanError;
use super::digest::{self, Digest};

/// The digests (with MD5s when `with_md5`) of every file at `paths`, in order. Up to
/// one worker a core reads them, each through one buffer of its own, while it holds
/// one of the process's hashing passes.
pub fn on_every_core(paths: &[&Path], with_md5: bool) -> Vec<Result<Digest, ScanError>> {
    let workers = cores().min(paths.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Digest, ScanError>>>> =
        Mutex::new((0..paths.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let _pass = hashing().enter();
                let mut buf = vec![0u8; digest::BUFFER];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let result = File::open(path)
                        .and_then(|file| Digest::read_with(file, with_md5, &mut buf))
                        .map_err(|source| ScanError::Io {
                            path: path.to_path_buf(),
                            source,
                        });
                    results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(result);
                }
            });
        }
    });
    let digests = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    digests
        .into_iter()
        .zip(paths)
        .map(|(digest, path)| {
            digest.unwrap_or_else(|| {
                Err(ScanError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::other("file was not digested"),
                })
            })
        })
        .collect()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// The process's hashing passes, one a core.
fn hashing() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate::new(cores()))
}

/// A counting gate: at most `passes` holders at a time; the others wait.
struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

/// Held while hashing; gives its pass back when dropped.
struct Pass<'a>(&'a Gate);

impl Gate {
    fn new(passes: usize) -> Self {
        Self {
            free: Mutex::new(passes.max(1)),
            freed: Condvar::new(),
        }
    }

    fn enter(&self) -> Pass<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Pass(self)
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_gate_lets_no_more_than_its_passes_in_and_everyone_through() {
        let gate = Gate::new(2);
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        let _pass = gate.enter();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 8);
        assert!(most.load(Ordering::SeqCst) <= 2, "{most:?} inside at once");
    }

    #[test]
    fn many_scans_at_once_each_get_every_digest_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<_> = (0..40)
            .map(|i| {
                let path = dir.path().join(format!("f{i}"));
                std::fs::write(&path, "x".repeat(i)).unwrap();
                path
            })
            .collect();
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..6)
                .map(|_| scope.spawn(|| on_every_core(&refs, false)))
                .collect();
            for run in runs {
                let sizes: Vec<u64> = run
                    .join()
                    .unwrap()
                    .into_iter()
                    .map(|d| d.unwrap().size)
                    .collect();
                assert_eq!(sizes, (0..40).collect::<Vec<u64>>());
            }
        });
    }
}
