//! The `caching:` section of `mfe-deploy.yml`.

use std::path::Path;

use serde::Deserialize;

use super::ConfigError;
use crate::globs::compile_glob;
use crate::model::FileClass;

/// Federation entries when the config names none.
pub const DEFAULT_FEDERATION_ENTRIES: [&str; 3] =
    ["remoteEntry.js", "remoteEntry-*.js", "mf-manifest.json"];

/// How files are cached.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CachingConfig {
    /// Globs (relative to the dist folder) of Module Federation entry files.
    pub federation_entries: Option<Vec<String>>,
    /// `Cache-Control` per class, replacing the defaults.
    #[serde(default)]
    pub cache_control: ClassPolicies,
    /// Per-file overrides; the first rule whose glob matches wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// `Cache-Control` per class; unset classes keep the default.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClassPolicies {
    pub html: Option<String>,
    pub entry: Option<String>,
    pub immutable: Option<String>,
    pub other: Option<String>,
}

/// One override: files matching `files` get this class and/or headers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rule {
    /// Glob relative to the dist folder (`*` stays within a folder, `**` crosses them).
    pub files: String,
    /// Class to use instead of the detected one (decides the upload phase too).
    pub class: Option<FileClass>,
    /// `Cache-Control` for these files.
    pub cache_control: Option<String>,
    /// `Content-Type` for these files (`charset=utf-8` is added to text types).
    pub content_type: Option<String>,
}

impl CachingConfig {
    /// Checks globs and header values so errors surface before any work starts.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        for (i, pattern) in self.federation_entries.iter().flatten().enumerate() {
            check_glob(path, &format!("caching.federation-entries[{i}]"), pattern)?;
        }
        let policies = [
            ("html", &self.cache_control.html),
            ("entry", &self.cache_control.entry),
            ("immutable", &self.cache_control.immutable),
            ("other", &self.cache_control.other),
        ];
        for (class, value) in policies {
            if let Some(value) = value {
                check_header(path, &format!("caching.cache-control.{class}"), value)?;
            }
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let key = format!("caching.rules[{i}]");
            check_glob(path, &format!("{key}.files"), &rule.files)?;
            if rule.class.is_none() && rule.cache_control.is_none() && rule.content_type.is_none() {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    key,
                    message: "sets nothing: give it `class`, `cache-control` or `content-type`"
                        .to_owned(),
                });
            }
            if let Some(value) = &rule.cache_control {
                check_header(path, &format!("{key}.cache-control"), value)?;
            }
            if let Some(value) = &rule.content_type {
                check_header(path, &format!("{key}.content-type"), value)?;
            }
        }
        Ok(())
    }
}

pub(super) fn check_glob(path: &Path, key: &str, pattern: &str) -> Result<(), ConfigError> {
    compile_glob(pattern)
        .map(|_| ())
        .map_err(|e| ConfigError::Glob {
            path: path.to_owned(),
            key: key.to_owned(),
            pattern: pattern.to_owned(),
            message: e.kind().to_string(),
        })
}

fn check_header(path: &Path, key: &str, value: &str) -> Result<(), ConfigError> {
    let printable = value.bytes().all(|b| (b' '..=b'~').contains(&b));
    if value.trim().is_empty() || !printable {
        return Err(ConfigError::Invalid {
            path: path.to_owned(),
            key: key.to_owned(),
            message: format!("must be a non-empty header value of printable ASCII, got {value:?}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        let config = Config::parse(text, Path::new("mfe-deploy.yml"))?;
        config.caching.validate(Path::new("mfe-deploy.yml"))?;
        Ok(config)
    }

    #[test]
    fn rules_with_class_and_headers_parse() {
        let config = load(
            "caching:\n  federation-entries: [remoteEntry.js]\n  cache-control:\n    other: public, max-age=60\n  rules:\n    - files: \"assets/**\"\n      class: immutable\n    - files: \"**/*.pdf\"\n      cache-control: public, max-age=86400\n",
        )
        .unwrap();
        assert_eq!(config.caching.rules.len(), 2);
        assert_eq!(config.caching.rules[0].class, Some(FileClass::Immutable));
    }

    #[test]
    fn invalid_glob_is_named_with_its_key() {
        let err = load("caching:\n  rules:\n    - files: \"a[\"\n      class: html\n").unwrap_err();
        assert!(err.to_string().contains("caching.rules[0].files"), "{err}");
    }

    #[test]
    fn rule_that_sets_nothing_is_refused() {
        let err = load("caching:\n  rules:\n    - files: \"*.js\"\n").unwrap_err();
        assert!(err.to_string().contains("sets nothing"), "{err}");
    }

    #[test]
    fn unknown_class_is_a_parse_error() {
        let err =
            load("caching:\n  rules:\n    - files: \"*.js\"\n      class: forever\n").unwrap_err();
        assert!(matches!(err, ConfigError::Parse { line: 4, .. }), "{err}");
    }

    #[test]
    fn header_with_newline_is_refused() {
        let err = load("caching:\n  cache-control:\n    html: \"no-cache\\nx: y\"\n").unwrap_err();
        assert!(
            err.to_string().contains("caching.cache-control.html"),
            "{err}"
        );
    }
}
