//! One deploy request, resolved from raw inputs (CLI flags or action inputs) and the
//! config file, validated before anything touches the network.

mod checks;
pub mod confine;
mod packages;

use std::fmt;
use std::path::PathBuf;

use crate::aws::timeouts::Bounds;
pub use crate::aws::{AwsSettings, StaticCredentials};
use crate::config::RequestsConfig;
use crate::environment::Environments;
pub use checks::Doctor;
use checks::{
    check_key, check_url, check_version, default_prefix, invalid, normalize_prefix, parse_bool,
    validate_bucket,
};

/// Inputs as given, before validation; CLI flags and `INPUT_*` both land here.
/// `Debug` shows whether a secret is set, never its value.
#[derive(Default, Clone)]
pub struct RawInputs {
    pub package: Option<String>,
    /// Several module folders or globs (`packages/*`), instead of `package`.
    pub packages: Option<String>,
    pub dist: Option<String>,
    pub config: Option<String>,
    pub environment: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub distribution_id: Option<String>,
    pub public_url: Option<String>,
    pub mode: Option<String>,
    pub version: Option<String>,
    pub manifest: Option<String>,
    pub rollback_to: Option<String>,
    pub rollout: Option<String>,
    pub republish: Option<String>,
    pub doctor: Option<String>,
    pub dry_run: Option<String>,
    pub wait: Option<String>,
    pub aws_region: Option<String>,
    pub role_to_assume: Option<String>,
    pub aws_access_key_id: Option<String>,
    pub aws_secret_access_key: Option<String>,
    pub aws_session_token: Option<String>,
    pub endpoint_url: Option<String>,
    pub verify: Option<String>,
    /// The folder `package` and `dist` must stay inside (`None`: anywhere, the
    /// CLI's `--allow-outside`), and what to tell a user who needs otherwise.
    pub workspace: Option<(PathBuf, &'static str)>,
}

impl fmt::Debug for RawInputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<String>| s.as_ref().map(|_| "<set>");
        f.debug_struct("RawInputs")
            .field("package", &self.package)
            .field("packages", &self.packages)
            .field("dist", &self.dist)
            .field("config", &self.config)
            .field("environment", &self.environment)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("distribution_id", &self.distribution_id)
            .field("public_url", &self.public_url)
            .field("mode", &self.mode)
            .field("version", &self.version)
            .field("dry_run", &self.dry_run)
            .field("aws_region", &self.aws_region)
            .field("role_to_assume", &self.role_to_assume)
            .field("aws_access_key_id", &set(&self.aws_access_key_id))
            .field("aws_secret_access_key", &set(&self.aws_secret_access_key))
            .field("aws_session_token", &set(&self.aws_session_token))
            .field("endpoint_url", &self.endpoint_url)
            .field("verify", &self.verify)
            .finish_non_exhaustive()
    }
}

/// How a module is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fixed URLs, rewritten in a safe order.
    InPlace,
    /// Immutable `prefix/<version>/…`, made live by the discovery manifest.
    Versioned,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InPlace => "in-place",
            Self::Versioned => "versioned",
        }
    }
}

/// What `rollback-to` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTarget {
    /// The version live before the current one.
    Previous,
    Version(String),
}

/// The keys of the discovery manifest and of the other formats written with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestKeys {
    pub native: String,
    pub flat: Option<String>,
    pub import_map: Option<String>,
    pub module_federation: Option<String>,
}

/// The manifest key when neither the input nor the environment names one.
pub const DEFAULT_MANIFEST: &str = "mfe-manifest.json";

