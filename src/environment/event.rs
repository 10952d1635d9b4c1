//! What triggered the run, read from the runner's variables and the event payload.
//!
//! `GITHUB_EVENT_NAME` is the caller's event inside a reusable workflow
//! (`workflow_call`), so reusable workflows need no special case.
//! See <https://docs.github.com/actions/reference/events-that-trigger-workflows>.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The branches a merge queue creates to test a merge before it happens:
/// `gh-readonly-queue/<base>/pr-<number>-<sha>`. Pushes to them trigger `push`
/// workflows whose branch filters match them.
/// See <https://docs.github.com/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/managing-a-merge-queue#triggering-merge-group-checks-with-third-party-ci-providers>.
pub const MERGE_QUEUE_PREFIX: &str = "gh-readonly-queue/";

/// The facts about a run that decide its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A push of a branch.
    Push { branch: String },
    /// A push of a tag.
    PushTag { tag: String },
    /// A push that deleted a branch.
    BranchDeleted { branch: String },
    /// A `pull_request` (or, with `target`, a `pull_request_target`) event.
    PullRequest(PullRequest),
    /// A `workflow_dispatch` run on a branch.
    Manual { branch: String },
    /// A `workflow_dispatch` run on a tag. Environments accept manual runs by branch
    /// patterns, so a tag is never matched against them.
    ManualTag { tag: String },
    /// A merge queue check: a `merge_group` event, or a push (or manual run) of a
    /// merge queue branch (`gh-readonly-queue/…`).
    MergeQueue { head_ref: String },
    /// Not on a GitHub runner: the CLI on a developer's machine, on the checked-out
    /// branch when it can be read.
    Local { branch: Option<String> },
    /// Any other event.
    Other { event: String },
}

/// A pull request event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// `pull_request_target`: runs with the base repository's secrets.
    pub target: bool,
    pub action: String,
    pub number: u64,
    pub base: String,
    pub head: String,
    /// The head commit (`pull_request.head.sha`), empty when the payload has none.
    pub head_sha: String,
    /// The head branch lives in another repository (or one since deleted).
    pub from_fork: bool,
}

/// The event cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// `GITHUB_EVENT_NAME` is missing on a runner.
    #[error(
        "GITHUB_EVENT_NAME is not set: mfe-deploy must run as a step of a GitHub Actions job (or use the CLI subcommands locally)"
    )]
    NoEventName,
    /// The payload file cannot be read or parsed.
    #[error("cannot read the event payload {path} (GITHUB_EVENT_PATH): {message}")]
    Payload { path: PathBuf, message: String },
}

