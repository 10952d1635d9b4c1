// @mfe-deploy/runtime: which build of each micro-frontend this page load uses, decided in
// the browser from the discovery manifest (docs/versioned.md) and, on preview hosts, a
// pull request's overlay beside it. No dependencies, no server.

const PREVIEW_KEY = "mfe-deploy:preview";
const BUCKET_KEY = "mfe-deploy:bucket";
const PREVIEW_ID = /^pr-[0-9]{1,9}$/;

/**
 * Resolves every module of the manifest to the build this page load uses. Call it once
 * per page load (the plugin does): an open page keeps the builds it started with.
 * @param {object} options
 * @param {string} options.manifest the native discovery manifest's URL, e.g. "/mfe-manifest.json"
 * @param {string[]} [options.previewHosts] host names where ?mfe-preview= is honoured
 * @param {string} [options.userId] a stable user id: canaries bucket by it instead of a random draw
 * @param {typeof fetch} [options.fetch] `fetch`, `location` and `storage: {session, local}`
 *   default to the browser's own; tests pass fakes
 * @returns {Promise<{remotes: Record<string, {name: string, version: string, entry: string,
 *   integrity?: string, channel: "stable" | "canary" | "preview"}>, preview: string | null}>}
 */
export async function resolveRemotes({
  manifest,
  previewHosts = [],
  userId,
  fetch: f = globalThis.fetch,
  location: loc = globalThis.location,
  storage = {},
}) {
  const session = storage.session ?? attempt(() => globalThis.sessionStorage);
  const local = storage.local ?? attempt(() => globalThis.localStorage);
  const page = new URL(loc.href);
  const url = new URL(manifest, page);
  const response = await f(url.href, { cache: "no-cache" });
  if (!response.ok) {
    throw new Error(`mfe-deploy: ${url.href} answered ${response.status}`);
  }
  const base = await response.json();
  const seed = userId != null ? `user:${userId}` : () => String(storedBucket(local));

  const remotes = {};
  for (const [module, m] of Object.entries(base.modules ?? {})) {
    remotes[module] = inCanary(m.canary, seed, module)
      ? remote(module, { ...m.canary, name: m.name }, "canary")
      : remote(module, m, "stable");
  }

  const id = previewId(page, previewHosts, session);
  if (!id) return { remotes, preview: null };
  const overlay = await readOverlay(f, url, id);
  if (overlay === "gone") attempt(() => session.removeItem(PREVIEW_KEY));
  if (!overlay?.modules) return { remotes, preview: null };
  for (const [module, m] of Object.entries(overlay.modules)) {
    if (m && samePath(m.entry, page) && (m["mf-manifest"] == null || samePath(m["mf-manifest"], page))) {
      remotes[module] = remote(module, { name: remotes[module]?.name, ...m }, "preview");
    }
  }
  return { remotes, preview: id };
}

/**
 * A Module Federation 2 runtime plugin (`@module-federation/enhanced/runtime`): every
 * remote of the host whose `name` is a manifest module's `name` loads from the entry
 * `resolveRemotes(options)` chose. Resolution starts at `init` and happens once.
 */
export function mfeDeployPlugin(options) {
  let resolved;
  const resolve = () => (resolved ??= resolveRemotes(options));
  // Every remote the host loads, preloads or shares from is first matched by a request
  // (`beforeRequest`) or a preload (`beforePreloadRemote`): both wait for the manifest.
  async function repoint({ remotes }) {
    const chosen = Object.values((await resolve()).remotes);
    const page = (options.location ?? globalThis.location).href;
    for (const remote of remotes) {
      const match = chosen.find((c) => c.name === remote.name);
      if (match) remote.entry = new URL(match.entry, page).href;
    }
  }
  return {
    name: "mfe-deploy",
    beforeInit(args) {
      resolve().catch(() => {}); // an early start; the first request reports a failure
      return args;
    },
    async beforeRequest(args) {
      await repoint(args.options);
      return args;
    },
    async beforePreloadRemote(args) {
      await repoint(args.options);
    },
  };
}

function remote(module, m, channel) {
  return {
    name: m.name ?? module,
    version: m.version,
    entry: m.entry,
    integrity: m.integrity,
    channel,
  };
}

// The preview this tab asked for: only on preview hosts, only a PR id, kept per tab.
function previewId(page, previewHosts, session) {
  if (!previewHosts.includes(page.hostname)) return null;
  const asked = page.searchParams.get("mfe-preview");
  if (asked === "off") {
    attempt(() => session.removeItem(PREVIEW_KEY));
    return null;
  }
  if (asked !== null && PREVIEW_ID.test(asked)) {
    attempt(() => session.setItem(PREVIEW_KEY, asked));
    return asked;
  }
  const kept = attempt(() => session.getItem(PREVIEW_KEY));
  return typeof kept === "string" && PREVIEW_ID.test(kept) ? kept : null;
}

// The overlay document, "gone" (404: the PR was closed) or null (anything unreadable).
async function readOverlay(f, manifestUrl, id) {
  const url = new URL(manifestUrl);
  url.search = "";
  url.hash = "";
  url.pathname = `${url.pathname.replace(/\.json$/, "")}.${id}.json`;
  try {
    const response = await f(url.href, { cache: "no-cache" });
    if (response.status === 404) return "gone";
    if (!response.ok) return null;
    const doc = await response.json();
    return typeof doc?.modules === "object" ? doc : null;
  } catch {
    return null;
  }
}

// A root-relative path on the page's own origin: "/x", never "//host", "/\host" or a URL.
function samePath(value, page) {
  return (
    typeof value === "string" &&
    /^\/(?![/\\])/.test(value) &&
    attempt(() => new URL(value, page).origin) === page.origin
  );
}

// A module's canary serves the users whose draw for (module, rollout) is under its
// percentage: the draw never changes during a rollout, so raising it keeps them in.
function inCanary(canary, seed, module) {
  if (!canary || typeof canary.entry !== "string" || !(canary.percent > 0)) return false;
  const who = typeof seed === "function" ? seed() : seed;
  return unit(`${who}\u0000${module}\u0000${canary.rollout}`) < canary.percent / 100;
}

// The user's bucket in [0, 1): kept in localStorage, else drawn once per page load.
let pageBucket;
function storedBucket(local) {
  const kept = Number.parseFloat(attempt(() => local.getItem(BUCKET_KEY)));
  if (kept >= 0 && kept < 1) return kept;
  pageBucket ??= crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
  attempt(() => local.setItem(BUCKET_KEY, String(pageBucket)));
  return pageBucket;
}

// FNV-1a then murmur3's finaliser: a well-spread number in [0, 1) from a string.
function unit(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

// NOTE: storage may throw (disabled cookies, sandboxed frames); then nothing is kept.
function attempt(fn) {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
