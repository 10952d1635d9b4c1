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

// ---------------------------------------------------------------------------------

#[test]
fn every_shipped_workflow_builds_without_the_token_and_deploys_in_its_environment_and_queue() {
    let mut found = Vec::new();
    let mut deploying = 0;
    for (name, text) in shipped_workflows() {
        let broken = if name == ".github/workflows/release.yml" {
            // Its `id-token: write` signs provenance attestations (Sigstore) and deploys
            // nothing; the hardening rules still hold.
            hygiene_problems(&text, &serde_yaml_ng::from_str(&text).unwrap())
        } else {
            problems(&text)
        };
        found.extend(broken.into_iter().map(|p| format!("{name}: {p}")));
        let parsed: Value = serde_yaml_ng::from_str(&text).unwrap();
        deploying += usize::from(jobs(&parsed).iter().any(|(_, job)| {
            deploy_step(job).is_some()
                || job["uses"]
                    .as_str()
                    .is_some_and(|u| u.contains("deploy-module.yml"))
        }));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The reusable workflow, four examples and the README's: the checks saw them deploy.
    assert!(deploying >= 6, "only {deploying} workflows deploy");
}

#[test]
fn our_action_workflow_and_image_are_named_by_the_version_action_yml_names() {
    let action = workflow("action.yml");
    let image = action["runs"]["image"].as_str().unwrap();
    let version = our_version(image).expect("action.yml runs our image");
    assert!(is_release_tag(version), "{image}");
    for (name, text) in shipped_workflows() {
        let parsed: Value = serde_yaml_ng::from_str(&text).unwrap();
        for (id, job) in jobs(&parsed) {
            let called = job["uses"].as_str().into_iter();
            for used in called.chain(steps(job).iter().filter_map(|s| s["uses"].as_str())) {
                if let Some(named) = our_version(used) {
                    assert_eq!(named, version, "{name}: job `{id}`: {used}");
                }
            }
        }
    }
}

#[test]
fn the_queue_name_is_documented_where_the_workflows_point() {
    let docs = read("docs/workflows.md");
    assert!(docs.contains(QUEUE_AS_DOCUMENTED), "docs/workflows.md");
    assert!(
        docs.contains("mfe-deploy-${{ <environment> }}-${{ <module folder> }}"),
        "docs/workflows.md"
    );
    assert!(read("README.md").contains(QUEUE_AS_DOCUMENTED), "README.md");
}

/// A workflow that keeps every rule: the base the broken ones below start from.
const GOOD: &str = r#"
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-24.04
    permissions: { contents: read }
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: { persist-credentials: false }
      - run: npm ci && npm run build
        working-directory: packages/a
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        with: { name: dist, path: packages/a/dist }
  deploy:
    needs: build
    runs-on: ubuntu-24.04
    environment: production
    concurrency: { group: mfe-deploy-production-packages/a, cancel-in-progress: false }
    permissions: { contents: read, id-token: write }
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: { persist-credentials: false }
      - uses: actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1
        with: { name: dist, path: packages/a/dist }
      - uses: mfe-deploy/mfe-deploy@v0.1.0
        with: { package: packages/a }
"#;

/// `text` with `from` replaced by `to`, which must be there.
fn broken(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the workflow");
    text.replace(from, to)
}

#[test]
fn a_workflow_that_keeps_every_rule_passes() {
    assert_eq!(problems(GOOD), Vec::<String>::new());
}

#[test]
fn each_broken_rule_is_found() {
    let upload = "name: dist, path: packages/a/dist }\n  deploy:";
    for (what, from, to, expected) in [
        (
            "the build holds the token",
            "permissions: { contents: read }\n",
            "permissions: { contents: read, id-token: write }\n",
            "job `build` runs a package manager and holds `id-token: write`",
        ),
        (
            "the build runs in the environment",
            "  build:\n    runs-on: ubuntu-24.04\n",
            "  build:\n    runs-on: ubuntu-24.04\n    environment: production\n",
            "job `build` runs a package manager inside an environment",
        ),
        (
            "the deploy installs packages",
            "      - uses: mfe-deploy/mfe-deploy@v0.1.0\n",
            "      - run: npm ci\n      - uses: mfe-deploy/mfe-deploy@v0.1.0\n",
            "job `deploy` runs a package manager and holds `id-token: write`",
        ),
        (
            "the deploy runs outside the environment",
            "    environment: production\n",
            "",
            "job `deploy` holds `id-token: write` outside an environment",
        ),
        (
            "the deploy is in another queue",
            "group: mfe-deploy-production-packages/a,",
            "group: deploy-packages/a-production,",
            "job `deploy` is not in its module's queue",
        ),
        (
            "the deploy queues as another module",
            "group: mfe-deploy-production-packages/a,",
            "group: mfe-deploy-production-packages/b,",
            "job `deploy` queues as module",
        ),
        (
            "the deploy queues in another environment",
            "group: mfe-deploy-production-packages/a,",
            "group: mfe-deploy-staging-packages/a,",
            "job `deploy` queues in environment",
        ),
        (
            "a running deploy may be cancelled",
            "cancel-in-progress: false",
            "cancel-in-progress: true",
            "job `deploy` does not say `cancel-in-progress: false`",
        ),
        (
            "the deploy has no queue at all",
            "    concurrency: { group: mfe-deploy-production-packages/a, cancel-in-progress: false }\n",
            "",
            "job `deploy` does not say `cancel-in-progress: false`",
        ),
        (
            "an action by tag",
            "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0",
            "actions/upload-artifact@v7",
            "`actions/upload-artifact@v7` is not pinned by a full commit SHA",
        ),
        (
            "a SHA without its version",
            "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0",
            "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
            "has no `# vX` comment",
        ),
        (
            "our action by its major tag",
            "mfe-deploy/mfe-deploy@v0.1.0",
            "mfe-deploy/mfe-deploy@v0",
            "ours is named by an exact release tag",
        ),
        (
            "an expression pasted into a script",
            "run: npm ci && npm run build",
            "run: npm ci && npm run ${{ github.head_ref }}",
            "pastes `${{ }}` into `run:`",
        ),
        (
            "no `permissions: {}` at the top",
            "permissions: {}\n",
            "permissions: { contents: read }\n",
            "does not start from `permissions: {}`",
        ),
        (
            "the deploy gets no build",
            "      - uses: actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1\n        with: { name: dist, path: packages/a/dist }\n",
            "",
            "job `deploy` deploys without downloading the build job's artifact",
        ),
        (
            "the build unpacks elsewhere",
            upload,
            "name: dist, path: packages/*/dist }\n  deploy:",
            "job `deploy` unpacks \"dist\" into \"packages/a/dist\", but its root is Some(\"packages\")",
        ),
        (
            "the deploy does not wait for the build",
            "    needs: build\n",
            "",
            "job `deploy` downloads \"dist\" without needing `build`",
        ),
    ] {
        let found = problems(&broken(GOOD, from, to));
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{what}: expected `{expected}` in {found:#?}"
        );
    }
    let kept = broken(
        GOOD,
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n        with: { persist-credentials: false }\n      - run:",
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n      - run:",
    );
    assert!(
        problems(&kept)
            .iter()
            .any(|p| p.contains("job `build` checks out with `persist-credentials` left on")),
        "{:#?}",
        problems(&kept)
    );
}

#[test]
fn a_caller_leaves_the_queue_to_the_called_deploy_job() {
    let caller = |concurrency: &str| {
        format!(
            "on: push\npermissions: {{}}\njobs:\n  deploy:\n{concurrency}    permissions: {{ contents: read, id-token: write }}\n    uses: mfe-deploy/mfe-deploy/.github/workflows/deploy-module.yml@v0.1.0\n    with: {{ package: packages/a }}\n"
        )
    };
    assert_eq!(problems(&caller("")), Vec::<String>::new());
    let deadlock = problems(&caller(
        "    concurrency: { group: mfe-deploy-production-packages/a, cancel-in-progress: false }\n",
    ));
    assert!(
        deadlock.iter().any(|p| p.contains("deadlock")),
        "{deadlock:#?}"
    );
    let elsewhere = problems(&caller("").replace(
        "mfe-deploy/mfe-deploy/.github/workflows/deploy-module.yml@v0.1.0",
        "someone/else/.github/workflows/build.yml@0123456789abcdef0123456789abcdef01234567",
    ));
    assert!(
        elsewhere
            .iter()
            .any(|p| p.contains("not the reusable deploy workflow")),
        "{elsewhere:#?}"
    );
}

#[test]
fn a_dry_run_may_take_a_queue_of_its_own_and_a_resolve_step_deploys_nothing() {
    let environment = part("${{ needs.resolve.outputs.environment }}");
    let (queued, module) = queue_parts(
        "mfe-deploy-${{\ninputs.dry-run && format('dry-run-{0}', github.run_id)\n|| needs.resolve.outputs.environment }}-${{ inputs.package }}",
    )
    .unwrap();
    assert!(names_environment(&queued, &environment));
    assert_eq!(module, Part::Expr("inputs.package".into()));
    let (other, _) =
        queue_parts("mfe-deploy-${{ github.ref || needs.resolve.outputs.environment }}-x").unwrap();
    assert!(!names_environment(&other, &environment));
    assert_eq!(queue_parts("mfe-deploy-production"), None);
    assert_eq!(queue_parts("deploy-production-packages/a"), None);

    let resolve: Value = serde_yaml_ng::from_str(
        "steps:\n  - uses: docker://ghcr.io/mfe-deploy/mfe-deploy:v0.1.0\n    with: { args: resolve --github-output --package packages/a }\n",
    )
    .unwrap();
    assert!(deploy_step(&resolve).is_none());
    let deploy: Value = serde_yaml_ng::from_str(
        "steps:\n  - uses: docker://ghcr.io/mfe-deploy/mfe-deploy:v0.1.0\n    with: { args: deploy --package packages/a }\n",
    )
    .unwrap();
    assert!(deploy_step(&deploy).is_some());
}

#[test]
fn the_checks_catch_a_broken_copy_of_the_shipped_workflows() {
    let reusable = read(".github/workflows/deploy-module.yml");
    assert_eq!(problems(&reusable), Vec::<String>::new());
    let build_with_token = broken(
        &reusable,
        "    permissions:\n      contents: read # check out the module\n    steps:",
        "    permissions:\n      contents: read # check out the module\n      id-token: write\n    steps:",
    );
    assert!(
        problems(&build_with_token)
            .iter()
            .any(|p| p.contains("job `build` runs a package manager and holds `id-token: write`")),
        "{:#?}",
        problems(&build_with_token)
    );

    let rollback = read("examples/workflows/rollback-module.yml");
    assert_eq!(problems(&rollback), Vec::<String>::new());
    let outside = broken(
        &rollback,
        "    environment:\n      name: ${{ inputs.environment }}\n      url: ${{ steps.rollback.outputs.environment-url }}\n",
        "",
    );
    assert!(
        problems(&outside)
            .iter()
            .any(|p| p.contains("job `rollback` holds `id-token: write` outside an environment")),
        "{:#?}",
        problems(&outside)
    );
    let old_queue = broken(
        &rollback,
        "group: mfe-deploy-${{ inputs.environment }}-${{ inputs.package }}",
        "group: deploy-${{ inputs.package }}-environment-${{ inputs.environment }}",
    );
    assert!(
        problems(&old_queue)
            .iter()
            .any(|p| p.contains("job `rollback` is not in its module's queue")),
        "{:#?}",
        problems(&old_queue)
    );
}

#[test]
fn the_reusable_workflow_builds_then_deploys_the_build_in_the_modules_queue() {
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let jobs = &reusable["jobs"];
    assert!(reusable["concurrency"].is_null(), "{reusable:?}");
    let build = &jobs["build"];
    assert!(runs_package_manager(build));
    assert!(!holds_id_token(build) && build["environment"].is_null());
    assert_eq!(
        build["if"].as_str(),
        Some("needs.resolve.outputs.skipped != 'true' && needs.resolve.outputs.closing != 'true'")
    );
    let deploy = &jobs["deploy"];
    assert!(!runs_package_manager(deploy) && holds_id_token(deploy));
    assert_eq!(needs(deploy), ["resolve", "build"]);
    let group = deploy["concurrency"]["group"].as_str().unwrap();
    let (environment, module) = queue_parts(group).unwrap();
    assert!(names_environment(
        &environment,
        &part("${{ needs.resolve.outputs.github-environment }}")
    ));
    assert_eq!(module, part("${{ inputs.package }}"));
    assert!(
        !group.contains("github.workflow"),
        "every caller of one module must share the group: {group}"
    );
    // The artifact is named where no dependency's script runs, once per module.
    let named = jobs["resolve"]["outputs"]["artifact"].as_str().unwrap();
    assert_eq!(named, "${{ steps.artifact.outputs.name }}");
    let script = steps(&jobs["resolve"])
        .iter()
        .find(|s| s["id"].as_str() == Some("artifact"))
        .and_then(|s| s["run"].as_str())
        .unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let ran = std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .env("PACKAGE", "packages/sub scriptions")
        .env("GITHUB_OUTPUT", out.path())
        .status()
        .unwrap();
    assert!(ran.success());
    assert_eq!(
        std::fs::read_to_string(out.path()).unwrap(),
        "name=dist-packages-sub-scriptions\n"
    );
}

#[test]
fn callers_of_the_reusable_workflow_leave_the_queue_to_it() {
    for (path, module) in [
        (
            "examples/workflows/deploy-subscriptions.yml",
            "packages/subscriptions",
        ),
        (
            "examples/workflows/deploy-changed-modules.yml",
            "${{ matrix.package }}",
        ),
    ] {
        let caller = workflow(path);
        assert!(
            caller["concurrency"].is_null(),
            "{path}: a workflow-level group would serialise every module"
        );
        let job = &caller["jobs"]["deploy"];
        assert!(
            job["uses"]
                .as_str()
                .is_some_and(|u| u.contains("/.github/workflows/deploy-module.yml@")),
            "{path}"
        );
        assert!(
            job["concurrency"].is_null(),
            "{path}: deadlock with the called job"
        );
        assert_eq!(job["with"]["package"].as_str(), Some(module), "{path}");
    }
}

#[test]
fn the_rollback_runs_in_its_environment_in_the_modules_queue() {
    let rollback = workflow("examples/workflows/rollback-module.yml");
    let job = &rollback["jobs"]["rollback"];
    assert_eq!(environment_of(job), Some(part("${{ inputs.environment }}")));
    assert_eq!(
        job["concurrency"]["group"].as_str(),
        Some("mfe-deploy-${{ inputs.environment }}-${{ inputs.package }}")
    );
    assert_eq!(
        deploy_step(job).unwrap()["with"]["rollback-to"].as_str(),
        Some("${{ inputs.to }}")
    );
}

#[test]
fn the_all_modules_artifact_keeps_each_modules_dist_where_the_deploy_looks() {
    let example = workflow("examples/workflows/deploy-all-modules.yml");
    let upload = steps(&example["jobs"]["build"])
        .iter()
        .find(|s| uses(s).starts_with("actions/upload-artifact@"))
        .unwrap();
    let path = upload["with"]["path"].as_str().unwrap();
    assert_eq!(path, "packages/*/dist");
    assert_eq!(artifact_root(path).as_deref(), Some("packages"));
    let deploy = &example["jobs"]["deploy"];
    assert_eq!(
        deploy_step(deploy).unwrap()["with"]["packages"].as_str(),
        Some("packages/*")
    );
    assert_eq!(
        deploy["concurrency"]["group"].as_str(),
        Some("mfe-deploy-${{ needs.resolve.outputs.environment }}-packages/*")
    );
}

/// Runs the reusable workflow's resolve step as the runner would: its `args` with
/// `inputs.package` filled in, the event's variables, and a `$GITHUB_OUTPUT` file.
fn resolve_as_the_workflow_does(
    event: &str,
    git_ref: &str,
    fixture: &str,
) -> std::collections::BTreeMap<String, String> {
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let step = &reusable["jobs"]["resolve"]["steps"][1];
    assert_eq!(step["id"].as_str(), Some("resolve"));
    let args = step["with"]["args"]
        .as_str()
        .unwrap()
        .replace("${{ inputs.package }}", "packages/checkout")
        // A run without the `environment` input.
        .replace(
            "${{ inputs.environment && format('--environment {0}', inputs.environment) || '' }}",
            "",
        );
    assert!(!args.contains("${{"), "{args}");
    let ws = crate::common::Workspace::example();
    run_resolve(&ws, &args, event, git_ref, fixture)
}

/// Runs `mfe-deploy` with a resolve step's `args` in `ws` as the runner would, with
/// a config for `production`, and returns what it wrote to `$GITHUB_OUTPUT`.
fn run_resolve(
    ws: &crate::common::Workspace,
    args: &str,
    event: &str,
    git_ref: &str,
    fixture: &str,
) -> std::collections::BTreeMap<String, String> {
    ws.write(
        "mfe-deploy.yml",
        b"environments:\n  production:\n    branches: [master]\n    bucket: prod\n    public-url: https://www.example.com\n  staging:\n    branches: [stage]\n    bucket: stage\n    previews:\n      pull-requests-into: [stage]\n      public-url: https://preview.example.com\n",
    );
    let output = ws.path().join("github_output");
    let event_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(fixture);
    let ran = crate::common::cli_command(ws)
        .args(args.split_whitespace())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_REF", git_ref)
        .env("GITHUB_EVENT_PATH", event_path)
        .env("GITHUB_OUTPUT", &output)
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let written = std::fs::read_to_string(&output).unwrap();
    mfe_deploy::github::outputs::parse_outputs(&written)
        .into_iter()
        .collect()
}

#[test]
fn the_resolve_job_feeds_the_deploy_jobs_environment_name_and_url() {
    let outputs = resolve_as_the_workflow_does("push", "refs/heads/master", "push_master.json");
    assert_eq!(outputs["environment"], "production");
    assert_eq!(outputs["environment-url"], "https://www.example.com");
    assert_eq!(outputs["skipped"], "false");
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let deploy = &reusable["jobs"]["deploy"];
    assert_eq!(
        deploy["environment"]["name"].as_str(),
        Some("${{ needs.resolve.outputs.github-environment }}")
    );
    assert_eq!(
        deploy["environment"]["url"].as_str(),
        Some(
            "${{ needs.resolve.outputs.closing != 'true' && needs.resolve.outputs.environment-url || '' }}"
        )
    );
    assert_eq!(
        deploy["if"].as_str(),
        Some(
            "!cancelled() && needs.resolve.outputs.skipped != 'true' && (needs.build.result == 'success' || needs.resolve.outputs.closing == 'true')"
        )
    );
    assert_eq!(outputs["github-environment"], "production");
    assert_eq!(
        (outputs["preview"].as_str(), outputs["closing"].as_str()),
        ("", "false")
    );
}

#[test]
fn the_all_modules_workflow_resolves_before_the_build_and_deploys_in_the_environment() {
    let path = "examples/workflows/deploy-all-modules.yml";
    let example = workflow(path);
    let step = &example["jobs"]["resolve"]["steps"][1];
    assert_eq!(step["id"].as_str(), Some("resolve"));
    let args = step["with"]["args"].as_str().unwrap();
    assert!(!args.contains("${{"), "{args}");
    // The resolve job checks out the sources and builds nothing.
    let ws = crate::common::Workspace::example();
    for module in ["checkout", "main", "subscriptions"] {
        std::fs::remove_dir_all(ws.dist(module)).unwrap();
    }
    let outputs = run_resolve(&ws, args, "push", "refs/heads/master", "push_master.json");
    assert_eq!(outputs["environment"], "production");
    assert_eq!(outputs["environment-url"], "https://www.example.com");
    assert_eq!(outputs["skipped"], "false");
    let deploy = &example["jobs"]["deploy"];
    assert_eq!(
        deploy["environment"]["name"].as_str(),
        Some("${{ needs.resolve.outputs.environment }}"),
        "{path}"
    );
    assert_eq!(
        deploy["environment"]["url"].as_str(),
        Some("${{ needs.resolve.outputs.environment-url }}"),
        "{path}"
    );
    assert_eq!(
        deploy["if"].as_str(),
        Some("needs.resolve.outputs.skipped != 'true'"),
        "{path}"
    );
    let skipped = run_resolve(&ws, args, "push", "refs/tags/v1.0.0", "push_tag.json");
    assert_eq!(skipped["skipped"], "true");
}

#[test]
fn a_skipped_event_resolves_to_no_deploy_job() {
    let outputs = resolve_as_the_workflow_does("push", "refs/tags/v1.0.0", "push_tag.json");
    assert_eq!(outputs["skipped"], "true");
    assert_eq!(outputs["environment"], "");
    assert!(!outputs["reason"].is_empty());
}

#[test]
fn the_release_tests_the_tag_and_attests_everything_it_publishes_before_publishing() {
    let release = workflow(".github/workflows/release.yml");
    let jobs = &release["jobs"];
    let steps = |job: &str| -> Vec<serde_yaml_ng::Value> {
        jobs[job]["steps"]
            .as_sequence()
            .unwrap_or_else(|| panic!("release.yml: no job `{job}`"))
            .clone()
    };
    let position = |steps: &[serde_yaml_ng::Value],
                    find: &dyn Fn(&serde_yaml_ng::Value) -> bool| {
        steps.iter().position(find)
    };
    let uses = |s: &serde_yaml_ng::Value| s["uses"].as_str().unwrap_or_default().to_owned();
    let runs = |s: &serde_yaml_ng::Value| s["run"].as_str().unwrap_or_default().to_owned();
    let attests =
        |s: &serde_yaml_ng::Value| uses(s).starts_with("actions/attest-build-provenance@");

    // The suite runs on the tag, and nothing is drafted or built before it passes.
    assert!(
        steps("test")
            .iter()
            .any(|s| runs(s).trim() == "scripts/test")
    );
    assert_eq!(jobs["draft"]["needs"].as_str(), Some("test"));
    assert_eq!(jobs["build"]["needs"].as_str(), Some("draft"));

    // Every attestation action is pinned by a full commit SHA.
    for job in ["build", "publish"] {
        for step in steps(job).iter().filter(|s| attests(s)) {
            let pin = uses(step).split_once('@').unwrap().1.to_owned();
            assert!(
                pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
                "{job}: {pin}"
            );
        }
    }
    // Per architecture: the image by its digest, the binary and its archive.
    let build = steps("build");
    let attested: Vec<&serde_yaml_ng::Value> = build.iter().filter(|s| attests(s)).collect();
    assert!(attested.iter().any(|s| {
        s["with"]["subject-digest"]
            .as_str()
            .is_some_and(|d| d.contains("steps.image.outputs.digest"))
    }));
    assert!(attested.iter().any(|s| {
        s["with"]["subject-path"]
            .as_str()
            .is_some_and(|p| p.contains("target/release/mfe-deploy") && p.contains(".tar.gz"))
    }));
    let upload = position(&build, &|s| runs(s).contains("gh release upload")).unwrap();
    assert!(position(&build, &|s| attests(s)).unwrap() < upload);
    // The index users pull (`:vX.Y.Z`) is attested before the release is published.
    let publish = steps("publish");
    let index = position(&publish, &|s| runs(s).contains("imagetools create")).unwrap();
    let attest_index = position(&publish, &|s| {
        attests(s)
            && s["with"]["subject-digest"]
                .as_str()
                .is_some_and(|d| d.contains("steps.index.outputs.digest"))
    })
    .expect("publish attests the image index");
    let published = position(&publish, &|s| runs(s).contains("gh release edit")).unwrap();
    assert!(index < attest_index && attest_index < published);
    // Then the version tag moves to the commit that pins that digest, before the
    // release is published, and the major tag follows it there.
    let pin = position(&publish, &|s| s["id"].as_str() == Some("pin"))
        .expect("publish pins the image digest in action.yml");
    assert!(attest_index < pin && pin < published);
    assert_eq!(
        publish[pin]["env"]["DIGEST"].as_str(),
        Some("${{ steps.index.outputs.digest }}")
    );
    assert_eq!(
        publish[published]["env"]["COMMIT"].as_str(),
        Some("${{ steps.pin.outputs.commit }}")
    );
    // No `gh release` failure is swallowed.
    for job in ["draft", "build", "publish"] {
        for step in steps(job) {
            let script = runs(&step);
            for line in script.lines().filter(|l| l.contains("gh release")) {
                assert!(
                    !line.contains("|| true") && !line.contains("2>/dev/null ||"),
                    "{job}: {line}"
                );
            }
        }
    }
}

/// A step's script from release.yml, found by its `id` or its `name`.
fn release_script(job: &str, step: &str) -> String {
    let release = workflow(".github/workflows/release.yml");
    steps(&release["jobs"][job])
        .iter()
        .find(|s| s["id"].as_str() == Some(step) || s["name"].as_str() == Some(step))
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("release.yml: no step `{step}` in `{job}`"))
        .to_owned()
}

