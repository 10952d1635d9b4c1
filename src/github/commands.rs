//! Workflow commands (`::warning …::`, `::add-mask::`), escaped as the runner parses them,
//! and log text that can never be taken for one.
//! See <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>.

use std::borrow::Cow;
use std::io::{self, Write};

use crate::audit::Finding;

/// Individual annotations before the rest are folded into one; the runner shows at
/// most 10 warning annotations per step, and other checks need some of them.
pub const MAX_INDIVIDUAL_WARNINGS: usize = 4;

/// Escapes a command's message.
pub fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value (also `:` and `,`).
pub fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

/// Log text that holds names this program did not choose (file names, keys, messages
/// quoting them), made safe to print: no line of the result is a workflow command.
///
/// The runner reads commands on stdout and stderr alike, `::name::` at the start of a
/// line after leading whitespace, and the legacy `##[name]` anywhere in one; it ends
/// lines at `\r` as well as `\n`. So control characters other than `\n` are escaped
/// (`\r`, `\u{1b}`), every `##[` becomes `#\#[`, and a line that would start with `::`
/// gets a `\` in front. Anything else, including our own text, comes back unchanged.
///
/// NOTE: `TryParseV2` anchors `::`, `TryParse` searches for `##[`, and both run on
/// every line a step prints:
/// <https://github.com/actions/runner/blob/main/src/Runner.Common/ActionCommand.cs>.
pub fn inert(text: &str) -> Cow<'_, str> {
    let dangerous = text.contains("##[")
        || text.chars().any(|c| c.is_control() && c != '\n')
        || text.split('\n').any(starts_a_command);
    if !dangerous {
        return Cow::Borrowed(text);
    }
    let lines: Vec<String> = text.split('\n').map(inert_line).collect();
    Cow::Owned(lines.join("\n"))
}

/// A writer that makes every line it passes on inert ([`inert`]): the log writer, so
/// that no log line, whatever key, file name or remote error it carries, is read as a
/// workflow command. Lines are passed on whole; the rest is on `flush` or drop.
pub struct InertLines<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> InertLines<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    fn pass_on(&mut self, line: &[u8], newline: bool) -> io::Result<()> {
        let text = String::from_utf8_lossy(line);
        self.inner.write_all(inert(&text).as_bytes())?;
        if newline {
            self.inner.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl<W: Write> Write for InertLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.pass_on(&line[..end], true)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.pass_on(&rest, false)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for InertLines<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn starts_a_command(line: &str) -> bool {
    line.trim_start().starts_with("::")
}

fn inert_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 4);
    for c in line.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    let mut out = out.replace("##[", "#\\#[");
    if starts_a_command(&out) {
        let indent = out.len() - out.trim_start().len();
        out.insert(indent, '\\');
    }
    out
}

/// Asks the runner to hide `secret` in all later log output.
pub fn add_mask(mut out: impl Write, secret: &str) -> io::Result<()> {
    if secret.is_empty() {
        return Ok(());
    }
    writeln!(out, "::add-mask::{}", escape_data(secret))
}