/// A validated deploy request.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// The package folder as given (relative to the working directory).
    pub package: PathBuf,
    /// The dist folder as given, relative to the package.
    pub dist: String,
    pub environment: String,
    pub bucket: String,
    /// Key prefix: empty (bucket root) or ending with `/`.
    pub prefix: String,
    pub distribution_id: Option<String>,
    pub public_url: Option<String>,
    /// Version label; `None` means the build digest.
    pub version: Option<String>,
    pub dry_run: bool,
    pub wait: bool,
    pub mode: Mode,
    /// Versioned mode: where the discovery manifest lives.
    pub manifest: ManifestKeys,
    /// Repoint the manifest instead of deploying a build.
    pub rollback_to: Option<RollbackTarget>,
    /// A canary step instead of moving everyone to the build.
    pub rollout: Option<Rollout>,
    /// Copy this version's files to a fresh label and move the manifest to it,
    /// instead of deploying a build.
    pub republish: Option<String>,
    /// Check the live files through `public-url` instead of deploying.
    pub doctor: Option<Doctor>,
    /// Read each published entry back through `public-url`.
    pub verify: bool,
    /// What old objects go after the deploy (config `retention`).
    pub retention: Option<crate::retention::Policy>,
    /// Sensitive-looking files the config lets through (`allow-sensitive-files`).
    pub allow_sensitive: Vec<String>,
    /// A pull request's preview instead of a deploy of the environment.
    pub preview: Option<Preview>,
    pub aws: AwsSettings,
}

impl DeployRequest {
    /// Whether the run reads the build: a rollback, the end of a preview, a promote or
    /// abort do not, nor a rollout step naming an already published `version` whose
    /// build is not here.
    pub fn reads_build(&self) -> bool {
        let rollout_without_build = match self.rollout {
            Some(Rollout::Promote | Rollout::Abort) => true,
            Some(Rollout::Percent(_)) => self.version.is_some() && !self.dist_path().exists(),
            None => false,
        };
        self.rollback_to.is_none()
            && self.republish.is_none()
            && self.doctor.is_none()
            && self.preview.as_ref().is_none_or(|p| p.head.is_some())
            && !rollout_without_build
    }
}

/// `rollout`: a versioned deploy's canary step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// The build (or the version named) goes live for this share of users, 1 to 99.
    Percent(u8),
    /// The canary becomes the stable version for everyone.
    Promote,
    /// The canary is removed.
    Abort,
}

/// A pull request's preview of a module over its environment's live manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub number: u64,
    /// The first 7 hex of the head commit; `None` when the preview ends.
    pub head: Option<String>,
    /// `previews.public-url`: the host that honours `?mfe-preview=`.
    pub public_url: Option<String>,
}

impl Preview {
    /// The id the shell runtime reads from `?mfe-preview=`.
    pub fn id(&self) -> String {
        format!("pr-{}", self.number)
    }

    /// The version a preview publishes: `pr-<number>-<head>`.
    pub fn version(&self) -> Option<String> {
        self.head.as_ref().map(|h| format!("{}-{h}", self.id()))
    }

    /// The link reviewers open: the preview host with `?mfe-preview=pr-<number>`.
    pub fn url(&self) -> Option<String> {
        let base = self.public_url.as_deref()?;
        let glue = if base.contains('?') { '&' } else { '?' };
        Some(format!("{base}{glue}mfe-preview={}", self.id()))
    }
}

/// Why the inputs cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A required input is missing.
    #[error("input `{name}` is required: {hint}")]
    Missing { name: &'static str, hint: String },
    /// An input has a value that cannot be used.
    #[error("input `{name}` is invalid ({value:?}): {hint}")]
    Invalid {
        name: &'static str,
        value: String,
        hint: String,
    },
}

/// The config file read when none is named.
pub const DEFAULT_CONFIG: &str = "mfe-deploy.yml";

impl RawInputs {
    /// The config path, and whether a missing file is an error: only when the user
    /// named another file (the runner passes the default name explicitly).
    pub fn config_path(&self) -> (PathBuf, bool) {
        match self.config.as_deref() {
            Some(path) if path != DEFAULT_CONFIG => (PathBuf::from(path), true),
            _ => (PathBuf::from(DEFAULT_CONFIG), false),
        }
    }

