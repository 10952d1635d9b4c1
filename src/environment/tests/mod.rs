//! Environment resolution, from the runner's variables and real-shaped event
//! payloads (`tests/fixtures/events`): the shared helpers; the tests are in the
//! files beside this one.

use std::collections::HashMap;
use std::path::Path;

use super::*;

/// The runner's variables for a fixture payload, as GitHub sets them.
fn runner(event: &str, git_ref: &str, fixture: &str) -> HashMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(fixture);
    let payload: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut vars: HashMap<String, String> = [
        ("GITHUB_EVENT_NAME", event.to_owned()),
        ("GITHUB_REF", git_ref.to_owned()),
        ("GITHUB_EVENT_PATH", path.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(pr) = payload.get("pull_request") {
        vars.insert(
            "GITHUB_BASE_REF".to_owned(),
            pr["base"]["ref"].as_str().unwrap().to_owned(),
        );
        vars.insert(
            "GITHUB_HEAD_REF".to_owned(),
            pr["head"]["ref"].as_str().unwrap().to_owned(),
        );
    }
    vars
}

fn trigger(event: &str, git_ref: &str, fixture: &str) -> Trigger {
    let vars = runner(event, git_ref, fixture);
    Trigger::from_runner(&|k| vars.get(k).cloned()).unwrap()
}

fn defaults() -> Environments {
    Environments::new(&Config::default()).unwrap()
}

fn configured(yaml: &str) -> Environments {
    let config = Config::parse(yaml, Path::new("mfe-deploy.yml")).unwrap();
    config.validate(Path::new("mfe-deploy.yml")).unwrap();
    Environments::new(&config).unwrap()
}

#[derive(Debug, PartialEq)]
enum Want {
    Deploy(&'static str),
    Skip,
    Refuse,
    /// A pull request's preview over the environment.
    Preview(&'static str),
    /// The end of a pull request's preview over the environment.
    Close(&'static str),
}

fn known(environment: &str) -> &'static str {
    match environment {
        "production" => "production",
        "staging" => "staging",
        "development" => "development",
        "preview" => "preview",
        other => panic!("unexpected environment {other}"),
    }
}

fn outcome(envs: &Environments, t: &Trigger, requested: Option<&str>) -> Want {
    match envs.resolve(t, requested) {
        Ok(Resolution::Deploy { environment, .. }) => Want::Deploy(known(&environment)),
        Ok(Resolution::Preview { environment, .. }) => Want::Preview(known(&environment)),
        Ok(Resolution::ClosePreview { environment, .. }) => Want::Close(known(&environment)),
        Ok(Resolution::Skip { .. }) => Want::Skip,
        Err(ResolveError::Refused(_)) => Want::Refuse,
        Err(e) => panic!("{e}"),
    }
}

mod events;
mod refs;
mod table;
