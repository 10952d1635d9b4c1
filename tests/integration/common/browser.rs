//! Headless Chromium: one page load in a new tab of a new profile (empty
//! `sessionStorage` and `localStorage`), and the DOM once its scripts and their
//! requests have settled.

use super::*;

/// How long one page load may take before its test fails as hung.
const PAGE_DEADLINE: Duration = Duration::from_secs(90);

/// The DOM of `url` after its scripts ran, in a fresh profile: every call is a new
/// tab. Navigations the page makes itself are followed; the DOM is the last page's.
/// Fails the test loudly, saying how to install Chromium, when it cannot run.
pub fn dump_dom(url: &str) -> String {
    let chromium = chromium_binary();
    let profile = tempfile::tempdir().expect("tempdir");
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
        .arg(format!("--user-data-dir={}", profile.path().display()))
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

const INSTALL: &str = "the browser tests need Chromium: apt-get install -y chromium";

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
