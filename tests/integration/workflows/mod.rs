//! The workflows this repository ships (the reusable workflow, the examples and the
//! README's usage example): the build never holds the deploy token, the deploy runs in
//! its environment and in its module's one queue, every action is pinned; and the
//! release writes the image's digest into `action.yml` on the version tag.

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn workflow(path: &str) -> Value {
    serde_yaml_ng::from_str(&read(path)).unwrap()
}

/// The queue of a module in an environment, as docs/workflows.md documents it.
const QUEUE_AS_DOCUMENTED: &str = "mfe-deploy-<environment>-<module folder>";
const QUEUE_PREFIX: &str = "mfe-deploy-";

/// Commands that install packages and run their lifecycle scripts.
const PACKAGE_MANAGERS: [&str; 6] = ["npm", "npx", "yarn", "pnpm", "bun", "corepack"];

/// Subcommands of the image that write nothing but `$GITHUB_OUTPUT`.
const READ_ONLY_SUBCOMMANDS: [&str; 2] = ["resolve", "modules"];

/// This repository: its action, reusable workflow and image are named by release tag
/// (zizmor.yml says why); everything else by commit SHA or digest.
const OURS: &str = "mfe-deploy/mfe-deploy";
const OUR_IMAGE: &str = "docker://ghcr.io/mfe-deploy/mfe-deploy";

/// Every workflow this repository ships, with its text: `.github/workflows/*.yml`,
/// `examples/workflows/*.yml` and the README's usage example.
fn shipped_workflows() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for dir in [".github/workflows", "examples/workflows"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect();
        paths.sort();
        for path in paths {
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let text = read(&name);
            found.push((name, text));
        }
    }
    found.push(("README.md (Usage)".to_owned(), readme_usage()));
    found
}

/// The YAML block under the README's `## Usage`.
fn readme_usage() -> String {
    let readme = read("README.md");
    let usage = &readme[readme
        .find("\n## Usage\n")
        .expect("README.md has a Usage section")..];
    let start = usage.find("```yaml\n").expect("a yaml block under Usage") + "```yaml\n".len();
    let end = usage[start..].find("\n```").expect("the yaml block ends");
    usage[start..=start + end].to_owned()
}

// ---------------------------------------------------------------------------------
// The checks, one function each, so that each can be shown to fail (see the tests on
// broken workflows below).

/// A value in a workflow: one whole `${{ }}` expression (whitespace squeezed), or text.
#[derive(Debug, PartialEq)]
enum Part {
    Expr(String),
    Literal(String),
}

