//! The plan as text: what `plan` and `dry-run` print, and what `deploy` logs.

use std::fmt::Write as _;

use super::{Action, Plan};
use crate::model::Phase;

/// Which rows to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Every file, including unchanged ones (`plan`, `dry-run`).
    All,
    /// Only files that need a request (`deploy`).
    Changes,
}

impl Plan {
    /// Renders the plan as an aligned table grouped by phase.
    pub fn render(&self, detail: Detail) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Plan for s3://{}/{} (version {})",
            self.bucket, self.prefix, self.version
        );
        let rows: Vec<_> = self
            .files
            .iter()
            .filter(|f| detail == Detail::All || f.action != Action::Unchanged)
            .collect();
        let width =
            |get: &dyn Fn(&&super::PlannedFile) -> usize| rows.iter().map(get).max().unwrap_or(0);
        let w_action = width(&|f| f.action.label().len());
        let w_class = width(&|f| f.class.as_str().len());
        let w_cache = width(&|f| f.headers.cache_control.len());
        let w_type = width(&|f| f.headers.content_type.len());
        for (n, phase) in Phase::ALL.iter().enumerate() {
            let in_phase: Vec<_> = rows.iter().filter(|f| f.class.phase() == *phase).collect();
            if in_phase.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  phase {} · {}", n + 1, phase.as_str());
            for f in in_phase {
                let _ = writeln!(
                    out,
                    "    {:<w_action$}  {:<w_class$}  {:<w_cache$}  {:<w_type$}  {} ({})",
                    f.action.label(),
                    f.class.as_str(),
                    f.headers.cache_control,
                    f.headers.content_type,
                    f.rel_path,
                    human_bytes(f.digest.size),
                );
            }
        }
        for conflict in &self.conflicts {
            let _ = writeln!(
                out,
                "  REFUSED {}: content-hashed key already holds {} bytes",
                conflict.key,
                if conflict.unverifiable {
                    "unverifiable"
                } else {
                    "different"
                }
            );
        }
        let counts = self.counts();
        let copied = match counts.copied {
            0 => String::new(),
            n => format!("{n} copied server-side, "),
        };
        let _ = writeln!(
            out,
            "{} to upload ({}), {copied}{} headers-only, {} unchanged",
            counts.uploaded,
            human_bytes(counts.bytes),
            counts.headers_only,
            counts.unchanged
        );
        out
    }
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