/// An error annotation for one module of a run.
pub fn error(mut out: impl Write, title: &str, message: &str) -> io::Result<()> {
    writeln!(
        out,
        "::error title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

/// A warning annotation, attached to `file` when given.
pub fn warning(
    mut out: impl Write,
    file: Option<&str>,
    title: &str,
    message: &str,
) -> io::Result<()> {
    let mut props = Vec::new();
    if let Some(file) = file {
        props.push(format!("file={}", escape_property(file)));
    }
    props.push(format!("title={}", escape_property(title)));
    writeln!(
        out,
        "::warning {}::{}",
        props.join(","),
        escape_data(message)
    )
}

/// Warnings for JS/CSS whose names carry no content hash.
pub fn unhashed_code_warnings(out: impl Write, files: &[String]) -> io::Result<()> {
    const FIX: &str = "so it is served with a short cache lifetime instead of `immutable`. Put the hash in the name: webpack/Rspack `output.filename: '[name].[contenthash].js'` (and `chunkFilename`, `MiniCssExtractPlugin({ filename: '[name].[contenthash].css' })`); Vite/Rollup `[name]-[hash].js`.";
    folded(
        out,
        "File name without content hash",
        files,
        |file| {
            (
                Some(file.as_str()),
                format!("{file} has no content hash in its name, {FIX}"),
            )
        },
        |rest| {
            format!(
                "{} more files have no content hash in their names, {FIX} Files: {}",
                rest.len(),
                rest.join(", ")
            )
        },
    )
}

/// Warnings for audit findings.
pub fn audit_warnings(out: impl Write, findings: &[Finding]) -> io::Result<()> {
    folded(
        out,
        "CloudFront audit",
        findings,
        |f| (None, format!("{}. Why: {}. Fix: {}", f.what, f.why, f.fix)),
        |rest| {
            let named: Vec<&str> = rest.iter().map(|f| f.what.as_str()).collect();
            format!(
                "{} more findings (details in the step summary): {}",
                rest.len(),
                named.join("; ")
            )
        },
    )
}

/// One annotation per item for the first few; beyond one more than that, the rest
/// folded into a single annotation, so the runner's per-step limit is respected.
fn folded<'a, T>(
    mut out: impl Write,
    title: &str,
    items: &'a [T],
    one: impl Fn(&'a T) -> (Option<&'a str>, String),
    rest: impl FnOnce(&[T]) -> String,
) -> io::Result<()> {
    let fold = items.len() > MAX_INDIVIDUAL_WARNINGS + 1;
    let shown = if fold {
        &items[..MAX_INDIVIDUAL_WARNINGS]
    } else {
        items
    };
    for item in shown {
        let (file, message) = one(item);
        warning(&mut out, file, title, &message)?;
    }
    if fold {
        warning(
            &mut out,
            None,
            title,
            &rest(&items[MAX_INDIVIDUAL_WARNINGS..]),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn properties_and_data_are_escaped() {
        let got = text(|o| warning(o, Some("a,b:c.js"), "T", "50% done\nnext"));
        assert_eq!(
            got,
            "::warning file=a%2Cb%3Ac.js,title=T::50%25 done%0Anext\n"
        );
    }

    #[test]
    fn text_that_could_start_a_workflow_command_is_made_inert() {
        // (case, text, printed as)
        let rows = [
            (
                "a plan row is unchanged",
                "    upload (new)  other  a.js (1 B)",
                "    upload (new)  other  a.js (1 B)",
            ),
            (
                "a command mid-line is log text already",
                "    upload (new)  ::error::pwned.js (1 B)",
                "    upload (new)  ::error::pwned.js (1 B)",
            ),
            (
                "a name at the start of a line",
                "::error::pwned.js",
                "\\::error::pwned.js",
            ),
            (
                "a name after leading whitespace",
                "    ::warning::x.js",
                "    \\::warning::x.js",
            ),
            (
                "percent escapes are not decoded in log text",
                "%0A::warning::x.js",
                "%0A::warning::x.js",
            ),
            (
                "the legacy form, anywhere in a line",
                "REFUSED a/##[error]x.js: different bytes",
                "REFUSED a/#\\#[error]x.js: different bytes",
            ),
            (
                "a command after a newline in a key",
                "deleted a\n::error::pwned.js",
                "deleted a\n\\::error::pwned.js",
            ),
            (
                "a carriage return, which also ends a line for the runner",
                "a\r::error::pwned.js",
                "a\\r::error::pwned.js",
            ),
            (
                "terminal escapes and other controls",
                "\u{1b}[2Kx\tdel\u{7f}",
                "\\u{1b}[2Kx\\tdel\\u{7f}",
            ),
            (
                "a stop-commands token",
                "::stop-commands::tok.js",
                "\\::stop-commands::tok.js",
            ),
        ];
        for (case, text, printed) in rows {
            assert_eq!(inert(text), printed, "{case}");
        }
        assert!(matches!(inert("plain text\nlines"), Cow::Borrowed(_)));
    }

    /// The runner's two parsers, at their most permissive (any command name): a line
    /// that starts with `::` after whitespace, or holds `##[` anywhere.
    fn runner_sees_a_command(printed: &str) -> bool {
        printed
            .split(['\n', '\r'])
            .any(|line| line.trim_start().starts_with("::") || line.contains("##["))
    }

    proptest::proptest! {
        #[test]
        fn no_line_of_inert_text_is_a_workflow_command(
            text in r"([ \t\r\n:#\[\]%a-z\u{1b}\u{85}\u{2028}]|::|##\[){0,40}"
        ) {
            let printed = inert(&text);
            proptest::prop_assert!(!runner_sees_a_command(&printed), "{text:?} -> {printed:?}");
            let unchanged = !text.contains("##[")
                && !text.chars().any(|c| c.is_control() && c != '\n')
                && !text.split('\n').any(starts_a_command);
            proptest::prop_assert_eq!(unchanged, printed == text);
        }
    }

    #[test]
    fn empty_secret_is_not_masked() {
        assert_eq!(text(|o| add_mask(o, "")), "");
        assert_eq!(text(|o| add_mask(o, "s3cr3t")), "::add-mask::s3cr3t\n");
    }

    #[test]
    fn the_log_writer_makes_every_line_inert_however_it_is_written() {
        let mut written = Vec::new();
        {
            let mut log = InertLines::new(&mut written);
            for piece in [
                "INFO record _mfe-deploy/##[err",
                "or]x/r.json\n::warn",
                "ing::y\n",
                "tail ##[z",
            ] {
                log.write_all(piece.as_bytes()).unwrap();
            }
        }
        assert_eq!(
            String::from_utf8(written).unwrap(),
            "INFO record _mfe-deploy/#\\#[error]x/r.json\n\\::warning::y\ntail #\\#[z"
        );
    }

    #[test]
    fn few_unhashed_files_get_one_annotation_each() {
        let files: Vec<String> = (0..5).map(|i| format!("p/dist/f{i}.js")).collect();
        let got = text(|o| unhashed_code_warnings(o, &files));
        assert_eq!(got.lines().count(), 5);
        assert!(
            got.lines()
                .all(|l| l.starts_with("::warning file=p/dist/f"))
        );
        assert!(got.contains("[name].[contenthash].js"));
    }

    #[test]
    fn many_unhashed_files_are_folded_within_the_runner_limit() {
        let files: Vec<String> = (0..30).map(|i| format!("f{i}.js")).collect();
        let got = text(|o| unhashed_code_warnings(o, &files));
        assert_eq!(got.lines().count(), MAX_INDIVIDUAL_WARNINGS + 1);
        assert!(got.contains("26 more files"));
        assert!(got.contains("f29.js"));
    }
}
