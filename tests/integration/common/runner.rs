//! The runner around the binary: variables, files, the OIDC token endpoint.

use super::*;

/// The environment variables the runner would give this step, minus anything of ours.
pub fn scrubbed(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let ours = [
            "CI",
            "HOME",
            "AWS_",
            "GITHUB_",
            "RUNNER_",
            "ACTIONS_",
            "INPUT_",
            "MFE_DEPLOY_",
        ]
        .iter()
        .any(|p| key == *p || (p.ends_with('_') && key.starts_with(p)));
        if ours {
            command.env_remove(&key);
        }
    }
}

/// A step of a workflow run: the runner's files and variables around the binary.
pub struct ActionStep<'a> {
    pub workspace: &'a Workspace,
    pub event_name: &'a str,
    pub git_ref: &'a str,
    pub event_fixture: &'a str,
    pub inputs: BTreeMap<&'a str, String>,
    pub runner_temp: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
    pub deadline: Duration,
}

/// What a step produced.
pub struct StepResult {
    pub output: Output,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    pub raw_outputs: String,
}

impl StepResult {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn out(&self, name: &str) -> &str {
        self.outputs.get(name).map_or("", String::as_str)
    }
    pub fn all_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.stdout(),
            self.stderr(),
            self.raw_outputs,
            self.summary
        )
    }
}

