//! Gradual rollout in a real browser: canaries in the native manifest, written by hand
//! in the contract's shape, decided by `runtime/index.js` in headless Chromium, all
//! served from a bucket on moto through nginx. A thousand users cost one page load:
//! the users page simulates them one after another in its tab (each a bucket in
//! `localStorage`, then one `resolveRemotes`). The shell page is one user whose
//! remotes, real scripts that record which build ran, load through `mfeDeployPlugin`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::browser::{Gate, dump_dom_in, element_text, integrity, put, put_runtime};
use crate::common::cache::{Behaviour, Cache};
use crate::common::*;

mod rollout;

/// Simulated users in one tab; see its comment for the query.
const USERS: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>users</title></head>
<body>
<pre id="out">pending</pre>
<script type="module">
// Each simulated user is one bucket in localStorage and one resolveRemotes, as that
// user's page load makes:
//   ?users=N        N fresh buckets, set before resolving: uniform numbers in [0, 1)
//                   from a seeded generator, so that every run draws the same users
//                   and a share is never off by chance
//   ?users=N&draw   storage cleared: each user a fresh instance of the runtime, which
//                   draws (and keeps) the bucket itself, as on a first visit
//   ?from=/x.json   the buckets (strings) that file lists: another phase's users
const KEY = "mfe-deploy:bucket";
const RUNTIME = "/runtime/index.js";
const MANIFEST = "/mfe-manifest.json";
const params = new URLSearchParams(location.search);
const out = document.getElementById("out");

// One real read of the manifest per page load, as a real page load makes; every
// simulated user resolves a copy of that answer.
let reads = 0;
let answer;
function fetchOnce(url, init) {
  if (new URL(url).pathname !== MANIFEST) return fetch(url, init);
  if (!answer) {
    reads += 1;
    answer = fetch(url, init);
  }
  return answer.then((response) => response.clone());
}

// NOTE: the runtime draws a missing bucket once per instance (once per page load), so
// a user who draws is a new instance: the served module's text, imported anew.
let source;
async function freshRuntime() {
  source ??= await (await fetch(RUNTIME, { cache: "no-cache" })).text();
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    return await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

// mulberry32: a small, well-spread 32-bit generator; the seed fixes the users.
let seed = 0x9e3779b9;
function freshBucket() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return String(((t ^ (t >>> 14)) >>> 0) / 2 ** 32);
}

try {
  const draw = params.has("draw");
  const from = params.get("from");
  const given = from ? await (await fetch(from, { cache: "no-cache" })).json() : null;
  const count = given ? given.length : Number(params.get("users"));
  const shared = await import(RUNTIME);
  const buckets = [];
  const channels = {};
  const seen = {};
  for (let i = 0; i < count; i++) {
    let runtime = shared;
    if (draw) {
      localStorage.removeItem(KEY);
      runtime = await freshRuntime();
    } else {
      localStorage.setItem(KEY, given ? given[i] : freshBucket());
    }
    const { remotes } = await runtime.resolveRemotes({ manifest: MANIFEST, fetch: fetchOnce });
    buckets.push(localStorage.getItem(KEY));
    for (const [module, remote] of Object.entries(remotes)) {
      channels[module] = (channels[module] ?? "") + remote.channel[0];
      (seen[module] ??= new Set()).add(`${remote.version} ${remote.channel}`);
    }
  }
  for (const module of Object.keys(seen)) seen[module] = [...seen[module]].sort();
  out.textContent = JSON.stringify({ reads, buckets, channels, seen });
} catch (error) {
  out.textContent = JSON.stringify({ error: String(error) });
}
</script>
</body>
</html>
"#;

/// One user's page load: `?bucket=`, if given, goes into `localStorage` first (else
/// the one kept there by an earlier load counts); the remotes load through
/// `mfeDeployPlugin` and run. With `?gate=<port>` the page then waits at the
/// test's gate (the test changes the manifest meanwhile), reads the manifest as it is
/// now, asks the plugin again as a later `loadRemote` would, and runs what it is given.
const SHELL: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>shell</title></head>
<body>
<pre id="out">pending</pre>
<script type="module">
import { mfeDeployPlugin } from "/runtime/index.js";

const KEY = "mfe-deploy:bucket";
const MANIFEST = "/mfe-manifest.json";
const params = new URLSearchParams(location.search);
const out = document.getElementById("out");

