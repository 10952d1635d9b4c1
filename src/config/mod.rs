//! `mfe-deploy.yml`: the one file that states environments and the caching policy.
//!
//! Parsing is strict: unknown keys are errors (a typo must not silently fall back to a
//! default), and every error names the file, line and column.

pub mod caching;
pub mod requests;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

pub use caching::{CachingConfig, ClassPolicies, Rule};
pub use requests::RequestsConfig;

/// Everything `mfe-deploy.yml` may say.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Named deploy targets, in priority order (the first match wins).
    #[serde(default)]
    pub environments: IndexMap<String, EnvironmentConfig>,
    /// The caching policy: one place for every `Cache-Control` decision.
    #[serde(default)]
    pub caching: CachingConfig,
    /// CloudFront invalidation settings.
    #[serde(default)]
    pub invalidation: InvalidationConfig,
    /// Where the modules are, for `mfe-deploy modules`.
    #[serde(default)]
    pub modules: ModulesConfig,
    /// Timeouts and attempts of every AWS request.
    #[serde(default)]
    pub requests: RequestsConfig,
    /// Seconds `verify: true` waits for each entry to read back with the uploaded
    /// bytes (a CDN finishing an invalidation). Default 60.
    pub verify_timeout: Option<u64>,
    /// Which old objects go (opt-in); an environment's `retention` replaces it.
    pub retention: Option<RetentionConfig>,
    /// Where mfe-deploy keeps its own objects (deploy records, the pointer, the state
    /// cache): a folder outside every module. Default `_mfe-deploy/`.
    pub records_prefix: Option<String>,
    /// Globs (relative to the build folder) of files that look like secrets or
    /// repository data (`.env`, `*.pem`, …) but are meant to be public.
    #[serde(default)]
    pub allow_sensitive_files: Vec<String>,
}

impl Config {
    /// How long `verify: true` waits for each entry.
    pub fn verify_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.verify_timeout.unwrap_or(60))
    }

    /// The reserved prefix, normalised (`x/y/`); the config must be validated.
    pub fn records_prefix(&self) -> String {
        self.records_prefix
            .as_deref()
            .and_then(crate::layout::normalize_records_prefix)
            .unwrap_or_else(|| crate::layout::DEFAULT_RECORDS_PREFIX.to_owned())
    }
}

/// The `modules:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModulesConfig {
    /// Globs of module folders, relative to the repository root.
    #[serde(default = "default_module_folders")]
    pub folders: Vec<String>,
    /// Changes to files matching these globs redeploy every module.
    #[serde(default = "default_all_when_changed")]
    pub all_when_changed: Vec<String>,
}

impl Default for ModulesConfig {
    fn default() -> Self {
        Self {
            folders: default_module_folders(),
            all_when_changed: default_all_when_changed(),
        }
    }
}

fn default_module_folders() -> Vec<String> {
    vec!["packages/*".to_owned()]
}

fn default_all_when_changed() -> Vec<String> {
    vec!["mfe-deploy.yml".to_owned()]
}

/// The `invalidation:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InvalidationConfig {
    /// Paths per deploy before changed URLs are collapsed into folder wildcards.
    #[serde(default = "default_max_paths")]
    pub max_paths: usize,
    /// Seconds `wait: true` waits for CloudFront to finish.
    #[serde(default = "default_wait_timeout")]
    pub wait_timeout: u64,
}

impl Default for InvalidationConfig {
    fn default() -> Self {
        Self {
            max_paths: default_max_paths(),
            wait_timeout: default_wait_timeout(),
        }
    }
}

fn default_max_paths() -> usize {
    crate::cdn::limits::DEFAULT_BUDGET
}

fn default_wait_timeout() -> u64 {
    600
}

