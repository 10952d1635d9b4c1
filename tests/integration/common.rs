//! Test harness: a real `moto_server` on loopback, the real binary run as the GitHub
//! runner runs the container, and readers for what it left behind.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use mfe_deploy::github::outputs::parse_outputs;

pub const ACCESS_KEY: &str = "AKIAMFEDEPLOYTEST0001";
pub const SECRET_KEY: &str = "mfe-test-secret-Zq8xW3vT9pL2kR7s";

/// A `moto_server` child. It dies with the test process: its shell wrapper waits on
/// a pipe from us and kills the server when the pipe closes, even if we never drop.
pub struct Moto {
    pub endpoint: String,
    _child: Child,
    _lifeline: ChildStdin,
}

/// A server shared by the tests of this process, with request recording on.
pub fn shared() -> &'static Moto {
    static SHARED: OnceLock<Moto> = OnceLock::new();
    SHARED.get_or_init(|| {
        let moto = Moto::start(&[]);
        moto.recorder("reset-recording");
        moto.recorder("start-recording");
        moto
    })
}

impl Moto {
    /// Starts a dedicated server; fails the test loudly if it cannot.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("mfe-deploy-moto-{port}.log"));
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg("moto_server -H 127.0.0.1 -p \"$0\" >\"$1\" 2>&1 & pid=$!; cat >/dev/null; kill $pid 2>/dev/null")
                .arg(port.to_string())
                .arg(&log)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            for (k, v) in env {
                command.env(k, v);
            }
            let mut child = command.spawn().unwrap_or_else(|e| {
                panic!("cannot spawn moto_server ({e}); install it with: python3 -m pip install 'moto[server]'")
            });
            let lifeline = child.stdin.take().expect("piped stdin");
            let endpoint = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if http("GET", &endpoint, "/moto-api/", "").is_ok_and(|(status, _)| status == 200) {
                    return Self {
                        endpoint,
                        _child: child,
                        _lifeline: lifeline,
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            last_error = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "moto_server did not start on 127.0.0.1 (is it installed? python3 -m pip install 'moto[server]'). Its log:\n{last_error}"
        );
    }

    fn recorder(&self, action: &str) -> String {
        let (status, body) = http(
            "POST",
            &self.endpoint,
            &format!("/moto-api/recorder/{action}"),
            "",
        )
        .unwrap_or_else(|e| panic!("moto recorder {action}: {e}"));
        assert_eq!(status, 200, "moto recorder {action}: {body}");
        body
    }

    /// Requests recorded for `bucket` (path-style), in arrival order.
    pub fn requests(&self, bucket: &str) -> Vec<Recorded> {
        let text = self.recorder("download-recording");
        let prefix = format!("/{bucket}");
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|v| {
                let url = v["url"].as_str()?;
                let after_host = url
                    .splitn(4, '/')
                    .nth(3)
                    .map_or("/".to_owned(), |p| format!("/{p}"));
                let (path, query) = after_host.split_once('?').unwrap_or((&after_host, ""));
                let path = percent_decode(path);
                if path != prefix && !path.starts_with(&format!("{prefix}/")) {
                    return None;
                }
                let headers = v["headers"].as_object()?;
                let header = |name: &str| {
                    headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_str())
                        .map(str::to_owned)
                };
                Some(Recorded {
                    method: v["method"].as_str()?.to_owned(),
                    key: path[prefix.len()..].trim_start_matches('/').to_owned(),
                    query: query.to_owned(),
                    copy_source: header("x-amz-copy-source"),
                    access_key: header("authorization").and_then(|a| {
                        a.split("Credential=")
                            .nth(1)
                            .and_then(|c| c.split('/').next())
                            .map(str::to_owned)
                    }),
                })
            })
            .collect()
    }

    /// An SDK client for setting up and inspecting buckets.
    pub fn client(&self) -> Client {
        client(&self.endpoint, ACCESS_KEY, SECRET_KEY)
    }
}

