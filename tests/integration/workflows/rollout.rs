//! The rollout example's `decide` step: it widens only after the hold time and
//! promotes after the last step.

use super::*;

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
