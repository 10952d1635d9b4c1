//! A run that crashes, or cannot write the runner's files, still tells the truth: the
//! step's outputs, its summary and one error annotation, with the original exit code.
//! `MFE_DEPLOY_TEST_PANIC=<stage>:<package>` forces a panic (src/deploy/mod.rs).

use crate::common::*;
use crate::packages::{all, field, results};

/// The run's one error annotation.
fn error_annotation(step: &StepResult) -> WorkflowCommand {
    let errors: Vec<WorkflowCommand> = workflow_commands(&step.stdout())
        .into_iter()
        .filter(|c| c.name == "error")
        .collect();
    assert!(
        !errors.is_empty(),
        "no error annotation:\n{}",
        step.all_text()
    );
    errors.into_iter().last().unwrap()
}

#[test]
fn a_panic_in_a_single_module_run_still_leaves_outputs_a_summary_and_an_error() {
    let (moto, bucket, ws) = setup("crash-single");
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .env("MFE_DEPLOY_TEST_PANIC", "deploy:packages/checkout")
        .run();
    assert_eq!(step.code(), 1, "{}", step.all_text());
    let error = error_annotation(&step);
    assert!(
        error.data.contains("mfe-deploy panicked: forced"),
        "{error:?}"
    );
    let modules = results(&step);
    assert_eq!(field(&modules, "packages/checkout", "status"), "failed");
    assert!(step.summary.contains("panicked"), "{}", step.summary);
    assert!(
        step.stderr().contains("mfe-deploy panicked at"),
        "the panic's place is on stderr:\n{}",
        step.stderr()
    );
}

#[test]
fn a_module_that_panics_in_a_packages_run_fails_alone() {
    for trigger in ["deploy:packages/checkout", "scan:packages/checkout"] {
        let (moto, bucket, ws) = setup("crash-packages");
        let step = all(&ws, moto, &bucket)
            .env("MFE_DEPLOY_TEST_PANIC", trigger)
            .run();
        assert_eq!(step.code(), 1, "{trigger}: {}", step.all_text());
        let modules = results(&step);
        let status = |package: &str| field(&modules, package, "status");
        assert_eq!(status("packages/checkout"), "failed", "{trigger}");
        assert_eq!(status("packages/main"), "deployed", "{trigger}");
        assert_eq!(status("packages/subscriptions"), "deployed", "{trigger}");
        assert!(
            field(&modules, "packages/checkout", "error").contains("panicked"),
            "{trigger}: {modules:?}"
        );
        assert!(
            step.summary.contains("packages/subscriptions"),
            "{}",
            step.summary
        );
        assert!(
            keys(moto, &bucket).iter().any(|k| k.starts_with("main/")),
            "{trigger}"
        );
    }
}

#[test]
fn runner_files_that_cannot_be_written_are_reported_beside_the_original_error() {
    let (moto, bucket, ws) = setup("crash-outputs");
    let unwritable = ws.path().join("no-such-folder/output");
    // Bad input (exit 2), and the outputs file cannot be opened.
    let step = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("mode", "sideways")
        .env("GITHUB_OUTPUT", &unwritable.display().to_string())
        .run();
    assert_eq!(
        step.code(),
        2,
        "the original error's code:\n{}",
        step.all_text()
    );
    let error = error_annotation(&step);
    assert!(
        error.data.contains("sideways"),
        "the original error: {error:?}"
    );
    assert!(
        error.data.contains("could not be written") && error.data.contains("no-such-folder"),
        "and the runner file's: {error:?}"
    );
}
