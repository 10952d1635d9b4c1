//! Environments: which environment a run deploys to, decided from the event that
//! triggered it and guarded so that production deploys only from its branches.

pub mod event;

use globset::GlobSet;

use crate::config::{Config, EnvironmentConfig};
use crate::globs::glob_set;
pub use event::{EventError, PullRequest, Trigger};

/// Pull request actions that deploy: a new or updated head.
const DEPLOYING_PR_ACTIONS: [&str; 3] = ["opened", "synchronize", "reopened"];

/// The outcome of resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Deploy to `environment`.
    Deploy { environment: String, reason: String },
    /// Deploy nowhere and succeed (exit 0).
    Skip { reason: String },
    /// Publish the pull request's build as its preview over `environment`'s live
    /// manifest (nothing of the environment changes).
    Preview {
        environment: String,
        number: u64,
        /// The head commit: the version is `pr-<number>-<its first 7 hex>`.
        head_sha: String,
        reason: String,
    },
    /// End the pull request's preview in `environment` (it was closed).
    ClosePreview {
        environment: String,
        number: u64,
        reason: String,
    },
}

/// A run that must not deploy and must fail (exit 2).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    /// The run asked for something the configuration forbids.
    #[error("refusing to deploy: {0}")]
    Refused(String),
    /// The named environment does not exist.
    #[error(
        "unknown environment `{name}`: {known}; use one of them or add `{name}` under `environments:` in mfe-deploy.yml"
    )]
    Unknown { name: String, known: String },
}

/// One environment with its compiled patterns.
#[derive(Debug)]
pub struct Environment {
    pub name: String,
    pub config: EnvironmentConfig,
    branches: GlobSet,
    pull_requests_into: GlobSet,
    manual: GlobSet,
    previews_into: GlobSet,
}

/// The environments in priority order: the config's, or the built-in defaults.
#[derive(Debug)]
pub struct Environments {
    list: Vec<Environment>,
    /// The config defines none: the defaults apply.
    pub defaults: bool,
}