pub fn client(endpoint: &str, key: &str, secret: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    Client::from_conf(config)
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Key within the bucket (empty for bucket-level requests).
    pub key: String,
    pub query: String,
    pub copy_source: Option<String>,
    /// The access key id the request was signed with.
    pub access_key: Option<String>,
}

impl Recorded {
    /// PutObject or UploadPart/Complete carrying bytes (not a copy, not CreateBucket).
    pub fn is_upload(&self) -> bool {
        self.method == "PUT" && self.copy_source.is_none() && !self.key.is_empty()
    }
    pub fn is_copy(&self) -> bool {
        self.method == "PUT" && self.copy_source.is_some()
    }
    pub fn is_list(&self) -> bool {
        self.method == "GET" && self.query.contains("list-type=2")
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 3 <= bytes.len())
            .then(|| u8::from_str_radix(&s[i + 1..i + 3], 16).ok())
            .flatten();
        if let Some(b) = escaped {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Minimal HTTP/1.0 request to the loopback server (no extra client crate needed).
pub fn http(
    method: &str,
    endpoint: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let mut text = String::new();
    reader.read_to_string(&mut text)?;
    Ok((status, text))
}

/// A copy of the example monorepo in a temporary workspace.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn example() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/monorepo");
        copy_tree(&source, dir.path());
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn dist(&self, package: &str) -> PathBuf {
        self.path().join("packages").join(package).join("dist")
    }

    pub fn write(&self, rel: &str, content: &[u8]) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }

    /// Rewrites every file of a package's dist with the same bytes and a new mtime,
    /// as a fresh CI build does.
    pub fn rebuild_same_bytes(&self, package: &str) {
        let later = std::time::SystemTime::now() + Duration::from_secs(3600);
        for entry in walk(&self.dist(package)) {
            let bytes = std::fs::read(&entry).expect("read");
            std::fs::remove_file(&entry).expect("rm");
            std::fs::write(&entry, bytes).expect("write");
            let file = std::fs::File::options()
                .write(true)
                .open(&entry)
                .expect("open");
            file.set_modified(later).expect("mtime");
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "node_modules" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Unique bucket per test, created on the server.
pub fn bucket(moto: &Moto, name: &str) -> String {
    static COUNTER: Mutex<u32> = Mutex::new(0);
    let n = {
        let mut c = COUNTER.lock().unwrap_or_else(|p| p.into_inner());
        *c += 1;
        *c
    };
    let bucket = format!("{}-{}-{n}", name.replace('_', "-"), std::process::id());
    let bucket: String = bucket.chars().take(63).collect();
    let client = moto.client();
    block_on(async { client.create_bucket().bucket(&bucket).send().await }).expect("create bucket");
    bucket
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

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
            ("mode", "in-place".to_owned()),
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
        }
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

    pub fn input(mut self, name: &'a str, value: &str) -> Self {
        self.inputs.insert(name, value.to_owned());
        self
    }

    /// Runs the binary as the container does: no arguments, cwd = workspace.
    pub fn run(&self) -> StepResult {
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
        let output = command.output().expect("run mfe-deploy");
        let raw_outputs = std::fs::read_to_string(&output_path).unwrap_or_default();
        StepResult {
            outputs: parse_outputs(&raw_outputs).into_iter().collect(),
            summary: std::fs::read_to_string(&summary_path).unwrap_or_default(),
            raw_outputs,
            output,
        }
    }
}

/// Every key in `bucket`.
pub fn keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let client = moto.client();
    block_on(async {
        let out = client
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    })
}

/// (Cache-Control, Content-Type, ETag) of an object.
pub fn head(moto: &Moto, bucket: &str, key: &str) -> (String, String, String) {
    let client = moto.client();
    block_on(async {
        let out = client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("head {key}: {e:?}"));
        (
            out.cache_control().unwrap_or_default().to_owned(),
            out.content_type().unwrap_or_default().to_owned(),
            out.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
        )
    })
}