impl Trigger {
    /// Reads the trigger from the runner environment (`get` reads a variable).
    pub fn from_runner(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, EventError> {
        let event = get("GITHUB_EVENT_NAME")
            .filter(|e| !e.is_empty())
            .ok_or(EventError::NoEventName)?;
        let payload = match get("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()) {
            Some(path) => read_payload(Path::new(&path))?,
            None => Value::Null,
        };
        let git_ref = get("GITHUB_REF")
            .filter(|r| !r.is_empty())
            .or_else(|| payload["ref"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(match event.as_str() {
            // NOTE: for a deleted branch the runner sets GITHUB_REF to the default
            // branch; the payload's `ref` is always the ref that was pushed.
            "push" => {
                let pushed = payload["ref"].as_str().map_or(git_ref, str::to_owned);
                Self::push(&pushed, payload["deleted"].as_bool() == Some(true))
            }
            "pull_request" | "pull_request_target" => {
                Self::PullRequest(pull_request(&payload, get, event == "pull_request_target"))
            }
            "workflow_dispatch" => Self::manual(&git_ref),
            "merge_group" => Self::MergeQueue {
                head_ref: payload["merge_group"]["head_ref"]
                    .as_str()
                    .map_or(git_ref, str::to_owned),
            },
            _ => Self::Other { event },
        })
    }

    fn push(git_ref: &str, deleted: bool) -> Self {
        match (branch_of(git_ref), tag_of(git_ref)) {
            (Some(branch), _) if deleted => Self::BranchDeleted { branch },
            (Some(branch), _) if branch.starts_with(MERGE_QUEUE_PREFIX) => Self::MergeQueue {
                head_ref: git_ref.to_owned(),
            },
            (Some(branch), _) => Self::Push { branch },
            (None, Some(tag)) => Self::PushTag { tag },
            (None, None) => Self::Other {
                event: format!("push of {git_ref}"),
            },
        }
    }

    fn manual(git_ref: &str) -> Self {
        match (branch_of(git_ref), tag_of(git_ref)) {
            (Some(branch), _) if branch.starts_with(MERGE_QUEUE_PREFIX) => Self::MergeQueue {
                head_ref: git_ref.to_owned(),
            },
            (Some(branch), _) => Self::Manual { branch },
            (None, Some(tag)) => Self::ManualTag { tag },
            (None, None) => Self::Other {
                event: format!("workflow_dispatch on {git_ref}"),
            },
        }
    }

    /// A local run on the branch checked out in `repo` (read from `.git/HEAD`).
    pub fn local(repo: &Path) -> Self {
        let branch = std::fs::read_to_string(repo.join(".git/HEAD"))
            .ok()
            .and_then(|head| {
                head.trim()
                    .strip_prefix("ref: refs/heads/")
                    .map(str::to_owned)
            });
        Self::Local { branch }
    }

    /// Short description for logs and summaries.
    pub fn describe(&self) -> String {
        match self {
            Self::Push { branch } => format!("push to `{branch}`"),
            Self::PushTag { tag } => format!("push of tag `{tag}`"),
            Self::BranchDeleted { branch } => format!("deletion of branch `{branch}`"),
            Self::PullRequest(pr) => format!(
                "{} #{} ({}) from `{}` into `{}`",
                if pr.target {
                    "pull_request_target"
                } else {
                    "pull request"
                },
                pr.number,
                pr.action,
                pr.head,
                pr.base
            ),
            Self::Manual { branch } => format!("manual run on `{branch}`"),
            Self::ManualTag { tag } => format!("manual run on tag `{tag}`"),
            Self::MergeQueue { head_ref } => format!("merge queue check `{head_ref}`"),
            Self::Local { branch: Some(b) } => format!("local run on `{b}`"),
            Self::Local { branch: None } => "local run".to_owned(),
            Self::Other { event } => format!("`{event}` event"),
        }
    }
}

fn read_payload(path: &Path) -> Result<Value, EventError> {
    let error = |message: String| EventError::Payload {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| error(e.to_string()))
}

fn pull_request(
    payload: &Value,
    get: &dyn Fn(&str) -> Option<String>,
    target: bool,
) -> PullRequest {
    let pr = &payload["pull_request"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let base = text(&pr["base"]["ref"])
        .or_else(|| get("GITHUB_BASE_REF"))
        .unwrap_or_default();
    let head = text(&pr["head"]["ref"])
        .or_else(|| get("GITHUB_HEAD_REF"))
        .unwrap_or_default();
    let base_repo = text(&pr["base"]["repo"]["full_name"]);
    let head_repo = text(&pr["head"]["repo"]["full_name"]);
    // Fails closed: only a payload naming both repositories, the same one, is not a
    // fork. A deleted fork leaves `head.repo` null; a payload that names neither
    // cannot prove the pull request came from inside.
    let from_fork = match (head_repo, base_repo) {
        (Some(head), Some(base)) => !head.eq_ignore_ascii_case(&base),
        _ => true,
    };
    PullRequest {
        target,
        action: text(&payload["action"]).unwrap_or_default(),
        number: payload["number"]
            .as_u64()
            .or_else(|| pr["number"].as_u64())
            .unwrap_or(0),
        base,
        head,
        head_sha: text(&pr["head"]["sha"]).unwrap_or_default(),
        from_fork,
    }
}

fn branch_of(git_ref: &str) -> Option<String> {
    git_ref.strip_prefix("refs/heads/").map(str::to_owned)
}

fn tag_of(git_ref: &str) -> Option<String> {
    git_ref.strip_prefix("refs/tags/").map(str::to_owned)
}
