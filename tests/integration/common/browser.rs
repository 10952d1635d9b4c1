//! Headless Chromium: one page load in a new tab of a new profile (empty
//! `sessionStorage` and `localStorage`), and the DOM once its scripts and their
//! requests have settled; the files such a page loads, put in a bucket; and a gate the
//! test holds a page at while it changes the bucket.

use sha2::Digest as _;

use super::*;

/// How long one page load may take before its test fails as hung.
const PAGE_DEADLINE: Duration = Duration::from_secs(90);

/// The DOM of `url` after its scripts ran, in a fresh profile: every call is a new
/// tab. Navigations the page makes itself are followed; the DOM is the last page's.
/// Fails the test loudly, saying how to install Chromium, when it cannot run.
pub fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().expect("tempdir");
    dump_dom_in(url, profile.path())
}

/// [`dump_dom`] in the profile at `profile`: what earlier page loads in it kept
/// (`localStorage`, the HTTP cache) is there, as when a user comes back or reloads.
pub fn dump_dom_in(url: &str, profile: &Path) -> String {
    let chromium = chromium_binary();
    let mut child = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            // NOTE: without these Chromium reaches for Google's hosts at every start,
            // and this machine's closed network refuses them, many at a time.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // NOTE: a page that navigates after its load event, with the old page kept
            // in the back/forward cache, stalls virtual time until the deadline
            // (Chromium 148): the old page is simply dropped instead.
            "--disable-features=BackForwardCache",
            "--dump-dom",
            // Virtual time: the DOM is taken once no request is pending and no timer
            // is due, or after 20 virtual seconds.
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): {INSTALL}", chromium.display()));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > PAGE_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not dump {url} within {PAGE_DEADLINE:?}. It said:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let dom = stdout.join().unwrap_or_default();
    if !status.success() || dom.is_empty() {
        panic!(
            "chromium ({}) loaded no page from {url} ({status}): {INSTALL}. It said:\n{}",
            chromium.display(),
            stderr.join().unwrap_or_default()
        );
    }
    dom
}

/// The text of the element with `id` in a dumped DOM (no markup inside it), unescaped.
pub fn element_text(dom: &str, id: &str) -> Option<String> {
    let open = format!(" id=\"{id}\">");
    let start = dom.find(&open)? + open.len();
    let end = start + dom[start..].find('<')?;
    Some(
        dom[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&"),
    )
}

const INSTALL: &str = "the browser tests need Chromium: scripts/ensure-nginx installs it (apt-get install -y chromium)";

/// `chromium` on PATH, else where Debian's package puts it.
fn chromium_binary() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("chromium"))
        .chain([PathBuf::from("/usr/bin/chromium")])
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("chromium is neither on PATH nor at /usr/bin/chromium: {INSTALL}")
        })
}

/// Puts `body` at `key` as mfe-deploy publishes an entry: `no-cache`, with its charset.
pub fn put(moto: &Moto, bucket: &str, key: &str, content_type: &str, body: &[u8]) {
    let content_type = format!("{content_type}; charset=utf-8");
    put_served(moto, bucket, key, &content_type, "no-cache", body);
}

/// The shell runtime (`runtime/index.js`) at `runtime/index.js` in `bucket`.
pub fn put_runtime(moto: &Moto, bucket: &str) {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime/index.js");
    let runtime = std::fs::read(&runtime).unwrap_or_else(|e| panic!("{runtime:?}: {e}"));
    put(
        moto,
        bucket,
        "runtime/index.js",
        "text/javascript",
        &runtime,
    );
}

/// The subresource integrity of `bytes`, as a manifest states an entry's.
pub fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64_simd::STANDARD.encode_to_string(sha2::Sha384::digest(bytes))
    )
}

/// A URL on loopback that a page fetches and the test answers when it is ready: the
/// page stops there in the middle of its load while the test changes the bucket.
/// Chromium's virtual time stands still while a request is pending, so the page waits
/// as long as the test needs (no timer to tune), and no longer.
pub struct Gate {
    listener: TcpListener,
    /// `http://127.0.0.1:<port>/`; any path; answered with CORS for any origin.
    pub port: u16,
}

/// The page's request at the gate, not answered yet.
pub struct Held(TcpStream);

impl Gate {
    pub fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the gate");
        listener.set_nonblocking(true).expect("non-blocking gate");
        let port = listener.local_addr().expect("gate address").port();
        Self { listener, port }
    }

    /// Waits for the page to reach the gate. Fails the test when `page_ended()` says the
    /// page finished without coming, or after as long as one page load may take.
    pub fn wait(&self, page_ended: impl Fn() -> bool) -> Held {
        let started = Instant::now();
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).expect("blocking stream");
                    stream
                        .set_read_timeout(Some(PAGE_DEADLINE))
                        .expect("read timeout");
                    let mut head = Vec::new();
                    let mut byte = [0; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            other => panic!("the gate's request ended early ({other:?})"),
                        }
                    }
                    return Held(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(!page_ended(), "the page ended without reaching the gate");
                    assert!(
                        started.elapsed() < PAGE_DEADLINE,
                        "the page did not reach the gate within {PAGE_DEADLINE:?}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("the gate cannot accept: {e}"),
            }
        }
    }
}

impl Held {
    /// Answers the page's request: the page goes on.
    pub fn release(mut self) {
        self.0
            .write_all(
                b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
            )
            .expect("answer the page at the gate");
    }
}