/// Runs a release script as the runner does (`bash -eo pipefail`) in `dir`, with `gh`
/// and `docker` replaced by stubs that log their arguments (and stdin) to `dir`.
fn run_release_script(dir: &Path, script: &str, env: &[(&str, &str)]) -> std::process::Output {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}")).unwrap();
        let mut permissions = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&path, permissions).unwrap();
    };
    stub(
        "gh",
        r#"echo "gh $*" >> calls.log
case "$*" in
  *"git/trees"*) cat > tree.json; echo 2222222222222222222222222222222222222222 ;;
  *"--method POST"*"git/commits"*) echo 3333333333333333333333333333333333333333 ;;
  *"git/commits/"*) echo 1111111111111111111111111111111111111111 ;;
esac
"#,
    );
    stub(
        "docker",
        r#"echo "docker $*" >> calls.log
case "$1" in login) cat > /dev/null ;; manifest) exit 1 ;; esac
"#,
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("IMAGE", "ghcr.io/mfe-deploy/mfe-deploy")
        .env("GITHUB_OUTPUT", dir.join("github_output"))
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn the_release_pins_the_digest_it_built_into_action_yml_and_its_own_check_accepts_it() {
    let release = workflow(".github/workflows/release.yml");
    assert_eq!(
        release["env"]["IMAGE"].as_str(),
        Some("ghcr.io/${{ github.repository }}")
    );
    let original = read("action.yml");
    let image = workflow("action.yml")["runs"]["image"]
        .as_str()
        .unwrap()
        .to_owned();
    let tag = image
        .strip_prefix("docker://ghcr.io/mfe-deploy/mfe-deploy:")
        .expect("main's action.yml names our image by tag");
    assert!(is_release_tag(tag), "main names the tag alone: {image}");
    let digest = format!("sha256:{}", "ab".repeat(32));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("action.yml"), &original).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), read("Cargo.toml")).unwrap();
    std::fs::create_dir(dir.path().join("runtime")).unwrap();
    std::fs::write(
        dir.path().join("runtime/package.json"),
        read("runtime/package.json"),
    )
    .unwrap();
    let check = release_script("check", "Check versions");
    let check_env = [("TAG", tag), ("ACTOR", "someone"), ("GH_TOKEN", "token")];

    // Main's action.yml passes the check.
    let checked = run_release_script(dir.path(), &check, &check_env);
    assert!(checked.status.success(), "{checked:?}");

    let sha = "0123456789abcdef0123456789abcdef01234567";
    let pin_env = [
        ("TAG", tag),
        ("SHA", sha),
        ("REPO", "mfe-deploy/mfe-deploy"),
        ("DIGEST", digest.as_str()),
        ("GH_TOKEN", "token"),
    ];
    let pinned = run_release_script(dir.path(), &release_script("publish", "pin"), &pin_env);
    assert!(pinned.status.success(), "{pinned:?}");
    let pinned_text = std::fs::read_to_string(dir.path().join("action.yml")).unwrap();
    let pinned_yaml: Value = serde_yaml_ng::from_str(&pinned_text).unwrap();
    assert_eq!(
        pinned_yaml["runs"]["image"].as_str(),
        Some(format!("{image}@{digest}").as_str())
    );
    // Only that line changed, and that file is the tree's one change.
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(pinned_text.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(original.lines().count(), pinned_text.lines().count());
    let tree: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tree.json")).unwrap())
            .unwrap();
    assert_eq!(
        tree["base_tree"],
        "1111111111111111111111111111111111111111"
    );
    assert_eq!(tree["tree"][0]["path"], "action.yml");
    assert_eq!(
        tree["tree"][0]["content"].as_str(),
        Some(pinned_text.as_str())
    );
    let calls = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    assert!(calls.contains(&format!(
        "gh api repos/mfe-deploy/mfe-deploy/git/commits/{sha} "
    )));
    assert!(calls.contains(&format!("parents[]={sha}")), "{calls}");
    assert!(
        calls.contains(&format!(
            "gh api --method PATCH repos/mfe-deploy/mfe-deploy/git/refs/tags/{tag} -f sha=3333333333333333333333333333333333333333 -F force=true"
        )),
        "{calls}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("github_output")).unwrap(),
        "commit=3333333333333333333333333333333333333333\n"
    );

    // The pinned action.yml passes the same check; another tag or a broken digest not.
    let checked = run_release_script(dir.path(), &check, &check_env);
    assert!(checked.status.success(), "{checked:?}");
    for wrong in [
        pinned_text.replace(&format!(":{tag}@"), ":v0.0.0@"),
        pinned_text.replace(&digest, "sha256:abc"),
    ] {
        std::fs::write(dir.path().join("action.yml"), wrong).unwrap();
        let refused = run_release_script(dir.path(), &check, &check_env);
        assert!(!refused.status.success(), "{refused:?}");
        assert!(
            String::from_utf8_lossy(&refused.stdout).contains("action.yml must use"),
            "{refused:?}"
        );
    }
    // An action.yml naming another image is not pinned: the step fails, nothing moves.
    std::fs::write(
        dir.path().join("action.yml"),
        original.replace(&image, "docker://elsewhere/image:v1.2.3"),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("calls.log")).unwrap();
    let refused = run_release_script(dir.path(), &release_script("publish", "pin"), &pin_env);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(!dir.path().join("calls.log").exists());
}
#[test]
fn the_reusable_workflow_passes_every_output_of_the_action_through() {
    let action = workflow("action.yml");
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let passed = &reusable["on"]["workflow_call"]["outputs"];
    let job_outputs = &reusable["jobs"]["deploy"]["outputs"];
    for (name, _) in action["outputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let value = passed[name]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("deploy-module.yml does not pass `{name}` through"));
        let from_deploy = format!("${{{{ jobs.deploy.outputs.{name} }}}}");
        let from_resolve = format!("${{{{ jobs.resolve.outputs.{name} }}}}");
        assert!(
            value == from_resolve
                || (value == from_deploy
                    && job_outputs[name].as_str()
                        == Some(format!("${{{{ steps.deploy.outputs.{name} }}}}").as_str())),
            "{name}: {value}"
        );
    }
}