fn part(value: &str) -> Part {
    let value = value.trim();
    match value
        .strip_prefix("${{")
        .and_then(|rest| rest.strip_suffix("}}"))
    {
        Some(inner) if !inner.contains("}}") => {
            Part::Expr(inner.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        _ => Part::Literal(value.to_owned()),
    }
}

/// A group of the form `mfe-deploy-<environment>-<module>`, split into its two parts;
/// each is one expression or plain text.
fn queue_parts(group: &str) -> Option<(Part, Part)> {
    let rest = group.trim().strip_prefix(QUEUE_PREFIX)?;
    let (environment, module) = if rest.starts_with("${{") {
        let end = rest.find("}}")? + "}}".len();
        (&rest[..end], rest[end..].strip_prefix('-')?)
    } else {
        rest.split_once('-')?
    };
    let plain = |p: &Part| matches!(p, Part::Literal(l) if l.is_empty() || l.contains("${{"));
    let (environment, module) = (part(environment), part(module));
    (!plain(&environment) && !plain(&module)).then_some((environment, module))
}

/// Whether a queue's environment part is the environment the job runs in. A dry run
/// (which writes nothing) may take a group of its own instead:
/// `inputs.dry-run && format('dry-run-{0}', github.run_id) || <environment>`.
fn names_environment(queue: &Part, environment: &Part) -> bool {
    if queue == environment {
        return true;
    }
    let (Part::Expr(queue), Part::Expr(environment)) = (queue, environment) else {
        return false;
    };
    queue
        .strip_suffix(environment.as_str())
        .and_then(|head| head.trim_end().strip_suffix("||"))
        .is_some_and(|dry| {
            dry.trim_start().starts_with("inputs.dry-run &&") && dry.contains("github.run_id")
        })
}

fn steps(job: &Value) -> &[Value] {
    job["steps"].as_sequence().map_or(&[], |s| s.as_slice())
}

fn uses(step: &Value) -> &str {
    step["uses"].as_str().unwrap_or_default()
}

fn environment_of(job: &Value) -> Option<Part> {
    let environment = &job["environment"];
    let name = environment
        .as_str()
        .or_else(|| environment["name"].as_str())?;
    (!name.trim().is_empty()).then(|| part(name))
}

fn holds_id_token(job: &Value) -> bool {
    match &job["permissions"] {
        Value::String(all) => all == "write-all",
        permissions => permissions["id-token"].as_str() == Some("write"),
    }
}

fn runs_package_manager(job: &Value) -> bool {
    steps(job).iter().any(|step| {
        let script = step["run"].as_str().unwrap_or_default();
        script
            .split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .any(|word| PACKAGE_MANAGERS.contains(&word))
            || ["pnpm/action-setup@", "oven-sh/setup-bun@"]
                .iter()
                .any(|setup| uses(step).starts_with(setup))
    })
}

/// The step that deploys: the action itself, or its image running anything but a
/// read-only subcommand.
fn deploy_step(job: &Value) -> Option<&Value> {
    steps(job).iter().find(|step| {
        let used = uses(step);
        if used == "./" || used.starts_with(&format!("{OURS}@")) {
            return true;
        }
        used.starts_with(OUR_IMAGE) && {
            let args = step["with"]["args"].as_str().unwrap_or_default();
            let subcommand = args.split_whitespace().next().unwrap_or_default();
            !READ_ONLY_SUBCOMMANDS.contains(&subcommand)
        }
    })
}

fn needs(job: &Value) -> Vec<&str> {
    match &job["needs"] {
        Value::String(one) => vec![one.as_str()],
        Value::Sequence(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn jobs(workflow: &Value) -> Vec<(&str, &Value)> {
    workflow["jobs"]
        .as_mapping()
        .map(|jobs| {
            jobs.iter()
                .map(|(id, job)| (id.as_str().unwrap_or("?"), job))
                .collect()
        })
        .unwrap_or_default()
}

/// What upload-artifact makes the artifact's root: the path up to its first wildcard
/// component, or the path itself (actions/upload-artifact, `findFilesToUpload`).
fn artifact_root(path: &str) -> Option<String> {
    let path = path.trim();
    if path.contains('\n') {
        return None; // several paths: their common ancestor, which depends on what matched
    }
    let components: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let plain = components
        .iter()
        .take_while(|c| !c.contains(['*', '?', '[']))
        .count();
    Some(components[..plain].join("/"))
}

/// Where a job that writes a module breaks the rules: the build without the token and
/// outside the environment, the deploy in its environment and its module's queue, with
/// no package manager, and the build handed over as an artifact.
fn deploy_problems(workflow: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let all = jobs(workflow);
    let builds = all.iter().any(|(_, job)| runs_package_manager(job));
    for &(id, job) in &all {
        let mut problem = |text: String| problems.push(format!("job `{id}` {text}"));
        if let Some(called) = job["uses"].as_str() {
            let group = job["concurrency"]["group"]
                .as_str()
                .or_else(|| job["concurrency"].as_str());
            if group.is_some_and(|g| g.trim().starts_with(QUEUE_PREFIX)) {
                problem(format!(
                    "holds a module's queue while calling `{called}`, whose deploy job holds it: GitHub cancels that as a deadlock"
                ));
            }
            if holds_id_token(job) && !called.contains(".github/workflows/deploy-module.yml") {
                problem(format!(
                    "grants `id-token: write` to `{called}`, which is not the reusable deploy workflow"
                ));
            }
            continue;
        }
        let environment = environment_of(job);
        let package_manager = runs_package_manager(job);
        let token = holds_id_token(job);
        if package_manager && token {
            problem("runs a package manager and holds `id-token: write`: any dependency's script could mint the deploy token".into());
        }
        if package_manager && environment.is_some() {
            problem("runs a package manager inside an environment, with its secrets".into());
        }
        if token && environment.is_none() {
            problem("holds `id-token: write` outside an environment".into());
        }
        let Some(step) = deploy_step(job) else {
            continue;
        };
        if package_manager {
            problem("runs a package manager in the job that deploys".into());
        }
        if builds
            && !steps(job)
                .iter()
                .any(|s| uses(s).starts_with("actions/download-artifact@"))
        {
            problem("deploys without downloading the build job's artifact".into());
        }
        let Some(environment) = environment else {
            problem("deploys outside an environment (`environment:`)".into());
            continue;
        };
        let concurrency = &job["concurrency"];
        if concurrency["cancel-in-progress"].as_bool() != Some(false) {
            problem("does not say `cancel-in-progress: false`: a deploy cancelled mid-way skips its invalidation".into());
        }
        let group = concurrency["group"].as_str().unwrap_or_default();
        let Some((queued_environment, queued_module)) = queue_parts(group) else {
            problem(format!(
                "is not in its module's queue `{QUEUE_AS_DOCUMENTED}`: group {group:?}"
            ));
            continue;
        };
        if !names_environment(&queued_environment, &environment) {
            problem(format!(
                "queues in environment {queued_environment:?} but runs in {environment:?}"
            ));
        }
        let with = &step["with"];
        match with["package"]
            .as_str()
            .or_else(|| with["packages"].as_str())
        {
            Some(module) if part(module) == queued_module => {}
            Some(module) => problem(format!(
                "queues as module {queued_module:?} but deploys {:?}",
                part(module)
            )),
            None => problem("deploys no module named by `package` or `packages`".into()),
        }
    }
    problems.extend(artifact_problems(&all));
    problems
}

/// Every download has the upload it names, in a job it needs, unpacked where the
/// upload's root was (so the deploy finds `<module>/dist` where the build wrote it).
fn artifact_problems(all: &[(&str, &Value)]) -> Vec<String> {
    let mut problems = Vec::new();
    let uploads: Vec<(&str, &Value)> = all
        .iter()
        .flat_map(|&(id, job)| steps(job).iter().map(move |s| (id, s)))
        .filter(|(_, s)| uses(s).starts_with("actions/upload-artifact@"))
        .collect();
    for &(id, job) in all {
        for download in steps(job)
            .iter()
            .filter(|s| uses(s).starts_with("actions/download-artifact@"))
        {
            let name = download["with"]["name"].as_str().unwrap_or_default();
            let path = download["with"]["path"].as_str().unwrap_or_default();
            let Some((uploader, upload)) = uploads
                .iter()
                .find(|(_, u)| u["with"]["name"].as_str() == Some(name))
            else {
                problems.push(format!(
                    "job `{id}` downloads {name:?}, which no job uploads"
                ));
                continue;
            };
            if !needs(job).contains(uploader) {
                problems.push(format!(
                    "job `{id}` downloads {name:?} without needing `{uploader}`"
                ));
            }
            let root = artifact_root(upload["with"]["path"].as_str().unwrap_or_default());
            if root.as_deref() != Some(path.trim().trim_end_matches('/')) {
                problems.push(format!(
                    "job `{id}` unpacks {name:?} into {path:?}, but its root is {root:?}"
                ));
            }
        }
    }
    problems
}

fn is_sha(reference: &str) -> bool {
    reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_release_tag(tag: &str) -> bool {
    let numbers: Vec<&str> = tag.strip_prefix('v').unwrap_or("").split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn has_digest(image: &str) -> bool {
    image.rsplit_once("@sha256:").is_some_and(|(_, digest)| {
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The version our action, reusable workflow or image is named by, if `used` is ours.
fn our_version(used: &str) -> Option<&str> {
    if let Some(image) = used.strip_prefix(OUR_IMAGE) {
        let tag = image.strip_prefix(':')?;
        return Some(tag.split('@').next().unwrap_or(tag));
    }
    let (path, reference) = used.split_once('@')?;
    (path == OURS || path.starts_with(&format!("{OURS}/"))).then_some(reference)
}

fn pin_problem(used: &str) -> Option<String> {
    if used.starts_with("./") {
        return None;
    }
    if let Some(version) = our_version(used) {
        return (!is_release_tag(version)).then(|| {
            format!("`{used}`: ours is named by an exact release tag (vX.Y.Z), never a branch or a major tag")
        });
    }
    if let Some(image) = used.strip_prefix("docker://") {
        return (!has_digest(image)).then(|| format!("`{used}` is not pinned by digest"));
    }
    match used.split_once('@') {
        Some((_, reference)) if is_sha(reference) => None,
        _ => Some(format!("`{used}` is not pinned by a full commit SHA")),
    }
}

/// Hardening every workflow keeps: `permissions: {}` at the top, every action pinned by
/// a commit SHA with a `# vX` comment, no `${{ }}` inside `run:`, checkouts without
/// persisted credentials.
fn hygiene_problems(text: &str, workflow: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if workflow["permissions"]
        .as_mapping()
        .is_none_or(|p| !p.is_empty())
    {
        problems.push("does not start from `permissions: {}`".to_owned());
    }
    for (id, job) in jobs(workflow) {
        let called = job["uses"].as_str().into_iter();
        for used in called.chain(steps(job).iter().filter_map(|s| s["uses"].as_str())) {
            if let Some(problem) = pin_problem(used) {
                problems.push(format!("job `{id}`: {problem}"));
            }
        }
        for step in steps(job) {
            if step["run"].as_str().is_some_and(|r| r.contains("${{")) {
                problems.push(format!(
                    "job `{id}` pastes `${{{{ }}}}` into `run:` (pass it through `env:`)"
                ));
            }
            let persisted = &step["with"]["persist-credentials"];
            if uses(step).starts_with("actions/checkout@")
                && persisted.as_bool() != Some(false)
                && persisted.as_str() != Some("false")
            {
                problems.push(format!(
                    "job `{id}` checks out with `persist-credentials` left on"
                ));
            }
        }
    }
    for line in text.lines() {
        let Some((_, used)) = line.split_once("uses:") else {
            continue;
        };
        let used = used.split_whitespace().next().unwrap_or_default();
        let pinned = used.split_once('@').is_some_and(|(_, r)| is_sha(r));
        if pinned && !line.contains("# v") {
            problems.push(format!(
                "`{used}` has no `# vX` comment saying which version"
            ));
        }
    }
    problems
}

/// Every rule, for a workflow's text.
fn problems(text: &str) -> Vec<String> {
    let workflow: Value = match serde_yaml_ng::from_str(text) {
        Ok(workflow) => workflow,
        Err(e) => return vec![format!("is not YAML: {e}")],
    };
    let mut found = hygiene_problems(text, &workflow);
    found.extend(deploy_problems(&workflow));
    found
}

mod release;
mod resolve;
mod reusable;
mod rollout;
mod rules;