function run(remote) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = remote.entry;
    if (remote.integrity) script.integrity = remote.integrity;
    script.crossOrigin = "anonymous";
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${remote.entry} did not run`));
    document.head.append(script);
  });
}

let reads = 0;
function counted(url, init) {
  reads += 1;
  return fetch(url, init);
}
const plugin = mfeDeployPlugin({ manifest: MANIFEST, fetch: counted });

// What a Module Federation host does before a request: the plugin repoints the
// declared remotes (never loaded themselves); the shell runs each chosen entry.
async function loadRemotes() {
  const remotes = ["checkout", "cart"].map((name) => ({ name, entry: `/declared/${name}.js` }));
  await plugin.beforeRequest({ options: { remotes } });
  await Promise.all(remotes.map(run));
  return Object.fromEntries(remotes.map((r) => [r.name, r.entry]));
}

try {
  if (params.has("bucket")) localStorage.setItem(KEY, params.get("bucket"));
  plugin.beforeInit({});
  const first = { entries: await loadRemotes(), ran: [...globalThis.ran] };
  let later = null;
  if (params.has("gate")) {
    await fetch(`http://127.0.0.1:${params.get("gate")}/`, { cache: "no-store" });
    const live = await (await fetch(MANIFEST, { cache: "no-cache" })).json();
    later = { live, entries: await loadRemotes(), ran: [...globalThis.ran] };
  }
  out.textContent = JSON.stringify({ first, later, reads, bucket: localStorage.getItem(KEY) });
} catch (error) {
  out.textContent = JSON.stringify({ error: String(error) });
}
</script>
</body>
</html>
"#;

/// Each module's stable build and the build it rolls out.
const CHECKOUT: (&str, &str) = ("3f2a9c1b0d4e", "c0ffee000001");
const CART: (&str, &str) = ("0a1b2c3d4e5f", "c0ffee000002");
const STARTED: &str = "2026-12-02T01:08:11.123Z";

/// A real script: it records which build of which module ran.
fn script(module: &str, version: &str) -> String {
    format!("(globalThis.ran ??= []).push(\"{module}@{version}\");\n")
}

fn entry_key(module: &str, version: &str) -> String {
    format!("{module}/{version}/remoteEntry.js")
}

/// A module's live entry as the native manifest states it, with no canary.
fn stable(module: &str, version: &str, previous: Option<&str>) -> (String, Value) {
    let entry = json!({
        "name": module,
        "entry": format!("/{}", entry_key(module, version)),
        "version": version,
        "integrity": integrity(script(module, version).as_bytes()),
        "deployed": "2026-12-01T09:00:00Z",
        "commit": null,
        "previous": previous,
    });
    (module.to_owned(), entry)
}

/// The same entry with `version` as its canary at `percent` of rollout `rollout`.
fn canary(
    (module, mut entry): (String, Value),
    version: &str,
    percent: u8,
    rollout: &str,
) -> (String, Value) {
    entry["canary"] = json!({
        "version": version,
        "entry": format!("/{}", entry_key(&module, version)),
        "integrity": integrity(script(&module, version).as_bytes()),
        "percent": percent,
        "rollout": rollout,
        "started": STARTED,
    });
    (module, entry)
}

/// What the users page wrote: per user (in order) the bucket it kept and, per module,
/// one letter of its channel (`s`, `c`); and every "version channel" it resolved.
#[derive(Debug, Deserialize)]
struct Users {
    reads: u64,
    buckets: Vec<String>,
    channels: BTreeMap<String, String>,
    seen: BTreeMap<String, Vec<String>>,
}

impl Users {
    /// The users (their index) that got `module`'s canary.
    fn in_canary(&self, module: &str) -> BTreeSet<usize> {
        self.channels[module]
            .char_indices()
            .filter(|&(_, c)| c == 'c')
            .map(|(i, _)| i)
            .collect()
    }

