//! Step outputs, appended to `$GITHUB_OUTPUT` in the toolkit's heredoc form with a
//! random delimiter, so no value can end its block early or forge another output.

use std::io::{self, Write};

/// Writes `name<<DELIM\nvalue\nDELIM\n` for each output.
pub fn write_outputs(mut out: impl Write, outputs: &[(&str, String)]) -> io::Result<()> {
    for (name, value) in outputs {
        let delimiter = loop {
            let candidate = format!("ghadelimiter_{}", crate::clock::random_hex());
            if !value.contains(&candidate) && !name.contains(&candidate) {
                break candidate;
            }
        };
        write!(out, "{name}<<{delimiter}\n{value}\n{delimiter}\n")?;
    }
    Ok(())
}

/// Parses heredoc/plain `GITHUB_OUTPUT` content back into pairs (for tests and tools).
pub fn parse_outputs(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for next in lines.by_ref() {
                if next == delimiter {
                    break;
                }
                value.push(next);
            }
            pairs.push((name.to_owned(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            pairs.push((name.to_owned(), value.to_owned()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_including_newlines() {
        let mut out = Vec::new();
        write_outputs(
            &mut out,
            &[
                ("a", "1".to_owned()),
                ("b", "x\ny".to_owned()),
                ("c", String::new()),
            ],
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("a<<ghadelimiter_"));
        assert_eq!(
            parse_outputs(&text),
            [
                ("a".into(), "1".into()),
                ("b".into(), "x\ny".into()),
                ("c".into(), String::new())
            ]
        );
    }

    #[test]
    fn delimiters_differ_between_outputs() {
        let mut out = Vec::new();
        write_outputs(&mut out, &[("a", "1".to_owned()), ("b", "2".to_owned())]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let delimiters: Vec<_> = text
            .lines()
            .filter_map(|l| l.split_once("<<"))
            .map(|(_, d)| d)
            .collect();
        assert_ne!(delimiters[0], delimiters[1]);
    }
}
