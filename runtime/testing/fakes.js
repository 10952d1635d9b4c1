// Fakes of the browser globals resolveRemotes takes: a site of JSON documents, a
// location, and Web Storage.

/**
 * A fetch over `files`: path → a document, a function making the Response, or an Error
 * to throw; any other path is a 404.
 */
export function site(files) {
  const requests = [];
  async function fetch(url, init) {
    requests.push({ url, init });
    const file = files[new URL(url).pathname];
    if (file === undefined) return answer(404, () => Promise.reject(new SyntaxError("NoSuchKey")));
    if (file instanceof Error) throw file;
    if (typeof file === "function") return file();
    return answer(200, async () => file);
  }
  return { fetch, requests, paths: () => requests.map((r) => new URL(r.url).pathname) };
}

// NOTE: the part of a Response the runtime reads; undici's own Response costs ~100 µs
// each, and the canary tests resolve hundreds of thousands of times.
function answer(status, json) {
  return { ok: status >= 200 && status < 300, status, json };
}

/** Web Storage in memory. */
export function memoryStorage(entries = {}) {
  const items = new Map(Object.entries(entries));
  return {
    items,
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => void items.set(key, String(value)),
    removeItem: (key) => void items.delete(key),
  };
}

/** The native manifest, with one entry per module named by `versions`. */
export function manifest(versions, extra = {}) {
  const modules = {};
  for (const [module, version] of Object.entries(versions)) {
    modules[module] = {
      name: module,
      version,
      entry: `/${module}/${version}/remoteEntry.js`,
      "mf-manifest": `/${module}/${version}/mf-manifest.json`,
      integrity: `sha384-${module}-${version}`,
      ...extra[module],
    };
  }
  return { schema: "mfe-deploy/manifest@1", modules };
}
