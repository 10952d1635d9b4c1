//! Republish in a real browser: Chromium keeps the SPA fallback's answer under a
//! chunk's URL in its own HTTP cache (served `immutable`, so for a year). Once the
//! CDN is clean the same profile still breaks; after `republish` it loads the module
//! from fresh URLs and the chunk runs.

use crate::common::browser::{dump_dom, dump_dom_in, element_text, put, put_runtime};
use crate::common::cache::{Behaviour, Cache};
use crate::common::*;

/// Resolves the module through the manifest, loads its entry with its integrity,
/// and says which version it loaded; the chunk says whether it ran.
const SHELL: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>shell</title></head>
<body>
<pre id="out">pending</pre>
<p id="chunk">not run</p>
<script type="module">
import { resolveRemotes } from "/runtime/index.js";
const out = document.getElementById("out");
try {
  const { remotes } = await resolveRemotes({ manifest: "/mfe-manifest.json" });
  const remote = remotes.poison;
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = remote.entry;
    script.integrity = remote.integrity;
    script.crossOrigin = "anonymous";
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${remote.entry} did not load`));
    document.head.append(script);
  });
  out.textContent = remote.version;
} catch (error) {
  out.textContent = String(error);
}
</script>
</body>
</html>
"#;

/// The module's entry: its chunk is found next to it (publicPath `auto`).
const ENTRY: &str = r#"(() => {
  const script = document.createElement("script");
  script.src = new URL("chunk.0a1b2c3d.js", document.currentScript.src).href;
  document.head.append(script);
})();
"#;

const CHUNK: &str = "document.getElementById(\"chunk\").textContent = \"ran\";\n";

/// A page that asks for the chunk's URL while the origin answers it with the shell.
const VISIT: &str = r#"<!doctype html><html><body><p id="visited">yes</p><script src="/poison/v1/chunk.0a1b2c3d.js"></script></body></html>"#;

#[test]
fn a_browser_holding_the_fallback_under_a_chunk_url_loads_the_republished_version() {
    let (moto, bucket, ws) = setup("browser-republish");
    public_read(moto, &bucket);
    let cache = Cache::start(moto, &bucket, Behaviour::Stale);
    let distribution = create_distribution(moto, &bucket, "");
    put_runtime(moto, &bucket);
    put(moto, &bucket, "index.html", "text/html", SHELL.as_bytes());
    put(moto, &bucket, "visit.html", "text/html", VISIT.as_bytes());
    ws.write("packages/poison/dist/remoteEntry.js", ENTRY.as_bytes());
    ws.write("packages/poison/dist/chunk.0a1b2c3d.js", CHUNK.as_bytes());

    // While the chunk is missing, the fallback answers its URL with the shell, served
    // as the CDN serves that path: immutable. The user's browser keeps it.
    let chunk = "/poison/v1/chunk.0a1b2c3d.js";
    let immutable = "public, max-age=31536000, immutable";
    let key = chunk.trim_start_matches('/');
    put_served(moto, &bucket, key, "text/html", immutable, SHELL.as_bytes());
    let profile = tempfile::tempdir().unwrap();
    let visited = dump_dom_in(&format!("{}/visit.html", cache.url), profile.path());
    assert_eq!(element_text(&visited, "visited").as_deref(), Some("yes"));
    delete(moto, &bucket, key);

    let step = |ws| {
        ActionStep::push(ws, moto, "poison", &bucket)
            .input("mode", "versioned")
            .input("public-url", &cache.url)
            .input("distribution-id", &distribution)
    };
    let deploy = step(&ws).input("version", "v1").run();
    assert_eq!(deploy.code(), 0, "{}", deploy.all_text());
    // The CDN is cleaned (the deploy's invalidation, and `doctor: invalidate` for
    // the chunk's URL): the edge serves the real chunk again.
    for path in invalidations(moto, &distribution).iter().flat_map(|i| &i.1) {
        cache.purge(path);
    }
    assert!(
        cache
            .purge(chunk)
            .header("content-type")
            .starts_with("text/javascript")
    );
    let shell = format!("{}/index.html", cache.url);
    // The site is right: a new visitor runs the chunk.
    let fresh = dump_dom(&shell);
    assert_eq!(
        element_text(&fresh, "out").as_deref(),
        Some("v1"),
        "{fresh}"
    );
    assert_eq!(
        element_text(&fresh, "chunk").as_deref(),
        Some("ran"),
        "{fresh}"
    );
    // The user who hit the fallback does not: their browser answers the chunk's URL.
    let stuck = dump_dom_in(&shell, profile.path());
    assert_eq!(
        element_text(&stuck, "out").as_deref(),
        Some("v1"),
        "{stuck}"
    );
    assert_eq!(
        element_text(&stuck, "chunk").as_deref(),
        Some("not run"),
        "{stuck}"
    );

    let republished = step(&ws).input("republish", "v1").run();
    assert_eq!(republished.code(), 0, "{}", republished.all_text());
    assert_eq!(republished.out("version"), "v1.r1");
    let paths: Vec<String> = serde_json::from_str(republished.out("invalidation-paths")).unwrap();
    assert_eq!(paths, ["/mfe-manifest.json"]);
    // The CDN applies the manifest's invalidation.
    for path in &paths {
        cache.purge(path);
    }
    let cured = dump_dom_in(&shell, profile.path());
    assert_eq!(
        element_text(&cured, "out").as_deref(),
        Some("v1.r1"),
        "{cured}"
    );
    assert_eq!(
        element_text(&cured, "chunk").as_deref(),
        Some("ran"),
        "{cured}"
    );
}