/// One environment: where it deploys and which refs may deploy there.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvironmentConfig {
    /// Branch-name globs whose pushes deploy here.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Base-branch globs whose pull requests deploy here.
    #[serde(default)]
    pub pull_requests_into: Vec<String>,
    /// Branch-name globs from which a manual run may deploy here.
    #[serde(default)]
    pub manual: Vec<String>,
    /// S3 bucket.
    pub bucket: Option<String>,
    /// Key prefix override (default: the package folder's name).
    pub prefix: Option<String>,
    /// CloudFront distribution to invalidate.
    pub distribution_id: Option<String>,
    /// Site base URL.
    pub public_url: Option<String>,
    /// IAM role assumed with the job's OIDC token.
    pub role_to_assume: Option<String>,
    /// AWS region.
    pub aws_region: Option<String>,
    /// Let `pull_request_target` runs deploy here (they run with the base
    /// repository's secrets on untrusted code; off unless set).
    #[serde(default)]
    pub allow_pull_request_target: bool,
    /// Retention for this environment, instead of the top-level one.
    pub retention: Option<RetentionConfig>,
    /// Key of the discovery manifest (versioned mode); default `mfe-manifest.json`.
    pub manifest: Option<String>,
    /// More documents written from the same data, each its own key.
    #[serde(default)]
    pub manifest_formats: ManifestFormats,
    /// Pull-request previews over this environment's live manifest.
    pub previews: Option<PreviewsConfig>,
}

/// `previews:` of an environment: a pull request gets its own preview on top of the
/// environment's live manifest instead of overwriting a shared environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PreviewsConfig {
    /// Base-branch globs whose pull requests preview here (checked before any
    /// environment's `pull-requests-into`).
    #[serde(default)]
    pub pull_requests_into: Vec<String>,
    /// The host that honours `?mfe-preview=`: the `preview-url` starts with it.
    pub public_url: Option<String>,
    /// A role that may write previews only, instead of the environment's.
    pub role_to_assume: Option<String>,
    /// `mfe-deploy previews --prune` ends previews older than this.
    pub keep_days: Option<u64>,
}

/// `retention:` (top level or per environment).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionConfig {
    /// Versions of a module that stay, counted from the deploy records.
    pub keep_versions: Option<usize>,
    /// And anything a deploy of the last N days published.
    pub keep_days: Option<u64>,
    /// More would be deleted: delete nothing, fail, say why.
    #[serde(default = "default_max_deletions")]
    pub max_deletions: usize,
}

fn default_max_deletions() -> usize {
    500
}

impl RetentionConfig {
    fn validate(&self, path: &Path, key: &str) -> Result<(), ConfigError> {
        let invalid = |message: &str| ConfigError::Invalid {
            path: path.to_owned(),
            key: key.to_owned(),
            message: message.to_owned(),
        };
        if self.keep_versions.is_none() && self.keep_days.is_none() {
            return Err(invalid(
                "needs `keep-versions`, `keep-days` or both: without them every old object would go",
            ));
        }
        if self.keep_versions == Some(0) {
            return Err(invalid(
                "`keep-versions` must be 1 or more (the live version stays)",
            ));
        }
        Ok(())
    }
}

