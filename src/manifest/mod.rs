//! The discovery manifest: which version of each module is live, in the formats
//! shells already consume. Each document is changed only by merging one module's
//! entry into what is there ([`update`]), so deploys of different modules never lose
//! each other's update.

mod queue;
pub mod rollout;
mod update;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use queue::{Queue, Ticket};
pub use update::{
    MAX_ATTEMPTS, ManifestError, Revision, Updated, update, update_all, write_history,
};

/// The `schema` of the native manifest.
pub const SCHEMA: &str = "mfe-deploy/manifest@1";

/// One module's live version, as every format states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LiveEntry {
    /// The federation name shells register the remote under.
    pub name: String,
    /// URL of the version's entry (`remoteEntry.js`, or `index.html` for a shell).
    pub entry: String,
    /// URL of the version's `mf-manifest.json`, when the build has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mf_manifest: Option<String>,
    pub version: String,
    /// Subresource integrity of the entry: `sha384-<base64>`.
    pub integrity: String,
    /// When it went live (RFC 3339, UTC).
    pub deployed: String,
    pub commit: Option<String>,
    /// The version that was live before.
    pub previous: Option<String>,
    /// A version rolling out to part of the users (native manifest only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
}

/// A module's canary: another version served to `percent` of users, decided in the
/// browser by the shell runtime (`runtime/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Canary {
    pub version: String,
    pub entry: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mf_manifest: Option<String>,
    pub integrity: String,
    /// The share of users, 1 to 99.
    pub percent: u8,
    /// The rollout's id: it stays the same while the percentage moves, so a user in
    /// the canary at N% stays in at any higher N.
    pub rollout: String,
    /// When the rollout started (RFC 3339, UTC).
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The native manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Native {
    pub schema: String,
    /// When any module last changed it.
    pub updated: String,
    /// Per module (its prefix without the slash), the live entry.
    pub modules: BTreeMap<String, LiveEntry>,
}

/// A format of document and how one module's entry goes into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// [`Native`].
    Native,
    /// `{"<name>": "<entry url>"}`.
    Flat,
    /// `{"imports": {"<name>": "<entry url>"}}`; other members (`scopes`) are kept.
    ImportMap,
    /// `[{"name": …, "entry": …}]`, sorted by name; `entry` is the versioned
    /// `mf-manifest.json` when there is one.
    ModuleFederation,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Flat => "flat",
            Self::ImportMap => "import-map",
            Self::ModuleFederation => "module-federation",
        }
    }
}

/// Why a document cannot take the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unmergeable(String);

/// The live entry of `module` in a native manifest (`None`: not there, or the
/// document is not one).
pub fn live(bytes: &[u8], module: &str) -> Option<LiveEntry> {
    serde_json::from_slice::<Native>(bytes)
        .ok()
        .filter(|n| n.schema == SCHEMA)
        .and_then(|mut n| n.modules.remove(module))
}

/// Every module's entry in a native document (none when it is not one).
pub fn modules(bytes: &[u8]) -> BTreeMap<String, LiveEntry> {
    serde_json::from_slice::<Native>(bytes)
        .ok()
        .filter(|n| n.schema == SCHEMA)
        .map(|n| n.modules)
        .unwrap_or_default()
}