impl<'a> ActionStep<'a> {
    /// A push to `master` deploying `package` of the example to `bucket` on `moto`.
    pub fn push(workspace: &'a Workspace, moto: &Moto, package: &str, bucket: &str) -> Self {
        let defaults = [
            ("package", format!("packages/{package}")),
            ("dist", "dist".to_owned()),
            ("config", "mfe-deploy.yml".to_owned()),
            ("mode", String::new()),
            ("verify", "false".to_owned()),
            ("dry-run", "false".to_owned()),
            ("wait", "false".to_owned()),
            ("aws-region", "us-east-1".to_owned()),
            ("bucket", bucket.to_owned()),
            ("endpoint-url", moto.endpoint.clone()),
            ("aws-access-key-id", ACCESS_KEY.to_owned()),
            ("aws-secret-access-key", SECRET_KEY.to_owned()),
        ];
        let mut inputs: BTreeMap<&str, String> = mfe_deploy::github::inputs::INPUT_NAMES
            .iter()
            .map(|n| (*n, String::new()))
            .collect();
        for (k, v) in defaults {
            inputs.insert(k, v);
        }
        Self {
            workspace,
            event_name: "push",
            git_ref: "refs/heads/master",
            event_fixture: "push_master.json",
            inputs,
            runner_temp: tempfile::tempdir().expect("tempdir"),
            extra_env: Vec::new(),
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// Kill the run and fail the test if it has not ended after `limit`: a run
    /// that hangs must fail its test, not stall the suite.
    pub fn deadline(mut self, limit: Duration) -> Self {
        self.deadline = limit;
        self
    }

    /// Another event: its name, `GITHUB_REF`, and payload fixture.
    pub fn event(mut self, name: &'a str, git_ref: &'a str, fixture: &'a str) -> Self {
        self.event_name = name;
        self.git_ref = git_ref;
        self.event_fixture = fixture;
        self
    }

    /// Another runner variable (for example the OIDC request URL and token).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.extra_env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Static credentials as inputs (for example an IAM user's on an enforcing server).
    pub fn credentials(self, key: &str, secret: &str) -> Self {
        self.input("aws-access-key-id", key)
            .input("aws-secret-access-key", secret)
    }

    pub fn input(mut self, name: &'a str, value: &str) -> Self {
        self.inputs.insert(name, value.to_owned());
        self
    }

    /// Runs the binary as the container does: no arguments, cwd = workspace.
    pub fn run(&self) -> StepResult {
        let (mut command, output_path, summary_path) = self.command();
        let output = output_within(&mut command, self.deadline);
        let raw_outputs = std::fs::read_to_string(&output_path).unwrap_or_default();
        StepResult {
            outputs: parse_outputs(&raw_outputs).into_iter().collect(),
            summary: std::fs::read_to_string(&summary_path).unwrap_or_default(),
            raw_outputs,
            output,
        }
    }

    /// Starts the step and kills it (SIGKILL, as a cancelled runner does) as soon as
    /// `now` says so, or lets it end if it ends first. Returns whether it was killed.
    pub fn run_killed_when(&self, now: impl Fn() -> bool) -> bool {
        let (mut command, _, _) = self.command();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run mfe-deploy");
        let started = Instant::now();
        while !now() {
            if child.try_wait().expect("wait").is_some() {
                return false;
            }
            assert!(started.elapsed() < self.deadline, "the step hangs");
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        true
    }

    /// The binary as the container runs it, with the runner's files.
    fn command(&self) -> (Command, PathBuf, PathBuf) {
        let output_path = self.runner_temp.path().join("github_output");
        let summary_path = self.runner_temp.path().join("step_summary");
        std::fs::write(&output_path, "").expect("output file");
        std::fs::write(&summary_path, "").expect("summary file");
        let event_path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/events")
            .join(self.event_fixture);
        let mut command = Command::new(env!("CARGO_BIN_EXE_mfe-deploy"));
        scrubbed(&mut command);
        command
            .current_dir(self.workspace.path())
            .env("HOME", self.runner_temp.path())
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", self.workspace.path())
            .env("GITHUB_EVENT_NAME", self.event_name)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_REF", self.git_ref)
            .env(
                "GITHUB_REF_NAME",
                self.git_ref.rsplit('/').next().unwrap_or_default(),
            )
            .env("GITHUB_REPOSITORY", "acme/storefront")
            .env("GITHUB_RUN_ID", "7301234567")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("GITHUB_SHA", "5d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e")
            .env("GITHUB_ACTOR", "octocat")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_OUTPUT", &output_path)
            .env("GITHUB_STEP_SUMMARY", &summary_path)
            .env("RUNNER_TEMP", self.runner_temp.path())
            .env("AWS_EC2_METADATA_DISABLED", "true");
        let payload: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&event_path).expect("fixture"))
                .expect("fixture json");
        let pr = &payload["pull_request"];
        command
            .env(
                "GITHUB_HEAD_REF",
                pr["head"]["ref"].as_str().unwrap_or_default(),
            )
            .env(
                "GITHUB_BASE_REF",
                pr["base"]["ref"].as_str().unwrap_or_default(),
            );
        for (name, value) in &self.inputs {
            command.env(format!("INPUT_{}", name.to_uppercase()), value);
        }
        for (name, value) in &self.extra_env {
            command.env(name, value);
        }
        (command, output_path, summary_path)
    }
}

/// Stands in for the runner's OIDC token endpoint: answers every request with
/// `{"value": token}` and records each request's line and `Authorization` header.
pub struct TokenServer {
    pub url: String,
    pub requests: std::sync::Arc<Mutex<Vec<(String, String)>>>,
}

impl TokenServer {
    pub fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = std::sync::Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let body = serde_json::json!({ "count": 1, "value": token }).to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut authorization = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    if let Some(value) = line
                        .strip_prefix("authorization: ")
                        .or_else(|| line.strip_prefix("Authorization: "))
                    {
                        authorization = value.trim().to_owned();
                    }
                    line.clear();
                }
                seen.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((request_line.trim().to_owned(), authorization));
                let mut stream = &stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            url: format!(
                "http://127.0.0.1:{port}/_apis/distributedtask/hubs/build/plans/5d8f/jobs/9a1c/idtoken?api-version=2.0"
            ),
            requests,
        }
    }
}

/// The binary as a developer runs it locally in `ws`: a scrubbed environment with
/// credentials in the standard AWS variables.
pub fn cli_command(ws: &Workspace) -> Command {
    cli_command_in(ws.path())
}

