//! Progress: a bar on a terminal, a line every few seconds in CI, nothing when quiet.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Interactive terminal: a live bar.
    Bar,
    /// CI logs: a line at most every few seconds, only on long runs.
    Lines,
    /// Nothing.
    Quiet,
}

const LINE_EVERY: Duration = Duration::from_secs(5);

/// Reports upload progress; shared by concurrent uploads.
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    files: usize,
    bytes: u64,
    total_files: usize,
    total_bytes: u64,
    last_line: Instant,
}

impl Progress {
    pub fn new(mode: ProgressMode) -> Self {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {bytes}/{total_bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Self {
            mode,
            bar,
            state: Mutex::new(State {
                files: 0,
                bytes: 0,
                total_files: 0,
                total_bytes: 0,
                last_line: Instant::now(),
            }),
        }
    }

    pub fn start(&self, total_files: usize, total_bytes: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.total_files = total_files;
            state.total_bytes = total_bytes;
            state.last_line = Instant::now();
        }
        if let Some(bar) = &self.bar {
            bar.set_length(total_bytes.max(1));
        }
    }

    pub fn file_done(&self, path: &str, bytes: u64) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.files += 1;
        state.bytes += bytes;
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.inc(bytes);
                    bar.set_message(format!("{}/{} {path}", state.files, state.total_files));
                }
            }
            ProgressMode::Lines => {
                if state.last_line.elapsed() >= LINE_EVERY {
                    state.last_line = Instant::now();
                    tracing::info!(
                        "progress: {}/{} files, {}/{} bytes",
                        state.files,
                        state.total_files,
                        state.bytes,
                        state.total_bytes
                    );
                }
            }
            ProgressMode::Quiet => {}
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