    /// Validates the inputs for a deploy to `environment` (already resolved).
    pub fn resolve(
        &self,
        environments: &Environments,
        environment: &str,
    ) -> Result<DeployRequest, InputError> {
        let package = self.package.clone().ok_or_else(|| InputError::Missing {
            name: "package",
            hint: "name the module folder, e.g. `packages/subscriptions`".to_owned(),
        })?;
        let dist = self.dist.clone().unwrap_or_else(|| "dist".to_owned());
        if let Some((workspace, hint)) = &self.workspace {
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            confine::confine(workspace, &cwd, std::path::Path::new(&package), &dist, hint)?;
        }
        let environment = environment.to_owned();
        let env = environments.get(&environment).map(|e| &e.config);
        let rollback_to = match self.rollback_to.as_deref() {
            None => None,
            Some("previous") => Some(RollbackTarget::Previous),
            Some(v) => {
                check_version("rollback-to", v, "or `previous`")?;
                Some(RollbackTarget::Version(v.to_owned()))
            }
        };
        let rollout = self
            .rollout
            .as_deref()
            .map(checks::parse_rollout)
            .transpose()?;
        if let (Some(_), Some(to)) = (rollout, &self.rollback_to) {
            return Err(invalid(
                "rollout",
                self.rollout.as_deref().unwrap_or_default(),
                &format!(
                    "`rollback-to: {to}` already repoints the manifest (and clears any canary): set one of them"
                ),
            ));
        }
        let republish = checks::republish(self)?;
        let mode = match self.mode.as_deref() {
            None if rollback_to.is_some() || rollout.is_some() || republish.is_some() => {
                Mode::Versioned
            }
            None | Some("in-place") => Mode::InPlace,
            Some("versioned") => Mode::Versioned,
            Some(other) => return Err(invalid("mode", other, "use `in-place` or `versioned`")),
        };
        if mode == Mode::InPlace && rollout.is_some() {
            return Err(invalid(
                "rollout",
                self.rollout.as_deref().unwrap_or_default(),
                "a canary lives in the versioned-mode manifest: use it with `mode: versioned`",
            ));
        }
        if let (Mode::InPlace, Some(version)) = (mode, &republish) {
            return Err(invalid(
                "republish",
                version,
                "a republish gives a version fresh URLs under the versioned layout; an in-place module's URLs are its file names: deploy it with `mode: versioned` (its next build gets its own folder), or rebuild with new content hashes",
            ));
        }
        if mode == Mode::InPlace && rollback_to.is_some() {
            return Err(invalid(
                "rollback-to",
                self.rollback_to.as_deref().unwrap_or_default(),
                "a rollback repoints the versioned-mode manifest: use it with `mode: versioned` (an in-place module is rolled back by deploying the previous build)",
            ));
        }
        let formats = env.map(|e| e.manifest_formats.clone()).unwrap_or_default();
        let manifest = ManifestKeys {
            native: self
                .manifest
                .clone()
                .or_else(|| env.and_then(|e| e.manifest.clone()))
                .unwrap_or_else(|| DEFAULT_MANIFEST.to_owned()),
            flat: formats.flat,
            import_map: formats.import_map,
            module_federation: formats.module_federation,
        };
        for key in [
            Some(&manifest.native),
            manifest.flat.as_ref(),
            manifest.import_map.as_ref(),
            manifest.module_federation.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            check_key("manifest", key)?;
        }
        let bucket = self
            .bucket
            .clone()
            .or_else(|| env.and_then(|e| e.bucket.clone()))
            .ok_or_else(|| InputError::Missing {
                name: "bucket",
                hint: format!(
                    "pass `bucket`, or set `environments.{environment}.bucket` in mfe-deploy.yml"
                ),
            })?;
        validate_bucket(&bucket)?;
        let prefix = match self
            .prefix
            .clone()
            .or_else(|| env.and_then(|e| e.prefix.clone()))
        {
            Some(prefix) => normalize_prefix(&prefix)?,
            None => default_prefix(&package)?,
        };
        let version = self.version.clone();
        if let Some(v) = &version {
            check_version("version", v, "")?;
        }
        let public_url = self
            .public_url
            .clone()
            .or_else(|| env.and_then(|e| e.public_url.clone()));
        let verify = parse_bool("verify", self.verify.as_deref())?;
        if verify && public_url.is_none() {
            return Err(InputError::Missing {
                name: "public-url",
                hint: format!(
                    "`verify: true` reads the entries back through it: pass `public-url`, or set `environments.{environment}.public-url`"
                ),
            });
        }
        if let Some(url) = &public_url {
            check_url("public-url", url)?;
        }
        if let Some(url) = &self.endpoint_url {
            check_url("endpoint-url", url)?;
        }
        let credentials = match (&self.aws_access_key_id, &self.aws_secret_access_key) {
            (Some(id), Some(secret)) => Some(StaticCredentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: self.aws_session_token.clone(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(InputError::Missing {
                    name: "aws-secret-access-key",
                    hint: "it must accompany `aws-access-key-id`".to_owned(),
                });
            }
            (None, Some(_)) => {
                return Err(InputError::Missing {
                    name: "aws-access-key-id",
                    hint: "it must accompany `aws-secret-access-key`".to_owned(),
                });
            }
        };
        let role_to_assume = self
            .role_to_assume
            .clone()
            .or_else(|| env.and_then(|e| e.role_to_assume.clone()));
        if let Some(role) = &role_to_assume {
            let parts: Vec<&str> = role.splitn(6, ':').collect();
            let valid = parts.len() == 6
                && parts[0] == "arn"
                && parts[1].starts_with("aws")
                && parts[2] == "iam"
                && parts[4].len() == 12
                && parts[4].bytes().all(|b| b.is_ascii_digit())
                && parts[5].starts_with("role/");
            if !valid {
                return Err(invalid(
                    "role-to-assume",
                    role,
                    "give the role's ARN, e.g. arn:aws:iam::111111111111:role/mfe-deploy-production",
                ));
            }
            if credentials.is_some() {
                return Err(invalid(
                    "role-to-assume",
                    role,
                    "give either a role (assumed with the job's OIDC token) or static keys, not both",
                ));
            }
        }
        Ok(DeployRequest {
            package: PathBuf::from(package),
            dist,
            environment,
            bucket,
            prefix,
            distribution_id: self
                .distribution_id
                .clone()
                .or_else(|| env.and_then(|e| e.distribution_id.clone())),
            public_url,
            version,
            dry_run: parse_bool("dry-run", self.dry_run.as_deref())?,
            wait: parse_bool("wait", self.wait.as_deref())?,
            mode,
            manifest,
            rollback_to,
            rollout,
            republish,
            doctor: checks::doctor(self)?,
            verify,
            retention: None,
            allow_sensitive: Vec::new(),
            preview: None,
            aws: AwsSettings {
                region: self
                    .aws_region
                    .clone()
                    .or_else(|| env.and_then(|e| e.aws_region.clone()))
                    .unwrap_or_else(|| "us-east-1".to_owned()),
                endpoint_url: self.endpoint_url.clone(),
                credentials,
                role_to_assume,
                bounds: bounds(&RequestsConfig::default()),
            },
        })
    }

    /// Secret values that must be masked in the runner's log.
    pub fn secrets(&self) -> Vec<&str> {
        [
            &self.aws_access_key_id,
            &self.aws_secret_access_key,
            &self.aws_session_token,
        ]
        .into_iter()
        .filter_map(|s| s.as_deref())
        .collect()
    }
}

/// The bounds on AWS requests that the config's `requests:` section states.
pub fn bounds(requests: &RequestsConfig) -> Bounds {
    Bounds::new(
        requests.connect_timeout,
        requests.attempt_timeout,
        requests.timeout_per_mib,
        requests.max_attempts,
    )
}

impl DeployRequest {
    /// The dist folder on disk.
    pub fn dist_path(&self) -> PathBuf {
        self.package.join(&self.dist)
    }
}

#[cfg(test)]
mod tests;