    /// The share of users, in percent, that got `module`'s canary.
    fn share(&self, module: &str) -> f64 {
        percent(self.in_canary(module).len(), self.buckets.len())
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    part as f64 * 100.0 / whole as f64
}

/// A bucket holding the users page, the shell, the runtime and every build's entry,
/// behind nginx; the test writes the manifest.
struct Site {
    moto: &'static Moto,
    bucket: String,
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
        put(moto, &bucket, "users.html", "text/html", USERS.as_bytes());
        put(moto, &bucket, "shell.html", "text/html", SHELL.as_bytes());
        for (module, (old, new)) in [("checkout", CHECKOUT), ("cart", CART)] {
            for version in [old, new] {
                let key = entry_key(module, version);
                let body = script(module, version);
                put(moto, &bucket, &key, "text/javascript", body.as_bytes());
            }
        }
        Self {
            moto,
            bucket,
            cache,
            port,
        }
    }

    /// Writes the live manifest: these modules' entries.
    fn publish(&self, modules: impl IntoIterator<Item = (String, Value)>) {
        let modules: serde_json::Map<String, Value> = modules.into_iter().collect();
        let document = json!({
            "schema": "mfe-deploy/manifest@1",
            "updated": STARTED,
            "modules": modules,
        });
        let body = serde_json::to_vec(&document).unwrap();
        put(
            self.moto,
            &self.bucket,
            "mfe-manifest.json",
            "application/json",
            &body,
        );
    }

    /// Puts the buckets of `users` where `users.html?from=/users.json` reads them.
    fn keep_users(&self, users: &Users) {
        let body = serde_json::to_vec(&users.buckets).unwrap();
        put(
            self.moto,
            &self.bucket,
            "users.json",
            "application/json",
            &body,
        );
    }

    /// Loads the users page with `query`. Checks that it read the manifest once and
    /// that every user got a build the manifest names, in its channel.
    fn users(&self, query: &str) -> Users {
        let users: Users = serde_json::from_value(self.open("users.html", query)).unwrap();
        assert_eq!(users.reads, 1, "one manifest read per page load");
        let live: Value =
            serde_json::from_slice(&get(self.moto, &self.bucket, "mfe-manifest.json")).unwrap();
        let modules = live["modules"].as_object().unwrap();
        assert_eq!(
            users.seen.keys().collect::<Vec<_>>(),
            modules.keys().collect::<Vec<_>>(),
            "every module of the manifest is resolved"
        );
        for (module, entry) in modules {
            let mut named = vec![format!("{} stable", entry["version"].as_str().unwrap())];
            if let Some(version) = entry["canary"]["version"].as_str() {
                named.push(format!("{version} canary"));
            }
            for got in &users.seen[module] {
                assert!(named.contains(got), "{module}: {got} is none of {named:?}");
            }
            assert_eq!(users.channels[module].len(), users.buckets.len());
        }
        users
    }

    /// Loads the shell page with `query` in `user`'s browser profile.
    fn shell(&self, user: &Path, query: &str) -> Value {
        self.open_in(user, "shell.html", query)
    }

    /// Loads `page` with `query` in a new tab of a new profile; the JSON it wrote
    /// into `#out`.
    fn open(&self, page: &str, query: &str) -> Value {
        self.open_in(tempfile::tempdir().unwrap().path(), page, query)
    }

    fn open_in(&self, profile: &Path, page: &str, query: &str) -> Value {
        let url = format!("http://127.0.0.1:{}/{page}{query}", self.port);
        let dom = dump_dom_in(&url, profile);
        let out = element_text(&dom, "out").unwrap_or_else(|| panic!("{url}: no #out in\n{dom}"));
        assert_ne!(out, "pending", "{url}: the page did not finish");
        let written: Value = serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!(
                "{url}: #out is not the page's JSON ({e}): {out}\nnginx's error log:\n{}",
                self.cache.error_log()
            )
        });
        assert!(
            written.get("error").is_none(),
            "{url}: the page failed: {written}\nnginx's error log:\n{}",
            self.cache.error_log()
        );
        written
    }
}

/// The builds a shell page ran (in `step`: "first" or "later"), in a stable order.
fn ran(page: &Value, step: &str) -> Vec<String> {
    let mut ran: Vec<String> = serde_json::from_value(page[step]["ran"].clone())
        .unwrap_or_else(|e| panic!("{step}: no ran ({e}): {page}"));
    ran.sort();
    ran
}

fn runs(builds: &[(&str, &str)]) -> Vec<String> {
    let mut runs: Vec<String> = builds.iter().map(|(m, v)| format!("{m}@{v}")).collect();
    runs.sort();
    runs
}
