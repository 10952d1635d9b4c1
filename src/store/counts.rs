//! Requests per S3 operation, bytes sent, and when the first request left: what the
//! benchmark reads, and what a user sees at the end of a deploy.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The process's start, set first thing in `main`.
static PROCESS_START: OnceLock<Instant> = OnceLock::new();

/// Records the process start (idempotent).
pub fn mark_process_start() {
    PROCESS_START.get_or_init(Instant::now);
}

/// S3 operations, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    List,
    Get,
    Head,
    Put,
    Copy,
    Multipart,
    Delete,
}

/// Counters shared by concurrent requests.
#[derive(Debug, Default)]
pub struct RequestCounts {
    counts: [AtomicUsize; 7],
    bytes_sent: AtomicU64,
    first_request: OnceLock<Duration>,
}

impl RequestCounts {
    /// Counts a request about to be sent, carrying `bytes` of body.
    pub fn record(&self, op: Op, bytes: u64) {
        if let Some(start) = PROCESS_START.get() {
            self.first_request.get_or_init(|| start.elapsed());
        }
        self.counts[op as usize].fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn get(&self, op: Op) -> usize {
        self.counts[op as usize].load(Ordering::Relaxed)
    }

    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    /// `requests: LIST 1, GET 1, HEAD 0, PUT 0, COPY 0, MULTIPART 0, DELETE 0; 0 bytes sent; first request 12 ms after start`
    pub fn summary(&self) -> String {
        let first = self.first_request.get().map_or(String::new(), |d| {
            format!("; first request {} ms after start", d.as_millis())
        });
        format!(
            "requests: LIST {}, GET {}, HEAD {}, PUT {}, COPY {}, MULTIPART {}, DELETE {}; {} bytes sent{first}",
            self.get(Op::List),
            self.get(Op::Get),
            self.get(Op::Head),
            self.get(Op::Put),
            self.get(Op::Copy),
            self.get(Op::Multipart),
            self.get(Op::Delete),
            self.bytes_sent()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bytes_add_up() {
        let counts = RequestCounts::default();
        counts.record(Op::List, 0);
        counts.record(Op::Put, 10);
        counts.record(Op::Put, 5);
        assert_eq!(
            (
                counts.get(Op::Put),
                counts.get(Op::List),
                counts.bytes_sent()
            ),
            (2, 1, 15)
        );
        assert!(counts.summary().starts_with(
            "requests: LIST 1, GET 0, HEAD 0, PUT 2, COPY 0, MULTIPART 0, DELETE 0; 15 bytes sent"
        ));
    }
}
