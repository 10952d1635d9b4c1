//! The emulator: start, record, reach.

use super::*;

/// A `moto_server` child, started through `moto_server.py` (which keeps the request
/// recording whole under concurrent requests). It dies with the test process: its
/// shell wrapper waits on a pipe from us and kills the server when the pipe closes,
/// even if we never drop.
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
    /// Starts a dedicated server; fails the test loudly if it cannot, or if the moto
    /// on PATH is not the pinned one.
    pub fn start(env: &[(&str, &str)]) -> Self {
        if let Err(e) = pinned_version() {
            panic!("{e}");
        }
        let launcher =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/common/moto_server.py");
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("mfe-deploy-moto-{port}.log"));
            let recording = log.with_extension("recording");
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg("python3 \"$2\" -H 127.0.0.1 -p \"$0\" >\"$1\" 2>&1 & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; rm -f \"$3\"")
                .arg(port.to_string())
                .arg(&log)
                .arg(&launcher)
                .arg(&recording)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // NOTE: moto records into `./moto_recording` unless told otherwise; every
            // test process has its own server, and a shared file would mix (and
            // truncate) their recordings.
            command.env("MOTO_RECORDER_FILEPATH", &recording);
            for (k, v) in env {
                command.env(k, v);
            }
            let mut child = command.spawn().unwrap_or_else(|e| {
                panic!("cannot spawn moto_server ({e}); install it with: scripts/ensure-moto")
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
            "moto_server did not start on 127.0.0.1 (installed by scripts/ensure-moto). Its log:\n{last_error}"
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
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| {
                    panic!("moto's recording has a broken line ({e}): {:.200}", line)
                })
            })
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
                    content_sha256: header("x-amz-content-sha256"),
                    checksum_sha256: header("x-amz-checksum-sha256"),
                    content_md5: header("content-md5"),
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

/// Checks once that the `python3` on PATH has the moto that
/// `scripts/emulator-requirements.txt` pins: other releases answer differently (5.2.6
/// denies correct IAM policies, before 5.2.5 multipart uploads fail), and a test
/// failing for that reason would point at the wrong code.
fn pinned_version() -> Result<(), String> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let requirements =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/emulator-requirements.txt");
            let text = std::fs::read_to_string(&requirements)
                .map_err(|e| format!("{}: {e}", requirements.display()))?;
            let pinned = text
                .lines()
                .find_map(|line| line.trim().strip_prefix("moto[server]=="))
                .ok_or_else(|| format!("{} pins no moto[server]==", requirements.display()))?;
            let output = Command::new("python3")
                .args(["-c", "import moto; print(moto.__version__)"])
                .output()
                .map_err(|e| {
                    format!("cannot run python3 ({e}); run the tests with scripts/test")
                })?;
            let have = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if have == pinned {
                Ok(())
            } else {
                Err(format!(
                    "the tests run against moto {pinned} (scripts/emulator-requirements.txt), \
                     but python3 on PATH has {}: run scripts/test, or \
                     PATH=\"$(scripts/ensure-moto):$PATH\" cargo test",
                    if have.is_empty() { "no moto" } else { &have }
                ))
            }
        })
        .clone()
}

pub fn client(endpoint: &str, key: &str, secret: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(https_client())
        .build();
    Client::from_conf(config)
}

/// The SDK's hyper client with rustls over `ring`, as the binary builds it (the SDK
/// crates come without their default client).
pub fn https_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Key within the bucket (empty for bucket-level requests).
    pub key: String,
    pub query: String,
    pub copy_source: Option<String>,
    /// The payload hash the request was signed with.
    pub content_sha256: Option<String>,
    /// The full-object checksum the store verifies and keeps.
    pub checksum_sha256: Option<String>,
    pub content_md5: Option<String>,
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