pub fn get(moto: &Moto, bucket: &str, key: &str) -> Vec<u8> {
    let client = moto.client();
    block_on(async {
        let out = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("get");
        out.body.collect().await.expect("body").to_vec()
    })
}

/// Creates an IAM user (with an optional inline policy) through boto3, moto's own
/// dependency; returns its access key. Enforcement starts with `enforce_auth`.
pub fn iam_user(moto: &Moto, policy: Option<&str>) -> (String, String) {
    let script = format!(
        "import boto3, sys\niam = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')\niam.create_user(UserName='deployer')\npolicy = sys.stdin.read()\nif policy:\n    iam.put_user_policy(UserName='deployer', PolicyName='deploy', PolicyDocument=policy)\nk = iam.create_access_key(UserName='deployer')['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])\n",
        moto.endpoint
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with boto3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(policy.unwrap_or_default().as_bytes())
        .expect("policy");
    let output = child.wait_with_output().expect("python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut parts = text.split_whitespace();
    (
        parts.next().expect("key id").to_owned(),
        parts.next().expect("secret").to_owned(),
    )
}

/// From now on moto checks every request against IAM.
pub fn enforce_auth(moto: &Moto) {
    let (status, body) =
        http("POST", &moto.endpoint, "/moto-api/reset-auth", "0").expect("reset-auth");
    assert_eq!(status, 200, "{body}");
}

/// The usual start of a test: the shared server, a fresh bucket, a fresh workspace.
pub fn setup(name: &str) -> (&'static Moto, String, Workspace) {
    let moto = shared();
    let bucket = bucket(moto, name);
    (moto, bucket, Workspace::example())
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

/// Creates a CloudFront distribution in front of `bucket` through boto3; `extra` is
/// Python merged into the DistributionConfig (for audit cases). Returns its id.
pub fn create_distribution(moto: &Moto, bucket: &str, extra: &str) -> String {
    let script = format!(
        r#"import boto3
cf = boto3.client('cloudfront', endpoint_url='{endpoint}', region_name='us-east-1', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')
config = {{
    'CallerReference': 'test-{bucket}',
    'Comment': 'mfe-deploy test',
    'Enabled': True,
    'DefaultRootObject': '',
    'Origins': {{'Quantity': 1, 'Items': [{{'Id': 's3', 'DomainName': '{bucket}.s3.us-east-1.amazonaws.com', 'OriginPath': '', 'S3OriginConfig': {{'OriginAccessIdentity': ''}}, 'OriginAccessControlId': 'E2OACTEST'}}]}},
    'DefaultCacheBehavior': {{'TargetOriginId': 's3', 'ViewerProtocolPolicy': 'redirect-to-https', 'Compress': True, 'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}},
}}
{extra}
print(cf.create_distribution(DistributionConfig=config)['Distribution']['Id'])
"#,
        endpoint = moto.endpoint
    );
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 with boto3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The paths of every invalidation of a distribution, newest first, through boto3.
pub fn invalidations(moto: &Moto, distribution: &str) -> Vec<(String, Vec<String>)> {
    let script = format!(
        r#"import boto3, json
cf = boto3.client('cloudfront', endpoint_url='{endpoint}', region_name='us-east-1', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')
items = cf.list_invalidations(DistributionId='{distribution}')['InvalidationList'].get('Items', [])
out = []
for item in items:
    inv = cf.get_invalidation(DistributionId='{distribution}', Id=item['Id'])['Invalidation']
    out.append([inv['Id'], inv['InvalidationBatch']['Paths'].get('Items', [])])
print(json.dumps(out))
"#,
        endpoint = moto.endpoint
    );
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 with boto3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json")
}

/// The binary as a developer runs it locally in `ws`: a scrubbed environment with
/// credentials in the standard AWS variables.
pub fn cli_command(ws: &Workspace) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mfe-deploy"));
    scrubbed(&mut command);
    command
        .current_dir(ws.path())
        .env("HOME", ws.path())
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
