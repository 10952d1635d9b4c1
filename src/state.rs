//! The deploy state cache, kept in the reserved prefix
//! (`_mfe-deploy/modules/<module>/state.json`, see `layout`). It is a cache: lost,
//! the next deploy reads object headers once and is merely slower.
//!
//! S3 listings carry ETags but no headers. Recording, per key, the ETag we left there
//! together with the content's SHA-256 and the headers we set lets a rebuild be checked
//! with one LIST and one GET per module — no request per file — and lets a change of
//! caching policy be detected without a HEAD per object. The record is trusted for a
//! key only while the listing still shows the ETag it recorded, so anything written by
//! another tool is re-checked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::Headers;

/// Current format number; other formats are ignored (and rewritten) rather than trusted.
pub const FORMAT: u32 = 1;

/// What mfe-deploy last left under a module prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DeployState {
    pub format: u32,
    /// Version of the last deploy that changed anything.
    pub version: String,
    /// Per path relative to the module's prefix; kept for files no longer in the
    /// build. A versioned deploy's: its version's files alone (`<version>/<path>`).
    pub files: BTreeMap<String, FileRecord>,
    /// The deploy record this state's writer went on to write, or knew as the newest
    /// when it wrote none. When the pointer names the same record, no record came
    /// after it and the next deploy need not list the records (docs/records.md).
    /// Absent: the records are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

/// One object as mfe-deploy left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileRecord {
    /// ETag S3 reported after our write (without quotes).
    pub etag: String,
    pub sha256: String,
    pub size: u64,
    #[serde(flatten)]
    pub headers: Headers,
    /// The newest deployed version that contained this file.
    pub last_version: String,
}

impl DeployState {
    /// Parses a stored state; `None` for unreadable or other-format documents.
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(bytes)
            .ok()
            .filter(|s| s.format == FORMAT)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(etag: &str) -> FileRecord {
        FileRecord {
            etag: etag.to_owned(),
            sha256: "ab".to_owned(),
            size: 1,
            headers: Headers {
                cache_control: "no-cache".to_owned(),
                content_type: "text/html; charset=utf-8".to_owned(),
            },
            last_version: "v1".to_owned(),
        }
    }

    #[test]
    fn round_trips_through_json() {
        let mut state = DeployState {
            format: FORMAT,
            version: "v1".to_owned(),
            ..DeployState::default()
        };
        state.files.insert("index.html".to_owned(), record("e1"));
        let parsed = DeployState::from_json(&state.to_json()).unwrap();
        assert_eq!(parsed, state);
        let text = String::from_utf8(state.to_json()).unwrap();
        assert!(text.contains("\"cache-control\": \"no-cache\""), "{text}");
    }

    #[test]
    fn foreign_or_corrupt_documents_are_ignored() {
        assert!(DeployState::from_json(b"not json").is_none());
        assert!(DeployState::from_json(br#"{"format": 99, "version": "", "files": {}}"#).is_none());
    }
}