/// The CLI run in the workspace folder `dir` (for a closure that cannot hold the
/// workspace).
pub fn cli_command_in(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mfe-deploy"));
    scrubbed(&mut command);
    command
        .current_dir(dir)
        .env("HOME", dir)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// Runs a command that must succeed and print JSON; returns the JSON.
pub fn json_output(command: &mut Command) -> serde_json::Value {
    let output = command.output().expect("run mfe-deploy");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// A push deploy of `package` that must succeed (the first half of most tests).
pub fn deployed(ws: &Workspace, moto: &Moto, package: &str, bucket: &str) -> StepResult {
    let step = ActionStep::push(ws, moto, package, bucket).run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    step
}

/// A successful deploy with other inputs.
pub fn deployed_with(
    ws: &Workspace,
    moto: &Moto,
    package: &str,
    bucket: &str,
    inputs: &[(&'static str, &str)],
) -> StepResult {
    let mut step = ActionStep::push(ws, moto, package, bucket);
    for (name, value) in inputs {
        step = step.input(name, value);
    }
    let step = step.run();
    assert_eq!(step.code(), 0, "{}", step.all_text());
    step
}

/// How long any run of the binary may take before its test fails as hung. Generous:
/// it catches hangs, it measures nothing.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);

/// Runs `command` to its end like `Command::output`, killing it after `limit`
/// (then the test fails and says so).
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mfe-deploy");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for mfe-deploy") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let err = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
            panic!("mfe-deploy did not end within {limit:?}: it hangs\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// A workflow command as the runner reads it from a line a step printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand {
    pub name: String,
    pub properties: BTreeMap<String, String>,
    pub data: String,
    /// Found by the legacy `##[name]` parser.
    pub legacy: bool,
}

/// The commands the runner registers (`ActionCommandManager`): the ones a printed line
/// can trigger.
const REGISTERED_COMMANDS: [&str; 15] = [
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
    "stop-commands",
];

/// Every workflow command the runner would act on in `output` (a step's stdout or
/// stderr: it reads both), parsed as actions/runner's `ActionCommand` does. Lines end at
/// `\n` or `\r`; `::name props::data` counts after leading whitespace (`TryParseV2`),
/// else `##[name props]data` anywhere in the line (`TryParse`). Names compare without
/// case, which is at least as permissive as the runner.
pub fn workflow_commands(output: &str) -> Vec<WorkflowCommand> {
    let registered = |name: &str| {
        REGISTERED_COMMANDS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(name))
    };
    let unescape = |s: &str, property: bool| {
        let mut s = s.replace("%0D", "\r").replace("%0A", "\n");
        if property {
            s = s.replace("%3A", ":").replace("%2C", ",");
        }
        s.replace("%25", "%")
    };
    let mut found = Vec::new();
    for line in output.split(['\n', '\r']) {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("::")
            && let Some(end) = rest.find("::")
        {
            let info = &rest[..end];
            let (name, props) = info.split_once(' ').unwrap_or((info, ""));
            if registered(name) {
                let properties = props
                    .trim()
                    .split(',')
                    .filter_map(|p| p.split_once('='))
                    .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                    .map(|(k, v)| (k.to_owned(), unescape(v, true)))
                    .collect();
                found.push(WorkflowCommand {
                    name: name.to_owned(),
                    properties,
                    data: unescape(&rest[end + 2..], false),
                    legacy: false,
                });
                continue;
            }
        }
        if let Some(start) = line.find("##[") {
            let rest = &line[start + 3..];
            if let Some(end) = rest.find(']') {
                let info = &rest[..end];
                let name = info.split(' ').next().unwrap_or_default();
                if registered(name) {
                    found.push(WorkflowCommand {
                        name: name.to_owned(),
                        properties: BTreeMap::new(),
                        data: rest[end + 1..].to_owned(),
                        legacy: true,
                    });
                }
            }
        }
    }
    found
}
