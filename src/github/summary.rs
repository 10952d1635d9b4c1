//! The step summary: one Markdown page a team reads to understand a deploy and its
//! caching policy.

use std::fmt::Write as _;

use crate::plan::human_bytes;
use crate::report::Report;

const FILES_SHOWN: usize = 5;

/// Renders the summary of a finished (or dry) deploy.
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let title = report.package.rsplit('/').next().unwrap_or(&report.package);
    let _ = writeln!(
        md,
        "### mfe-deploy · `{}` → {}",
        code(title),
        report.environment
    );
    if report.dry_run {
        let _ = writeln!(
            md,
            "\n**Dry run**: nothing was written; the counts are what a deploy would do."
        );
    }
    let _ = writeln!(md, "\n| | |\n|---|---|");
    let rows = [
        ("Status", report.status.as_str().to_owned()),
        ("Module", format!("`{}`", code(&report.package))),
        ("Environment", report.environment.clone()),
        (
            "Destination",
            format!("`s3://{}/{}`", report.bucket, code(&report.prefix)),
        ),
        ("Version", format!("`{}`", report.version)),
        (
            "Uploaded",
            format!(
                "{} file{} ({})",
                report.uploaded,
                if report.uploaded == 1 { "" } else { "s" },
                human_bytes(report.bytes_uploaded)
            ),
        ),
        ("Headers updated", report.headers_updated.to_string()),
        ("Unchanged", report.unchanged.to_string()),
        ("Deleted", report.deleted.to_string()),
        (
            "Duration",
            format!("{:.1} s", report.duration.as_secs_f64()),
        ),
    ];
    for (name, value) in rows {
        let _ = writeln!(md, "| {name} | {value} |");
    }
    if report.copied > 0 {
        let (n, s) = (report.copied, if report.copied == 1 { "" } else { "s" });
        let _ = writeln!(
            md,
            "| Copied server-side | {n} file{s} of another version (no byte sent from the runner) |"
        );
    }
    if let Some(url) = &report.entry_url {
        let _ = writeln!(md, "| Entry | {url} |");
    }
    if let Some(url) = &report.preview_url {
        let _ = writeln!(md, "| Preview | {url} |");
    }
    if let Some((version, percent)) = &report.canary {
        let _ = writeln!(md, "| Canary | `{version}` for {percent}% of users |");
    }
    if let Some(previous) = &report.previous_version {
        let _ = writeln!(md, "| Previous version | `{previous}` |");
    }
    if let Some(record) = &report.record {
        let _ = writeln!(md, "| Deploy record | `{}` |", code(record));
    }
    if let Some(check) = &report.references {
        let _ = writeln!(md, "| References | {} |", code(&check.line()));
    }
    let _ = writeln!(
        md,
        "\n#### Caching policy\n\n| Class | Cache-Control | Files |\n|---|---|---|"
    );
    for row in &report.policy {
        let shown: Vec<_> = row
            .files
            .iter()
            .take(FILES_SHOWN)
            .map(|f| format!("`{}`", code(f)))
            .collect();
        let more = row.files.len().saturating_sub(FILES_SHOWN);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "| {} | `{}` | {}: {}{} |",
            row.class.as_str(),
            code(&row.cache_control),
            row.files.len(),
            shown.join(", "),
            tail
        );
    }
    if !report.invalidation_paths.is_empty() {
        let heading = match &report.invalidation_id {
            Some(id) => format!("CloudFront invalidation `{id}`"),
            None => "CloudFront invalidation (planned)".to_owned(),
        };
        let _ = writeln!(md, "\n#### {heading}\n\n| Path | Why |\n|---|---|");
        for (path, why) in &report.invalidation_paths {
            let _ = writeln!(md, "| `{}` | {} |", code(path), why.replace('|', "\\|"));
        }
    }
    if let Some(found) = &report.doctor {
        doctor(&mut md, found);
    }
    if !report.audit.is_empty() {
        let _ = writeln!(
            md,
            "\n#### CloudFront audit\n\n| Finding | Why it matters | Fix |\n|---|---|---|"
        );
        for f in &report.audit {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                cell(&f.what),
                cell(&f.why),
                cell(&f.fix)
            );
        }
    }
    if let Some(check) = report
        .references
        .as_ref()
        .filter(|c| !c.unchecked.is_empty())
    {
        let _ = writeln!(md, "\n> [!NOTE]\n> Not checked (never counted as present):");
        for why in check.unchecked.iter().take(FILES_SHOWN * 2) {
            let _ = writeln!(md, "> - {}", code(why));
        }
        let more = check.unchecked.len().saturating_sub(FILES_SHOWN * 2);
        if more > 0 {
            let _ = writeln!(md, "> - and {more} more");
        }
    }
    if !report.unhashed_code.is_empty() {
        let _ = writeln!(
            md,
            "\n> [!WARNING]\n> {} JS/CSS file(s) have no content hash in their names and are served short-lived: {}. Use `[name].[contenthash].js` in the bundler's output file names.",
            report.unhashed_code.len(),
            report
                .unhashed_code
                .iter()
                .take(FILES_SHOWN)
                .map(|f| format!("`{}`", code(f)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    md
}

/// One module of a `packages` run: its report, or why it stopped before it had one.
pub enum ModuleEnd<'a> {
    Report(&'a Report),
    Failed { package: &'a str, error: &'a str },
}

/// Renders the summary of a `packages` run: one table of the modules, then each
/// module's own summary, folded.
pub fn render_many(environment: &str, modules: &[ModuleEnd<'_>]) -> String {
    let mut md = String::new();
    let failed = modules
        .iter()
        .filter(|m| match m {
            ModuleEnd::Report(r) => r.status == crate::report::Status::Failed,
            ModuleEnd::Failed { .. } => true,
        })
        .count();
    let _ = writeln!(
        md,
        "### mfe-deploy · {} modules → {environment}{}\n",
        modules.len(),
        if failed > 0 {
            format!(" · {failed} failed")
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        md,
        "| Module | Status | Version | Uploaded | Unchanged | References | Invalidation |\n|---|---|---|---|---|---|---|"
    );
    for module in modules {
        match module {
            ModuleEnd::Report(r) => {
                let _ = writeln!(
                    md,
                    "| `{}` | {} | `{}` | {} ({}) | {} | {} | {} |",
                    code(&r.package),
                    r.status.as_str(),
                    code(&r.version),
                    r.uploaded,
                    human_bytes(r.bytes_uploaded),
                    r.unchanged,
                    r.references
                        .as_ref()
                        .map_or("-".to_owned(), |c| code(&c.line())),
                    r.invalidation_id
                        .as_deref()
                        .map_or("-".to_owned(), |id| format!("`{id}`")),
                );
            }
            ModuleEnd::Failed { package, error } => {
                let _ = writeln!(
                    md,
                    "| `{}` | failed: {} | - | 0 | 0 | - | - |",
                    code(package),
                    code(&error.replace('\n', " "))
                );
            }
        }
    }
    for module in modules {
        if let ModuleEnd::Report(r) = module {
            let _ = writeln!(
                md,
                "\n<details><summary>{}</summary>\n\n{}{}\n</details>",
                code(&r.package),
                r.error.as_deref().map_or(String::new(), |e| format!(
                    "> [!CAUTION]\n> {}\n\n",
                    e.replace('\n', "\n> ")
                )),
                render(r)
            );
        }
    }
    md
}

/// Renders the summary of a run that deployed nothing, with the reason.
pub fn render_skipped(package: &str, reason: &str) -> String {
    format!(
        "### mfe-deploy · `{}` skipped\n\n{}\n",
        code(package),
        reason
    )
}

/// Renders the summary of a failed deploy.
pub fn render_failure(package: &str, message: &str) -> String {
    format!(
        "### mfe-deploy · `{}` failed\n\n```text\n{}\n```\n",
        code(package),
        message.replace("```", "'''")
    )
}

/// Text safe inside a Markdown code span within a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn code(text: &str) -> String {
    text.replace('`', "'").replace('|', "\\|")
}

/// `doctor`'s findings: what was live, and every URL served wrong.
fn doctor(md: &mut String, found: &crate::doctor::Findings) {
    let _ = writeln!(
        md,
        "\n#### Served through public-url\n\n{} of {} file(s) served wrong; live: {}.",
        found.wrong.len(),
        found.checked,
        cell(&found.versions.join(", "))
    );
    if !found.wrong.is_empty() {
        let _ = writeln!(
            md,
            "\n| URL | What came back | Age | X-Cache | POP |\n|---|---|---|---|---|"
        );
        for w in &found.wrong {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} |",
                code(&w.url),
                cell(&w.problems.join("; ")),
                cell(&w.age),
                cell(&w.x_cache),
                cell(&w.pop)
            );
        }
    }
    for why in &found.unchecked {
        let _ = writeln!(md, "\n- Not checked: {}", cell(why));
    }
    let _ = writeln!(
        md,
        "\nA cache at another edge location may hold something else than the one the runner reached."
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::FileClass;
    use crate::report::PolicyRow;

    fn report() -> Report {
        Report {
            status: crate::report::Status::Deployed,
            error: None,
            previous_version: Some("ba9876543210".to_owned()),
            record: Some(
                "_mfe-deploy/modules/subscriptions/records/20261202T010811.123Z-0123456789ab-1a2b3c4d.json"
                    .to_owned(),
            ),
            environment_url: Some("https://my-app.com".to_owned()),
            manifest_url: None,
            preview_url: None,
            canary: None,
            doctor: None,
            package: "packages/subscriptions".to_owned(),
            environment: "production".to_owned(),
            bucket: "my-bucket".to_owned(),
            prefix: "subscriptions/".to_owned(),
            version: "0123456789ab".to_owned(),
            dry_run: false,
            uploaded: 3,
            headers_updated: 1,
            copied: 0,
            unchanged: 7,
            deleted: 0,
            bytes_uploaded: 123_456,
            duration: Duration::from_millis(1_500),
            policy: vec![
                PolicyRow {
                    class: FileClass::Immutable,
                    cache_control: "public, max-age=31536000, immutable".to_owned(),
                    files: (0..7).map(|i| format!("{i}.0a1b2c3d.js")).collect(),
                },
                PolicyRow {
                    class: FileClass::Entry,
                    cache_control: "no-cache".to_owned(),
                    files: vec!["remoteEntry.js".to_owned()],
                },
            ],
            unhashed_code: vec!["packages/subscriptions/dist/legacy.js".to_owned()],
            entry_url: Some("https://my-app.com/subscriptions/remoteEntry.js".to_owned()),
            invalidation_id: Some("I2J0JXZK7ZC4TM".to_owned()),
            invalidation_paths: vec![(
                "/subscriptions/remoteEntry.js".to_owned(),
                "remoteEntry.js changed".to_owned(),
            )],
            audit: Vec::new(),
            references: Some(crate::report::ReferenceCheck {
                checked: 9,
                files: vec!["mf-manifest.json".to_owned(), "remoteEntry.js".to_owned()],
                unchecked: vec![
                    "remoteEntry.js: its chunk-name function `.u` is not one mfe-deploy can read"
                        .to_owned(),
                ],
            }),
        }
    }

    #[test]
    fn summary_shows_counts_and_policy() {
        insta::assert_snapshot!(render(&report()));
    }

    #[test]
    fn dry_run_says_nothing_was_written() {
        let mut r = report();
        r.dry_run = true;
        assert!(render(&r).contains("**Dry run**"));
    }
}