#[test]
fn a_pull_requests_preview_runs_in_an_environment_and_queue_of_its_own_and_its_close_builds_nothing()
 {
    let opened = resolve_as_the_workflow_does(
        "pull_request",
        "refs/pull/42/merge",
        "pull_request_opened_into_stage.json",
    );
    assert_eq!(opened["environment"], "staging");
    assert_eq!(opened["github-environment"], "staging-pr-42");
    assert_eq!(opened["preview"], "pr-42");
    assert_eq!(opened["closing"], "false");
    assert_eq!(
        opened["environment-url"],
        "https://preview.example.com?mfe-preview=pr-42"
    );
    let closed = resolve_as_the_workflow_does(
        "pull_request",
        "refs/pull/42/merge",
        "pull_request_closed_into_stage.json",
    );
    assert_eq!(closed["github-environment"], "staging-pr-42");
    assert_eq!(closed["closing"], "true");
    // The close marks the preview's deployments inactive, after the deploy job.
    let reusable = workflow(".github/workflows/deploy-module.yml");
    let deactivate = &reusable["jobs"]["deactivate"];
    assert_eq!(needs(deactivate), ["resolve", "deploy"]);
    assert_eq!(
        deactivate["permissions"]["deployments"].as_str(),
        Some("write")
    );
    assert!(!holds_id_token(deactivate) && !runs_package_manager(deactivate));
}

