//! The shell side in a real browser: a shell page using `runtime/index.js`, a
//! discovery manifest, two PR overlays and real remote entries, all in a bucket on
//! moto, served through nginx to headless Chromium. Two host names of the one server
//! stand for two sites: `localhost` is the preview host, `127.0.0.1` the main site.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::browser::{dump_dom, element_text, integrity, put, put_runtime};
use crate::common::cache::{Behaviour, Cache};
use crate::common::*;

const PREVIEW_HOST: &str = "localhost";
const MAIN_HOST: &str = "127.0.0.1";

/// The shell: resolves the remotes, loads every entry as a script with its SRI
/// integrity, and writes what it resolved and which builds ran into `#out`; with
/// `?then-navigate` it then navigates itself to `/index.html` (no parameters).
const SHELL: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>shell</title></head>
<body>
<pre id="out">pending</pre>
<script type="module">
import { resolveRemotes } from "/runtime/index.js";

function load(remote) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = remote.entry;
    if (remote.integrity) script.integrity = remote.integrity;
    script.crossOrigin = "anonymous";
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${remote.entry} did not load`));
    document.head.append(script);
  });
}

const out = document.getElementById("out");
try {
  const { remotes, preview } = await resolveRemotes({
    manifest: "/mfe-manifest.json",
    previewHosts: ["localhost"],
  });
  await Promise.all(Object.values(remotes).map(load));
  out.textContent = JSON.stringify({
    page: location.href,
    preview,
    remotes,
    ran: globalThis.ran ?? {},
    kept: sessionStorage.getItem("mfe-deploy:preview"),
  });
  if (new URLSearchParams(location.search).has("then-navigate")) location.assign("/index.html");
} catch (error) {
  out.textContent = JSON.stringify({ page: location.href, error: String(error) });
}
</script>
</body>
</html>
"#;

const CHECKOUT: &str = "3f2a9c1b0d4e";
const CART: &str = "0a1b2c3d4e5f";
const CHECKOUT_PR_1: &str = "pr-1-abc1234";
const CHECKOUT_PR_2: &str = "pr-2-def5678";
const CART_PR_2: &str = "pr-2-def5678";

/// A bucket holding the shell, the runtime, the manifest, the overlays of PR 1 and
/// PR 2 and every entry they name, behind nginx.
struct Site {
    cache: Cache,
    port: u16,
}

impl Site {
    fn start(name: &str) -> Self {
        let moto = shared();
        let bucket = bucket(moto, name);
        public_read(moto, &bucket);
        let cache = Cache::start(moto, &bucket, Behaviour::Honest);
        let port: u16 = cache.url.rsplit(':').next().unwrap().parse().unwrap();

        put_runtime(moto, &bucket);
        put(moto, &bucket, "index.html", "text/html", SHELL.as_bytes());

        let mut modules = BTreeMap::new();
        for (module, version) in [
            ("checkout", CHECKOUT),
            ("cart", CART),
            ("checkout", CHECKOUT_PR_1),
            ("checkout", CHECKOUT_PR_2),
            ("cart", CART_PR_2),
        ] {
            // A real script: it says which build of which module ran.
            let script = format!("(globalThis.ran ??= {{}})[{module:?}] = {version:?};\n");
            let key = format!("{module}/{version}/remoteEntry.js");
            put(moto, &bucket, &key, "text/javascript", script.as_bytes());
            let entry = json!({
                "name": module,
                "version": version,
                "entry": format!("/{key}"),
                "integrity": integrity(script.as_bytes()),
            });
            modules.insert((module, version), entry);
        }
        let document = |entries: Vec<Value>| {
            let modules: serde_json::Map<String, Value> = entries
                .into_iter()
                .map(|e| (e["name"].as_str().unwrap().to_owned(), e))
                .collect();
            serde_json::to_vec(&json!({"schema": "mfe-deploy/manifest@1", "modules": modules}))
                .unwrap()
        };
        let entry = |module, version| modules[&(module, version)].clone();
        let manifest = document(vec![entry("checkout", CHECKOUT), entry("cart", CART)]);
        let pr_1 = document(vec![entry("checkout", CHECKOUT_PR_1)]);
        // PR 2's cart is a real, loadable script, but on the other host: another
        // origin, which the runtime must not take from an overlay.
        let mut cross_origin = entry("cart", CART_PR_2);
        cross_origin["entry"] = json!(format!(
            "http://{MAIN_HOST}:{port}/cart/{CART_PR_2}/remoteEntry.js"
        ));
        let pr_2 = document(vec![entry("checkout", CHECKOUT_PR_2), cross_origin]);
        put(
            moto,
            &bucket,
            "mfe-manifest.json",
            "application/json",
            &manifest,
        );
        put(
            moto,
            &bucket,
            "mfe-manifest.pr-1.json",
            "application/json",
            &pr_1,
        );
        put(
            moto,
            &bucket,
            "mfe-manifest.pr-2.json",
            "application/json",
            &pr_2,
        );
        Self { cache, port }
    }

    /// Opens the shell at `host` with `query` in a new tab; what it wrote into `#out`.
    fn open(&self, host: &str, query: &str) -> Value {
        let url = format!("http://{host}:{}/index.html{query}", self.port);
        let dom = dump_dom(&url);
        let out = element_text(&dom, "out").unwrap_or_else(|| panic!("{url}: no #out in\n{dom}"));
        let page: Value = serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!(
                "{url}: #out is not the shell's JSON ({e}): {out}\nnginx's error log:\n{}",
                self.cache.error_log()
            )
        });
        assert!(
            page.get("error").is_none(),
            "{url}: the shell failed: {page}\nnginx's error log:\n{}",
            self.cache.error_log()
        );
        page
    }
}

