//! Where this run deploys: the environment resolved from the trigger, and the
//! validated request for it. Shared by action mode and the CLI.

use crate::config::{Config, ConfigError};
use crate::environment::{Environments, Resolution, Trigger};
use crate::error::Error;
use crate::request::{DeployRequest, InputError, Preview, RawInputs};

/// What the run will do.
#[derive(Debug)]
pub enum Target {
    /// Deploy with this request.
    Deploy {
        request: Box<DeployRequest>,
        reason: String,
    },
    /// Deploy nothing and succeed.
    Skip { reason: String },
}

/// Loads the config, resolves the environment for `trigger`, validates the inputs.
pub fn decide(raw: &RawInputs, trigger: &Trigger) -> Result<(Target, Config), Error> {
    let (config_path, explicit) = raw.config_path();
    let config = Config::load(&config_path, explicit)?;
    let environments = Environments::new(&config).map_err(|e| Error::Internal(e.to_string()))?;
    let deploy = |environment: &str| -> Result<DeployRequest, Error> {
        let mut request = raw.resolve(&environments, environment)?;
        request.aws.bounds = crate::request::bounds(&config.requests);
        request.retention = config
            .environments
            .get(environment)
            .and_then(|e| e.retention.as_ref())
            .or(config.retention.as_ref())
            .map(|r| crate::retention::Policy {
                keep_versions: r.keep_versions,
                keep_days: r.keep_days,
                max_deletions: r.max_deletions,
            });
        request
            .allow_sensitive
            .clone_from(&config.allow_sensitive_files);
        Ok(request)
    };
    let target = match environments.resolve(trigger, raw.environment.as_deref())? {
        Resolution::Skip { reason } => Target::Skip { reason },
        Resolution::Deploy {
            environment,
            reason,
        } => Target::Deploy {
            request: Box::new(deploy(&environment)?),
            reason,
        },
        Resolution::Preview {
            environment,
            number,
            head_sha,
            reason,
        } => {
            let head = short_sha(&head_sha)?;
            let request = previewing(deploy(&environment)?, &config, number, Some(head))?;
            Target::Deploy {
                request: Box::new(request),
                reason,
            }
        }
        Resolution::ClosePreview {
            environment,
            number,
            reason,
        } => Target::Deploy {
            request: Box::new(previewing(deploy(&environment)?, &config, number, None)?),
            reason,
        },
    };
    Ok((target, config))
}

/// `request` turned into pull request `number`'s preview (or its end, without
/// `head`): the versioned layout at `pr-<number>-<head>`, the `previews` role, no
/// retention (a preview role may delete nothing but previews).
fn previewing(
    mut request: DeployRequest,
    config: &Config,
    number: u64,
    head: Option<String>,
) -> Result<DeployRequest, Error> {
    if request.rollout.is_some() {
        return Err(InputError::Invalid {
            name: "rollout",
            value: "(set)".to_owned(),
            hint: "a pull request previews its build and never changes the environment's manifest; roll out from a push or a manual run".to_owned(),
        }
        .into());
    }
    if let Some(version) = &request.republish {
        return Err(InputError::Invalid {
            name: "republish",
            value: version.clone(),
            hint:
                "a pull request previews its build; republish from a manual run (workflow_dispatch)"
                    .to_owned(),
        }
        .into());
    }
    if request.rollback_to.is_some() {
        return Err(InputError::Invalid {
            name: "rollback-to",
            value: "(set)".to_owned(),
            hint:
                "a pull request previews its build; roll back from a manual run (workflow_dispatch)"
                    .to_owned(),
        }
        .into());
    }
    let previews = config
        .environments
        .get(&request.environment)
        .and_then(|e| e.previews.clone())
        .unwrap_or_default();
    if let Some(role) = previews.role_to_assume {
        request.aws.role_to_assume = Some(role);
    }
    request.mode = crate::request::Mode::Versioned;
    request.retention = None;
    let preview = Preview {
        number,
        head,
        public_url: previews.public_url,
    };
    request.version = preview.version();
    request.preview = Some(preview);
    Ok(request)
}

/// The first 7 hex of a commit id, as a version label part.
fn short_sha(sha: &str) -> Result<String, Error> {
    let short: String = sha.chars().take(7).collect::<String>().to_ascii_lowercase();
    if short.len() == 7 && short.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(short);
    }
    Err(Error::Internal(format!(
        "the pull request event names no head commit (`pull_request.head.sha` is {sha:?}): a preview is named after it"
    )))
}

/// Where the modules of a `packages` run go. The trigger is one, so they all deploy
/// or all skip; a module whose inputs do not hold fails alone.
pub enum Modules {
    Skip {
        reason: String,
    },
    Deploy {
        requests: Vec<DeployRequest>,
        /// Why the trigger deploys to their environment.
        reason: String,
        /// The config, once a module loaded it.
        config: Option<Box<Config>>,
        /// Each module that cannot deploy (its folder as given) with why.
        failed: Vec<(String, Error)>,
    },
}

impl Modules {
    /// For callers that deploy all of the modules or none: the first module that
    /// cannot deploy is the run's error.
    pub fn all_or_error(self) -> Result<Self, Error> {
        match self {
            Self::Deploy { mut failed, .. } if !failed.is_empty() => Err(failed.swap_remove(0).1),
            other => Ok(other),
        }
    }
}

/// [`decide`] for every module of a `packages` run. An error is one the whole run
/// shares (its config), before any module deploys.
pub fn decide_all(modules: &[RawInputs], trigger: &Trigger) -> Result<Modules, Error> {
    let mut requests = Vec::new();
    let mut failed = Vec::new();
    let mut config = None;
    let mut why = String::new();
    for module in modules {
        let package = module.package.clone().unwrap_or_default();
        match decide(module, trigger) {
            Ok((Target::Skip { reason }, _)) => return Ok(Modules::Skip { reason }),
            Ok((Target::Deploy { request, reason }, loaded)) => {
                one_prefix_per_module(module, &loaded, &request.environment)?;
                tracing::info!("{package}: {reason}");
                why = reason;
                requests.push(*request);
                config = Some(Box::new(loaded));
            }
            Err(e) => failed.push((package, e)),
        }
    }
    Ok(Modules::Deploy {
        requests,
        reason: why,
        config,
        failed,
    })
}

/// An environment's `prefix` replaces one module's folder-name prefix: in a
/// `packages` run every module would deploy into it, over each other.
fn one_prefix_per_module(
    module: &RawInputs,
    config: &Config,
    environment: &str,
) -> Result<(), ConfigError> {
    match config.environments.get(environment) {
        Some(env) if env.prefix.is_some() => Err(ConfigError::Invalid {
            path: module.config_path().0,
            key: format!("environments.{environment}.prefix"),
            message: "replaces one module's prefix, and a `packages` run deploys several: each \
                      would land in the same prefix. Remove it (each module then deploys under \
                      its folder name), or deploy that module alone with `package`. Nothing was \
                      written."
                .to_owned(),
        }),
        _ => Ok(()),
    }
}