impl Environments {
    /// The config's environments (globs already validated), or the two-branch flow:
    /// `master`/`main` → production, `stage` → staging, pull requests into `stage` and
    /// manual runs from anywhere → development.
    pub fn new(config: &Config) -> Result<Self, globset::Error> {
        let defaults = config.environments.is_empty();
        let entries: Vec<(String, EnvironmentConfig)> = if defaults {
            let env = |branches: &[&str], prs: &[&str], manual: &[&str]| EnvironmentConfig {
                branches: branches.iter().map(|s| (*s).to_owned()).collect(),
                pull_requests_into: prs.iter().map(|s| (*s).to_owned()).collect(),
                manual: manual.iter().map(|s| (*s).to_owned()).collect(),
                ..EnvironmentConfig::default()
            };
            vec![
                ("production".to_owned(), env(&["master", "main"], &[], &[])),
                ("staging".to_owned(), env(&["stage"], &[], &[])),
                ("development".to_owned(), env(&[], &["stage"], &["**"])),
            ]
        } else {
            config
                .environments
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let list = entries
            .into_iter()
            .map(|(name, config)| {
                Ok(Environment {
                    branches: glob_set(&config.branches)?,
                    pull_requests_into: glob_set(&config.pull_requests_into)?,
                    manual: glob_set(&config.manual)?,
                    previews_into: glob_set(
                        config
                            .previews
                            .as_ref()
                            .map_or(&[][..], |p| &p.pull_requests_into),
                    )?,
                    name,
                    config,
                })
            })
            .collect::<Result<_, globset::Error>>()?;
        Ok(Self { list, defaults })
    }

    pub fn get(&self, name: &str) -> Option<&Environment> {
        self.list.iter().find(|e| e.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.list.iter().map(|e| e.name.as_str()).collect()
    }

    fn first(&self, accepts: impl Fn(&Environment) -> bool) -> Option<&Environment> {
        self.list.iter().find(|e| accepts(e))
    }

    /// Decides where a run deploys. `requested` is the `environment` input.
    pub fn resolve(
        &self,
        trigger: &Trigger,
        requested: Option<&str>,
    ) -> Result<Resolution, ResolveError> {
        let requested = match requested {
            Some(name) => Some(self.get(name).ok_or_else(|| ResolveError::Unknown {
                name: name.to_owned(),
                known: if self.defaults {
                    format!(
                        "with no environments in the config the defaults apply: {}",
                        self.names().join(", ")
                    )
                } else {
                    format!("the config defines {}", self.names().join(", "))
                },
            })?),
            None => None,
        };
        let what = trigger.describe();
        let deploy = |env: &Environment, why: &str| deploy_to(env, &what, why);
        let skip = |reason: String| Ok(Resolution::Skip { reason });
        match trigger {
            Trigger::Push { branch } => match requested {
                Some(env) if env.branches.is_match(branch) => {
                    deploy(env, "deploys to the requested")
                }
                Some(env) => Err(refused_branch(env, branch, "push")),
                None => match self.first(|e| e.branches.is_match(branch)) {
                    Some(env) => deploy(env, "matches the branches of"),
                    None => skip(format!(
                        "{what}: no environment lists this branch under `branches`, so nothing is deployed"
                    )),
                },
            },
            Trigger::PushTag { .. } => skip(format!("{what}: tags do not deploy")),
            Trigger::BranchDeleted { .. } => {
                skip(format!("{what}: a deleted branch has nothing to deploy"))
            }
            Trigger::MergeQueue { .. } => skip(format!(
                "{what}: merge queue checks do not deploy, even where a `branches` pattern matches the queue's `gh-readonly-queue/…` branch; the merge itself will"
            )),
            Trigger::Other { .. } => skip(format!(
                "{what}: this event does not deploy (deploys come from push, pull_request and workflow_dispatch)"
            )),
            Trigger::PullRequest(pr) => self.resolve_pull_request(pr, requested, &what),
            // NOTE: `branches` and `manual` match branch names; a tag is not one, and
            // matching it as an empty name would let `**` accept every tag.
            Trigger::ManualTag { .. } => match requested {
                Some(env) => Err(ResolveError::Refused(format!(
                    "{what}: tags cannot deploy manually to `{}`, because environments accept manual runs by their `branches` and `manual` patterns, which match branch names only; run the workflow on a branch",
                    env.name
                ))),
                None => skip(format!(
                    "{what}: tags do not deploy; environments accept manual runs by their `branches` and `manual` patterns, which match branch names only"
                )),
            },
            Trigger::Manual { branch } => self.resolve_manual(branch, requested, &what),
            Trigger::Local { branch } => {
                self.resolve_manual(branch.as_deref().unwrap_or(""), requested, &what)
            }
        }
    }

    /// A manual or local run: the requested environment if it accepts the branch,
    /// else the first whose `branches`, then the first whose `manual`, match it.
    fn resolve_manual(
        &self,
        branch: &str,
        requested: Option<&Environment>,
        what: &str,
    ) -> Result<Resolution, ResolveError> {
        let deploy = |env: &Environment, why: &str| deploy_to(env, what, why);
        let accepts = |e: &Environment| e.branches.is_match(branch) || e.manual.is_match(branch);
        match requested {
            Some(env) if accepts(env) => deploy(env, "deploys to the requested"),
            Some(env) => Err(refused_branch(env, branch, "manual run")),
            None => match self
                .first(|e| e.branches.is_match(branch))
                .map(|e| (e, "matches the branches of"))
                .or_else(|| {
                    self.first(|e| e.manual.is_match(branch))
                        .map(|e| (e, "is allowed by the `manual` patterns of"))
                }) {
                Some((env, why)) => deploy(env, why),
                None => Err(ResolveError::Refused(format!(
                    "{what}: no environment accepts a manual run from this branch; add it to an environment's `branches` or `manual` patterns"
                ))),
            },
        }
    }

    fn resolve_pull_request(
        &self,
        pr: &PullRequest,
        requested: Option<&Environment>,
        what: &str,
    ) -> Result<Resolution, ResolveError> {
        let target = requested
            .filter(|e| e.pull_requests_into.is_match(&pr.base))
            .or_else(|| {
                if requested.is_none() {
                    self.first(|e| e.pull_requests_into.is_match(&pr.base))
                } else {
                    None
                }
            });
        if pr.target {
            // NOTE: pull_request_target runs with the base repository's secrets on code
            // from the pull request: the classic "pwn request".
            // https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/
            return match target {
                Some(env) if env.config.allow_pull_request_target => {
                    if !DEPLOYING_PR_ACTIONS.contains(&pr.action.as_str()) {
                        return Ok(Resolution::Skip {
                            reason: format!(
                                "{what}: only opened, synchronize and reopened pull requests deploy"
                            ),
                        });
                    }
                    Ok(Resolution::Deploy {
                        environment: env.name.clone(),
                        reason: format!(
                            "{what} deploys to `{}`, which sets `allow-pull-request-target: true`",
                            env.name
                        ),
                    })
                }
                _ => Err(ResolveError::Refused(format!(
                    "{what}: pull_request_target runs with this repository's secrets on the pull request's code, so it never deploys unless the environment sets `allow-pull-request-target: true`; use the `pull_request` event instead"
                ))),
            };
        }
        // A preview is checked before `pull-requests-into`: the environment it
        // previews is left as it is.
        let previews = |e: &Environment| e.previews_into.is_match(&pr.base);
        let preview = match requested {
            Some(env) => Some(env).filter(|e| previews(e)),
            None => self.first(previews),
        };
        if let Some(env) = preview {
            return Ok(preview_of(env, pr, what));
        }
        if let Some(env) = requested.filter(|e| !e.pull_requests_into.is_match(&pr.base)) {
            return Err(ResolveError::Refused(format!(
                "{what}: environment `{}` does not accept pull requests into `{}` (its `pull-requests-into` patterns do not match)",
                env.name, pr.base
            )));
        }
        if !DEPLOYING_PR_ACTIONS.contains(&pr.action.as_str()) {
            return Ok(Resolution::Skip {
                reason: format!(
                    "{what}: only opened, synchronize and reopened pull requests deploy"
                ),
            });
        }
        if pr.from_fork {
            return Ok(Resolution::Skip {
                reason: format!(
                    "{what}: pull requests from forks get no secrets from GitHub, so they cannot deploy"
                ),
            });
        }
        match target {
            Some(env) => Ok(Resolution::Deploy {
                environment: env.name.clone(),
                reason: format!("{what} matches the `pull-requests-into` of `{}`", env.name),
            }),
            None => Ok(Resolution::Skip {
                reason: format!(
                    "{what}: no environment lists `{}` under `pull-requests-into`",
                    pr.base
                ),
            }),
        }
    }
}

/// A pull request into a base `env` previews: opened, synchronized or reopened, its
/// preview is (re)published; closed (merged or not), it ends. A fork's never deploys.
fn preview_of(env: &Environment, pr: &PullRequest, what: &str) -> Resolution {
    let environment = env.name.clone();
    if pr.from_fork {
        return Resolution::Skip {
            reason: format!(
                "{what}: pull requests from forks get no secrets from GitHub, so they cannot preview"
            ),
        };
    }
    if pr.action == "closed" {
        return Resolution::ClosePreview {
            reason: format!("{what} was closed: its preview in `{environment}` ends"),
            environment,
            number: pr.number,
        };
    }
    if !DEPLOYING_PR_ACTIONS.contains(&pr.action.as_str()) {
        return Resolution::Skip {
            reason: format!("{what}: only opened, synchronize and reopened pull requests preview"),
        };
    }
    Resolution::Preview {
        reason: format!(
            "{what} previews over `{environment}` (its `previews.pull-requests-into` matches)"
        ),
        environment,
        number: pr.number,
        head_sha: pr.head_sha.clone(),
    }
}

fn deploy_to(env: &Environment, what: &str, why: &str) -> Result<Resolution, ResolveError> {
    Ok(Resolution::Deploy {
        environment: env.name.clone(),
        reason: format!("{what} {why} `{}`", env.name),
    })
}

fn refused_branch(env: &Environment, branch: &str, kind: &str) -> ResolveError {
    ResolveError::Refused(format!(
        "environment `{}` does not accept a {kind} from branch `{branch}`: its `branches`{} patterns do not match it",
        env.name,
        if kind == "push" { "" } else { " and `manual`" }
    ))
}

#[cfg(test)]
mod tests;