/// Each module as "version channel", and each module's build that actually ran.
fn served(page: &Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let resolved = page["remotes"]
        .as_object()
        .unwrap_or_else(|| panic!("no remotes: {page}"))
        .iter()
        .map(|(module, r)| {
            let text = format!("{} {}", r["version"].as_str().unwrap(), r["channel"]);
            (module.clone(), text.replace('"', ""))
        })
        .collect();
    let ran = serde_json::from_value(page["ran"].clone()).unwrap();
    (resolved, ran)
}

fn expected(
    checkout: (&str, &str),
    cart: (&str, &str),
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let resolved = [("checkout", checkout), ("cart", cart)]
        .into_iter()
        .map(|(m, (version, channel))| (m.to_owned(), format!("{version} {channel}")))
        .collect();
    let ran = [("checkout", checkout.0), ("cart", cart.0)]
        .into_iter()
        .map(|(m, version)| (m.to_owned(), version.to_owned()))
        .collect();
    (resolved, ran)
}

fn base() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    expected((CHECKOUT, "stable"), (CART, "stable"))
}

#[test]
fn a_preview_link_on_the_preview_host_runs_the_prs_checkout_and_the_stable_cart() {
    let site = Site::start("browser-preview");
    let page = site.open(PREVIEW_HOST, "?mfe-preview=pr-1");
    assert_eq!(page["preview"], "pr-1", "{page}");
    assert_eq!(
        served(&page),
        expected((CHECKOUT_PR_1, "preview"), (CART, "stable"))
    );
    assert_eq!(page["kept"], "pr-1", "the tab keeps the preview: {page}");
}

#[test]
fn a_fresh_tab_without_the_parameter_runs_the_base() {
    let site = Site::start("browser-fresh-tab");
    let preview = site.open(PREVIEW_HOST, "?mfe-preview=pr-1");
    assert_eq!(preview["preview"], "pr-1", "{preview}");

    let fresh = site.open(PREVIEW_HOST, "");
    assert_eq!(fresh["preview"], Value::Null, "{fresh}");
    assert_eq!(served(&fresh), base());
}

#[test]
fn the_tab_keeps_its_preview_across_a_navigation_without_the_parameter() {
    let site = Site::start("browser-navigation");
    let page = site.open(PREVIEW_HOST, "?mfe-preview=pr-1&then-navigate");
    assert_eq!(
        page["page"],
        format!("http://{PREVIEW_HOST}:{}/index.html", site.port),
        "the shell navigated to a page without the parameter: {page}"
    );
    assert_eq!(page["preview"], "pr-1", "{page}");
    assert_eq!(
        served(&page),
        expected((CHECKOUT_PR_1, "preview"), (CART, "stable"))
    );
}

#[test]
fn a_closed_prs_preview_falls_back_to_the_base_and_the_tab_forgets_it() {
    let site = Site::start("browser-closed-pr");
    let page = site.open(PREVIEW_HOST, "?mfe-preview=pr-9&then-navigate");
    assert_eq!(page["preview"], Value::Null, "{page}");
    assert_eq!(page["kept"], Value::Null, "{page}");
    assert_eq!(served(&page), base());
}

#[test]
fn an_overlay_entry_on_another_origin_is_ignored() {
    let site = Site::start("browser-cross-origin");
    let page = site.open(PREVIEW_HOST, "?mfe-preview=pr-2");
    assert_eq!(page["preview"], "pr-2", "{page}");
    assert_eq!(
        served(&page),
        expected((CHECKOUT_PR_2, "preview"), (CART, "stable"))
    );
}

#[test]
fn the_main_host_ignores_the_parameter() {
    let site = Site::start("browser-main-host");
    let page = site.open(MAIN_HOST, "?mfe-preview=pr-1");
    assert_eq!(page["preview"], Value::Null, "{page}");
    assert_eq!(page["kept"], Value::Null, "{page}");
    assert_eq!(served(&page), base());
}