/// The `manifest-formats:` of an environment: the keys of documents in formats that
/// shells already consume, besides the native manifest.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ManifestFormats {
    /// `{"<name>": "<entry url>"}` (Nx / Angular Architects `loadManifest`).
    pub flat: Option<String>,
    /// `{"imports": {"<name>": "<entry url>"}}` (single-spa, native import maps).
    pub import_map: Option<String>,
    /// `[{"name": …, "entry": …}]`, the versioned `mf-manifest.json` when the build
    /// has one: what Module Federation 2's `registerRemotes` takes.
    pub module_federation: Option<String>,
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or has unknown or mistyped keys.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A glob pattern does not compile.
    #[error("{path}: `{key}` has an invalid glob `{pattern}`: {message}")]
    Glob {
        path: PathBuf,
        key: String,
        pattern: String,
        message: String,
    },
    /// A value is well-formed YAML but not usable.
    #[error("{path}: `{key}` {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl Config {
    /// Loads `path`; a missing file means the built-in defaults (`explicit` = the user
    /// named this path, so a missing file is an error rather than a silent default).
    pub fn load(path: &Path, explicit: bool) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Self::default());
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let config = Self::parse(&text, path)?;
        config.validate(path)?;
        Ok(config)
    }

    /// Checks every glob and header value, naming the key of the first bad one.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        for (name, env) in &self.environments {
            let lists = [
                ("branches", &env.branches),
                ("pull-requests-into", &env.pull_requests_into),
                ("manual", &env.manual),
            ];
            let previews = env.previews.as_ref().map(|p| &p.pull_requests_into);
            let previews = previews.map(|p| ("previews.pull-requests-into", p));
            for (key, patterns) in lists.into_iter().chain(previews) {
                for (i, pattern) in patterns.iter().enumerate() {
                    caching::check_glob(path, &format!("environments.{name}.{key}[{i}]"), pattern)?;
                }
            }
        }
        for (i, pattern) in self.allow_sensitive_files.iter().enumerate() {
            caching::check_glob(path, &format!("allow-sensitive-files[{i}]"), pattern)?;
        }
        let module_globs = [
            ("folders", &self.modules.folders),
            ("all-when-changed", &self.modules.all_when_changed),
        ];
        for (key, patterns) in module_globs {
            for (i, pattern) in patterns.iter().enumerate() {
                caching::check_glob(path, &format!("modules.{key}[{i}]"), pattern)?;
            }
        }
        let limits = &self.invalidation;
        if !(1..=crate::cdn::limits::MAX_PATHS).contains(&limits.max_paths) {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                key: "invalidation.max-paths".to_owned(),
                message: format!(
                    "must be between 1 and {} (CloudFront's limit per request)",
                    crate::cdn::limits::MAX_PATHS
                ),
            });
        }
        if limits.wait_timeout == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                key: "invalidation.wait-timeout".to_owned(),
                message: "must be a number of seconds above 0".to_owned(),
            });
        }
        if let Some(value) = &self.records_prefix
            && crate::layout::normalize_records_prefix(value).is_none()
        {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                key: "records-prefix".to_owned(),
                message: format!(
                    "`{value}` is not a folder: use names separated by single `/`, without `.` or `..` (the default is `_mfe-deploy/`)"
                ),
            });
        }
        if self
            .verify_timeout
            .is_some_and(|t| !(1..=3600).contains(&t))
        {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                key: "verify-timeout".to_owned(),
                message: "must be a number of seconds from 1 to 3600".to_owned(),
            });
        }
        if let Some(retention) = &self.retention {
            retention.validate(path, "retention")?;
        }
        for (name, env) in &self.environments {
            if let Some(retention) = &env.retention {
                retention.validate(path, &format!("environments.{name}.retention"))?;
            }
        }
        self.requests.validate(path)?;
        self.caching.validate(path)
    }

    /// Parses YAML text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml_ng::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map_or((1, 1), |loc| (loc.line(), loc.column()));
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: strip_location(&e.to_string()),
            }
        })
    }
}

/// serde_yaml_ng appends " at line L column C"; the error already carries both.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let config = Config::parse(text, Path::new("mfe-deploy.yml"))?;
        config.caching.validate(Path::new("mfe-deploy.yml"))?;
        Ok(config)
    }

    #[test]
    fn product_example_parses_with_environments_in_order() {
        let config = parse(
            "environments:\n  production:\n    branches: [master, main]\n    bucket: my-prod-bucket\n    distribution-id: E1PROD\n    public-url: https://my-app.com\n    role-to-assume: arn:aws:iam::111111111111:role/x\n  staging:\n    branches: [stage]\n    bucket: my-stage-bucket\n  development:\n    pull-requests-into: [stage]\n    manual: [\"**\"]\n    bucket: my-dev-bucket\n",
        )
        .unwrap();
        let names: Vec<_> = config.environments.keys().cloned().collect();
        assert_eq!(names, ["production", "staging", "development"]);
        assert_eq!(config.environments["development"].manual, ["**"]);
    }

    #[test]
    fn empty_file_means_defaults() {
        let config = parse("  \n").unwrap();
        assert!(config.environments.is_empty());
    }

    #[test]
    fn unknown_key_is_named_with_line_and_column() {
        let err =
            parse("environments:\n  production:\n    bucket: b\n    buckte: c\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("mfe-deploy.yml:4:"), "{text}");
        assert!(text.contains("unknown field `buckte`"), "{text}");
    }

    #[test]
    fn malformed_yaml_reports_position() {
        let err = parse("caching:\n  rules: [\n").unwrap_err();
        assert!(matches!(err, ConfigError::Parse { line: 3, .. }), "{err}");
    }

    #[test]
    fn missing_default_file_is_defaults_but_missing_named_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mfe-deploy.yml");
        assert!(Config::load(&path, false).is_ok());
        assert!(matches!(
            Config::load(&path, true),
            Err(ConfigError::Read { .. })
        ));
    }
}