/// Runs the `decide` step of the rollout example with `history` as the records'
/// `history --json` rows and `now` as the time; returns its outputs.
fn decide_rollout(
    history: &serde_json::Value,
    now: &str,
) -> std::collections::BTreeMap<String, String> {
    let example = workflow("examples/workflows/rollout-module.yml");
    let steps = steps(&example["jobs"]["step"]);
    let decide = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("decide"))
        .expect("a decide step");
    let script = decide["run"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("history.json"), history.to_string()).unwrap();
    let output = dir.path().join("output");
    let now = std::process::Command::new("date")
        .args(["-u", "-d", now, "+%s"])
        .output()
        .unwrap();
    let ran = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .env("RUNNER_TEMP", dir.path())
        .env("GITHUB_OUTPUT", &output)
        .env("HOLD_MINUTES", "60")
        .env("STEPS", "10 25 50")
        .env("NOW", String::from_utf8_lossy(&now.stdout).trim())
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let written = std::fs::read_to_string(&output).unwrap_or_default();
    mfe_deploy::github::outputs::parse_outputs(&written)
        .into_iter()
        .collect()
}

#[test]
fn the_rollout_workflow_widens_only_after_the_hold_time_and_promotes_after_the_last_step() {
    let canary = |percent: u64| {
        serde_json::json!([{
            "kind": "canary", "version": "8f11a3168bdc",
            "time": "2026-12-07T10:00:00.000Z",
            "rollout": {"id": "8f11a3168bdc-1", "percent": percent},
        }])
    };
    let next =
        |history: &serde_json::Value, now: &str| decide_rollout(history, now)["next"].clone();
    assert_eq!(
        next(&canary(10), "2026-12-07T10:30:00Z"),
        "",
        "held: 30 of 60 minutes"
    );
    assert_eq!(next(&canary(10), "2026-12-07T11:00:01Z"), "25%");
    assert_eq!(next(&canary(25), "2026-12-07T12:00:00Z"), "50%");
    assert_eq!(next(&canary(50), "2026-12-07T12:00:00Z"), "promote");
    let decided = decide_rollout(&canary(10), "2026-12-07T11:00:01Z");
    assert_eq!(
        decided["version"], "8f11a3168bdc",
        "the step names the canary: no build"
    );
    for done in ["promote", "abort", "deploy"] {
        let history =
            serde_json::json!([{"kind": done, "version": "v", "time": "2026-12-07T10:00:00.000Z"}]);
        assert_eq!(
            next(&history, "2026-12-08T00:00:00Z"),
            "",
            "{done}: nothing in progress"
        );
    }
    assert_eq!(next(&serde_json::json!([]), "2026-12-08T00:00:00Z"), "");
    // A failed check aborts instead of taking the step.
    let example = workflow("examples/workflows/rollout-module.yml");
    let take = steps(&example["jobs"]["step"])
        .iter()
        .find(|s| uses(s).starts_with("mfe-deploy/mfe-deploy@"))
        .expect("the action");
    assert_eq!(
        take["with"]["rollout"].as_str(),
        Some("${{ steps.check.outcome == 'success' && steps.decide.outputs.next || 'abort' }}")
    );
}
