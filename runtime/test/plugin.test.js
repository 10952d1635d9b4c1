import assert from "node:assert/strict";
import { test } from "node:test";

import { mfeDeployPlugin } from "../index.js";
import { manifest, memoryStorage, site } from "../testing/fakes.js";

// What @module-federation/enhanced's runtime hands a plugin's hooks: beforeInit (sync
// waterfall) gets {userOptions, options, origin, shareInfo}; beforeRequest (async
// waterfall) gets {id, options, origin}; both return their arguments. beforePreloadRemote
// (async) gets {preloadOps, options, origin}. options.remotes is the host's live list.
function host(remotes) {
  return { options: { name: "shell", remotes }, origin: {} };
}

function plugin(files = { "/mfe-manifest.json": manifest({ checkout: "3f2a9c1b0d4e" }) }) {
  const s = site(files);
  const options = {
    manifest: "/mfe-manifest.json",
    fetch: s.fetch,
    location: { href: "https://my-app.example/orders" },
    storage: { session: memoryStorage(), local: memoryStorage() },
  };
  return { plugin: mfeDeployPlugin(options), requests: s.requests };
}

test("points the host's remote of the same name at the resolved entry", async () => {
  const { plugin: p, requests } = plugin();
  const { options, origin } = host([
    { name: "checkout", entry: "https://my-app.example/checkout/remoteEntry.js" },
    { name: "analytics", entry: "https://other.example/remoteEntry.js" },
  ]);
  assert.equal(p.name, "mfe-deploy");
  const initArgs = { userOptions: {}, options, origin };
  assert.equal(p.beforeInit(initArgs), initArgs);

  const args = { id: "checkout/Cart", options, origin };
  assert.equal(await p.beforeRequest(args), args);
  assert.deepEqual(options.remotes, [
    { name: "checkout", entry: "https://my-app.example/checkout/3f2a9c1b0d4e/remoteEntry.js" },
    { name: "analytics", entry: "https://other.example/remoteEntry.js" },
  ]);

  await p.beforeRequest({ id: "checkout/Button", options, origin });
  assert.equal(requests.length, 1, "the manifest is read once");
});

test("a manifest that cannot be read fails the request, not init", async () => {
  const { plugin: p } = plugin({});
  const { options, origin } = host([{ name: "checkout", entry: "/checkout/remoteEntry.js" }]);
  p.beforeInit({ userOptions: {}, options, origin });
  await assert.rejects(p.beforeRequest({ id: "checkout/Cart", options, origin }), /answered 404/);
});

test("a preload waits for the manifest and repoints the same way", async () => {
  const { plugin: p } = plugin();
  const { options, origin } = host([{ name: "checkout", entry: "/checkout/remoteEntry.js" }]);
  await p.beforePreloadRemote({ preloadOps: [{ nameOrAlias: "checkout" }], options, origin });
  assert.equal(options.remotes[0].entry, "https://my-app.example/checkout/3f2a9c1b0d4e/remoteEntry.js");
});
