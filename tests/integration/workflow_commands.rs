//! Names from the build never become workflow commands: every line the binary prints,
//! on stdout and stderr, read as the runner reads it.

use crate::common::*;

/// Unhashed scripts and styles whose names are workflow commands, or would be at the
/// start of a line, after a percent-decoding, or to the legacy parser.
const HOSTILE: [&str; 6] = [
    "::error::pwned.js",
    "%0A::warning::x.js",
    "##[error]legacy.js",
    "  ::notice::indented.js",
    "::stop-commands::tok.css",
    "a,b:c%2C.js",
];

const WARNING_TITLES: [&str; 2] = ["File name without content hash", "CloudFront audit"];

/// Every command in a run's stdout and stderr must be one mfe-deploy meant to send:
/// `add-mask` of the given secrets, its own warnings (whose `file` is a real file of
/// the build), and its one error annotation. Returns the commands.
fn only_own_commands(run: &StepResult, secrets: &[&str], files: &[String]) -> Vec<WorkflowCommand> {
    let mut commands = workflow_commands(&run.stdout());
    commands.extend(workflow_commands(&run.stderr()));
    for c in &commands {
        assert!(!c.legacy, "legacy command {c:?} in:\n{}", run.all_text());
        match c.name.as_str() {
            "add-mask" => assert!(secrets.contains(&c.data.as_str()), "{c:?}"),
            "warning" => {
                let title = c.properties.get("title").map(String::as_str);
                assert!(
                    title.is_some_and(|t| WARNING_TITLES.contains(&t)),
                    "injected warning {c:?} in:\n{}",
                    run.all_text()
                );
                if let Some(file) = c.properties.get("file") {
                    assert!(files.contains(file), "annotation on {file:?}, not a file");
                }
            }
            "error" => assert_eq!(
                c.properties.get("title").map(String::as_str),
                Some("mfe-deploy failed"),
                "injected error {c:?} in:\n{}",
                run.all_text()
            ),
            _ => panic!("injected command {c:?} in:\n{}", run.all_text()),
        }
    }
    commands
}

fn write_hostile(ws: &Workspace, body: &[u8]) -> Vec<String> {
    HOSTILE
        .iter()
        .map(|name| {
            let path = format!("packages/checkout/dist/{name}");
            ws.write(&path, body);
            path
        })
        .collect()
}

#[test]
fn hostile_file_names_cannot_inject_workflow_commands_in_plan_deploy_or_invalidation() {
    let (moto, bucket, ws) = setup("hostile-names");
    let distribution = create_distribution(moto, &bucket, "");
    let files = write_hostile(&ws, b"window.x = 1;");
    let secrets = [ACCESS_KEY, SECRET_KEY];
    let step =
        || ActionStep::push(&ws, moto, "checkout", &bucket).input("distribution-id", &distribution);

    let planned = step().input("dry-run", "true").run();
    assert_eq!(planned.code(), 0, "{}", planned.all_text());
    let commands = only_own_commands(&planned, &secrets, &files);
    let annotated: Vec<_> = commands
        .iter()
        .filter_map(|c| c.properties.get("file"))
        .collect();
    assert_eq!(
        annotated.len(),
        mfe_deploy::github::commands::MAX_INDIVIDUAL_WARNINGS,
        "each shown warning names its file exactly: {commands:?}"
    );
    let stdout = planned.stdout();
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.ends_with(&format!("{name} (13 B)")))
            .unwrap_or_else(|| panic!("no plan row for {name}:\n{stdout}"))
            .to_owned()
    };
    assert!(row("::error::pwned.js").starts_with("    upload (new)"));
    assert!(row("#\\#[error]legacy.js").starts_with("    upload (new)"));

    let deployed = step().run();
    assert_eq!(deployed.code(), 0, "{}", deployed.all_text());
    only_own_commands(&deployed, &secrets, &files);
    for name in HOSTILE {
        assert_eq!(
            get(moto, &bucket, &format!("checkout/{name}")),
            b"window.x = 1;",
            "{name} is deployed under its own name"
        );
    }

    // Changed at fixed addresses: the invalidation lists them, with the names as reasons.
    write_hostile(&ws, b"window.x = 2;");
    let changed = step().run();
    assert_eq!(changed.code(), 0, "{}", changed.all_text());
    assert!(
        changed.stdout().contains("#\\#[error]legacy.js changed"),
        "{}",
        changed.stdout()
    );
    only_own_commands(&changed, &secrets, &files);
}

#[test]
fn a_refusal_naming_hostile_files_is_one_error_annotation_and_inert_on_a_terminal() {
    let (moto, bucket, ws) = setup("hostile-conflict");
    let hashed = [
        "packages/checkout/dist/::error::pwned.0a1b2c3d.js",
        "packages/checkout/dist/##[error]x.0a1b2c3d.js",
    ];
    for path in hashed {
        ws.write(path, b"one");
    }
    deployed(&ws, moto, "checkout", &bucket);
    for path in hashed {
        ws.write(path, b"two");
    }

    let refused = ActionStep::push(&ws, moto, "checkout", &bucket).run();
    assert_eq!(refused.code(), 1, "{}", refused.all_text());
    let commands = only_own_commands(&refused, &[ACCESS_KEY, SECRET_KEY], &[]);
    let errors: Vec<_> = commands.iter().filter(|c| c.name == "error").collect();
    assert_eq!(errors.len(), 1, "{commands:?}");
    assert!(
        errors[0]
            .data
            .contains("checkout/::error::pwned.0a1b2c3d.js")
            && errors[0].data.contains("checkout/##[error]x.0a1b2c3d.js"),
        "the annotation names the files as they are: {:?}",
        errors[0].data
    );

    // The CLI in a `run:` step prints the error on stderr, which the runner reads too.
    let output = cli_command(&ws)
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .args([
            "deploy",
            "--package",
            "packages/checkout",
            "--bucket",
            &bucket,
            "--endpoint-url",
            &moto.endpoint,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("checkout/#\\#[error]x.0a1b2c3d.js"),
        "{stderr}"
    );
    let mut commands = workflow_commands(&String::from_utf8_lossy(&output.stdout));
    commands.extend(workflow_commands(&stderr));
    assert!(
        commands.iter().all(|c| c.name == "add-mask"),
        "{commands:?}\n{stderr}"
    );
}

#[test]
fn log_lines_carrying_hostile_keys_cannot_inject_workflow_commands_at_debug_level() {
    let (moto, bucket, ws) = setup("hostile-log");
    // The prefix is in the keys that the debug LIST line and the record line name.
    let run = ActionStep::push(&ws, moto, "checkout", &bucket)
        .input("prefix", "##[error]pwned/")
        .env("MFE_DEPLOY_LOG", "mfe_deploy=debug,warn")
        .run();
    assert_eq!(run.code(), 0, "{}", run.all_text());
    let stderr = run.stderr();
    assert!(
        stderr.contains("LIST s3://") && stderr.contains("#\\#[error]pwned/"),
        "the debug lines name the prefix, made inert:\n{stderr}"
    );
    only_own_commands(&run, &[ACCESS_KEY, SECRET_KEY], &[]);
}