/// Sets `module`'s entry in `current` (the document as read; `None` when there is
/// none). A document that is not of `format` is refused, never overwritten: it may
/// hold what other tools or people put there.
pub fn merge(
    format: Format,
    current: Option<&[u8]>,
    module: &str,
    entry: &LiveEntry,
    now: &str,
) -> Result<Vec<u8>, Unmergeable> {
    let parsed: Option<Value> = match current {
        None => None,
        Some(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => None,
        Some(bytes) => Some(
            serde_json::from_slice(bytes)
                .map_err(|e| Unmergeable(format!("it is not JSON ({e})")))?,
        ),
    };
    let value = match format {
        Format::Native => {
            let mut native = match parsed {
                None => Native {
                    schema: SCHEMA.to_owned(),
                    updated: String::new(),
                    modules: BTreeMap::new(),
                },
                Some(v) => serde_json::from_value::<Native>(v)
                    .ok()
                    .filter(|n| n.schema == SCHEMA)
                    .ok_or_else(|| {
                        Unmergeable(format!(
                            "it is not an mfe-deploy manifest (`schema` is not `{SCHEMA}`)"
                        ))
                    })?,
            };
            if let Some(other) = claimant(&native, module, &entry.name) {
                return Err(Unmergeable(format!(
                    "module `{other}` already declares the federation name `{}`, and the flat, import-map and Module Federation documents name remotes by it: give this build its own `name` in its Module Federation config",
                    entry.name
                )));
            }
            native.updated = now.to_owned();
            native.modules.insert(module.to_owned(), entry.clone());
            serde_json::to_value(native).map_err(|e| Unmergeable(e.to_string()))?
        }
        Format::Flat => {
            let mut map = object(parsed, "a JSON object of names and URLs")?;
            map.insert(entry.name.clone(), Value::String(entry.entry.clone()));
            Value::Object(map)
        }
        Format::ImportMap => {
            let mut map = object(parsed, "an import map")?;
            let imports = map
                .entry("imports")
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(imports) = imports else {
                return Err(Unmergeable("its `imports` is not an object".to_owned()));
            };
            imports.insert(entry.name.clone(), Value::String(entry.entry.clone()));
            Value::Object(map)
        }
        Format::ModuleFederation => {
            let mut remotes = match parsed {
                None => Vec::new(),
                Some(Value::Array(items)) => items,
                Some(_) => {
                    return Err(Unmergeable("it is not a JSON array of remotes".to_owned()));
                }
            };
            remotes.retain(|r| r.get("name").and_then(Value::as_str) != Some(&entry.name));
            remotes.push(serde_json::json!({
                "name": entry.name,
                "entry": entry.mf_manifest.as_ref().unwrap_or(&entry.entry),
                "version": entry.version,
            }));
            remotes.sort_by(|a, b| {
                let name = |v: &Value| {
                    v.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                name(a).cmp(&name(b))
            });
            Value::Array(remotes)
        }
    };
    let mut out = serde_json::to_vec_pretty(&value).map_err(|e| Unmergeable(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// The other module of `native` that declares the federation name `name`, if any.
fn claimant(native: &Native, module: &str, name: &str) -> Option<String> {
    native
        .modules
        .iter()
        .find(|(m, e)| m.as_str() != module && e.name == name)
        .map(|(m, _)| m.clone())
}

/// The other module that declares `name` in the native manifest `bytes`, if any.
pub fn name_taken(bytes: &[u8], module: &str, name: &str) -> Option<String> {
    serde_json::from_slice::<Native>(bytes)
        .ok()
        .filter(|n| n.schema == SCHEMA)
        .and_then(|n| claimant(&n, module, name))
}

/// Whether the `format` document `current` already names `entry` for `module`: then
/// it need not be written (a re-run repairs only the documents left behind).
pub fn holds(format: Format, current: Option<&[u8]>, module: &str, entry: &LiveEntry) -> bool {
    let Some(value) = current.and_then(|b| serde_json::from_slice::<Value>(b).ok()) else {
        return false;
    };
    let url = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    match format {
        Format::Native => serde_json::from_value::<Native>(value)
            .ok()
            .filter(|n| n.schema == SCHEMA)
            .and_then(|mut n| n.modules.remove(module))
            .is_some_and(|e| {
                e.version == entry.version
                    && e.entry == entry.entry
                    && e.integrity == entry.integrity
                    && e.canary == entry.canary
            }),
        Format::Flat => url(value.get(&entry.name)).as_deref() == Some(entry.entry.as_str()),
        Format::ImportMap => {
            url(value.get("imports").and_then(|i| i.get(&entry.name))).as_deref()
                == Some(entry.entry.as_str())
        }
        Format::ModuleFederation => value.as_array().is_some_and(|items| {
            items.iter().any(|r| {
                url(r.get("name")).as_deref() == Some(entry.name.as_str())
                    && url(r.get("entry")).as_deref()
                        == Some(entry.mf_manifest.as_ref().unwrap_or(&entry.entry).as_str())
                    && url(r.get("version")).as_deref() == Some(entry.version.as_str())
            })
        }),
    }
}

fn object(parsed: Option<Value>, what: &str) -> Result<Map<String, Value>, Unmergeable> {
    match parsed {
        None => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(Unmergeable(format!("it is not {what}"))),
    }
}

/// `sha384-<base64>` of `bytes`, as `<script integrity>` and `registerRemotes` take it.
/// The key of pull request `number`'s overlay beside the native manifest at
/// `native`: `<native without .json>.pr-<number>.json`, in the native format, naming
/// only the modules the pull request previews.
pub fn overlay_key(native: &str, number: u64) -> String {
    let stem = native.strip_suffix(".json").unwrap_or(native);
    format!("{stem}.pr-{number}.json")
}

/// The pull request number of a key that is an overlay of the manifest at `native`.
pub fn overlay_number(native: &str, key: &str) -> Option<u64> {
    let stem = native.strip_suffix(".json").unwrap_or(native);
    let number = key
        .strip_prefix(stem)?
        .strip_prefix(".pr-")?
        .strip_suffix(".json")?;
    number
        .parse()
        .ok()
        .filter(|_| number.bytes().all(|b| b.is_ascii_digit()))
}

pub fn integrity(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!(
        "sha384-{}",
        aws_smithy_types::base64::encode(sha2::Sha384::digest(bytes))
    )
}

/// The federation name a build declares in its `mf-manifest.json` (`name`, or
/// `metaData.name`), if any.
pub fn federation_name(mf_manifest: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(mf_manifest).ok()?;
    value
        .get("name")
        .or_else(|| value.get("metaData").and_then(|m| m.get("name")))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;
