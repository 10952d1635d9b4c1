import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { resolveRemotes } from "../index.js";
import { manifest, memoryStorage, site } from "../testing/fakes.js";

const PREVIEW = "preview.stage.example";
const KEY = "mfe-deploy:preview";

const BASE = manifest({ checkout: "3f2a9c1b0d4e", cart: "0a1b2c3d4e5f" });
const PR_1 = manifest({ checkout: "pr-1-abc1234" });

function resolve({ href, files = {}, session = memoryStorage(), previewHosts = [PREVIEW] }) {
  const s = site({ "/mfe-manifest.json": BASE, "/mfe-manifest.pr-1.json": PR_1, ...files });
  const result = resolveRemotes({
    manifest: "/mfe-manifest.json",
    previewHosts,
    fetch: s.fetch,
    location: { href },
    storage: { session, local: memoryStorage() },
  });
  return result.then((r) => ({ ...r, session, fetched: s.paths(), requests: s.requests }));
}

const versions = (remotes) =>
  Object.fromEntries(Object.entries(remotes).map(([m, r]) => [m, `${r.version} ${r.channel}`]));

describe("the base manifest", () => {
  test("names every module's stable build, read without the HTTP cache's copy", async () => {
    const { remotes, preview, requests } = await resolve({ href: `https://${PREVIEW}/orders` });
    assert.equal(preview, null);
    assert.deepEqual(remotes.checkout, {
      name: "checkout",
      version: "3f2a9c1b0d4e",
      entry: "/checkout/3f2a9c1b0d4e/remoteEntry.js",
      integrity: "sha384-checkout-3f2a9c1b0d4e",
      channel: "stable",
    });
    assert.deepEqual(versions(remotes), { checkout: "3f2a9c1b0d4e stable", cart: "0a1b2c3d4e5f stable" });
    assert.deepEqual(requests, [
      { url: `https://${PREVIEW}/mfe-manifest.json`, init: { cache: "no-cache" } },
    ]);
  });

  test("that cannot be read is an error naming its URL", async () => {
    await assert.rejects(resolve({ href: "https://my-app.example/", files: { "/mfe-manifest.json": undefined } }), {
      message: "mfe-deploy: https://my-app.example/mfe-manifest.json answered 404",
    });
  });
});

describe("?mfe-preview=", () => {
  const cases = [
    { name: "a PR id on a preview host selects its overlay", query: "pr-1", kept: null, preview: "pr-1", stored: "pr-1" },
    { name: "the same id on another host is ignored", host: "my-app.example", query: "pr-1", kept: null, preview: null, stored: null },
    { name: "a URL is not an id", query: "https://evil.example/x.json", kept: null, preview: null, stored: null },
    { name: "a protocol-relative URL is not an id", query: "//evil.example/x", kept: null, preview: null, stored: null },
    { name: "trailing characters make no id", query: "pr-1x", kept: null, preview: null, stored: null },
    { name: "a path is not an id", query: "../x", kept: null, preview: null, stored: null },
    { name: "a path after an id is not an id", query: "pr-1/../../x", kept: null, preview: null, stored: null },
    { name: "ten digits are too many", query: "pr-1234567890", kept: null, preview: null, stored: null },
    { name: "the id is lower case", query: "PR-1", kept: null, preview: null, stored: null },
    { name: "an invalid id leaves the kept preview", query: "pr-x", kept: "pr-1", preview: "pr-1", stored: "pr-1" },
    { name: "off ends the kept preview", query: "off", kept: "pr-1", preview: null, stored: null },
    { name: "no parameter keeps the tab's preview", query: null, kept: "pr-1", preview: "pr-1", stored: "pr-1" },
    { name: "a kept preview is not honoured on another host", host: "my-app.example", query: null, kept: "pr-1", preview: null, stored: "pr-1" },
    { name: "a kept value that is no id is ignored", query: null, kept: "https://evil.example/", preview: null, stored: "https://evil.example/" },
  ];
  for (const { name, host = PREVIEW, query, kept, preview, stored } of cases) {
    test(name, async () => {
      const href = new URL(`https://${host}/orders`);
      if (query !== null) href.searchParams.set("mfe-preview", query);
      const session = memoryStorage(kept === null ? {} : { [KEY]: kept });
      const result = await resolve({ href: href.href, session });
      assert.equal(result.preview, preview);
      assert.equal(session.getItem(KEY), stored);
      const checkout = preview ? "pr-1-abc1234 preview" : "3f2a9c1b0d4e stable";
      assert.deepEqual(versions(result.remotes), { checkout, cart: "0a1b2c3d4e5f stable" });
      const overlays = result.fetched.filter((p) => p !== "/mfe-manifest.json");
      assert.deepEqual(overlays, preview ? ["/mfe-manifest.pr-1.json"] : []);
    });
  }

  test("is kept for the tab across a navigation without the parameter", async () => {
    const session = memoryStorage();
    const first = await resolve({ href: `https://${PREVIEW}/?mfe-preview=pr-1`, session });
    const next = await resolve({ href: `https://${PREVIEW}/orders/42`, session });
    assert.equal(first.preview, "pr-1");
    assert.equal(next.preview, "pr-1");
    assert.equal(next.remotes.checkout.version, "pr-1-abc1234");
    const fresh = await resolve({ href: `https://${PREVIEW}/orders/42` });
    assert.equal(fresh.preview, null);
  });

  test("reads the overlay beside the manifest, without the HTTP cache's copy", async () => {
    const s = site({ "/env/stage/mfe-manifest.json": BASE, "/env/stage/mfe-manifest.pr-7.json": PR_1 });
    const { preview } = await resolveRemotes({
      manifest: "stage/mfe-manifest.json",
      previewHosts: [PREVIEW],
      fetch: s.fetch,
      location: { href: `https://${PREVIEW}/env/?mfe-preview=pr-7` },
      storage: { session: memoryStorage(), local: memoryStorage() },
    });
    assert.equal(preview, "pr-7");
    assert.deepEqual(s.requests[1], {
      url: `https://${PREVIEW}/env/stage/mfe-manifest.pr-7.json`,
      init: { cache: "no-cache" },
    });
  });
});

describe("an overlay", () => {
  test("of a closed PR (404) means the base manifest, and the tab forgets the preview", async () => {
    const session = memoryStorage();
    const result = await resolve({ href: `https://${PREVIEW}/?mfe-preview=pr-9`, session });
    assert.equal(result.preview, null);
    assert.deepEqual(versions(result.remotes), { checkout: "3f2a9c1b0d4e stable", cart: "0a1b2c3d4e5f stable" });
    assert.equal(session.getItem(KEY), null);
    assert.deepEqual(result.fetched, ["/mfe-manifest.json", "/mfe-manifest.pr-9.json"]);
  });

  const unreadable = [
    { name: "answering 500", file: () => new Response("busy", { status: 500 }) },
    { name: "that is not JSON", file: () => new Response("<html>", { status: 200 }) },
    { name: "without modules", file: { schema: "mfe-deploy/manifest@1" } },
    { name: "that cannot be fetched", file: new TypeError("Failed to fetch") },
  ];
  for (const { name, file } of unreadable) {
    test(`${name} means the base manifest for this load; the tab keeps the preview`, async () => {
      const session = memoryStorage();
      const href = `https://${PREVIEW}/?mfe-preview=pr-1`;
      const result = await resolve({ href, session, files: { "/mfe-manifest.pr-1.json": file } });
      assert.equal(result.preview, null);
      assert.equal(result.remotes.checkout.channel, "stable");
      assert.equal(session.getItem(KEY), "pr-1");
    });
  }

  const entries = [
    { name: "a root-relative path is taken", entry: "/checkout/pr-1-abc1234/remoteEntry.js", taken: true },
    { name: "another origin is ignored", entry: "https://evil.example/remoteEntry.js", taken: false },
    { name: "a protocol-relative URL is ignored", entry: "//evil.example/remoteEntry.js", taken: false },
    { name: "a backslash after the slash is ignored", entry: "/\\evil.example/remoteEntry.js", taken: false },
    { name: "a tab hiding a second slash is ignored", entry: "/\t/evil.example/remoteEntry.js", taken: false },
    { name: "the page's own origin spelled out is ignored", entry: `https://${PREVIEW}/remoteEntry.js`, taken: false },
    { name: "a javascript: URL is ignored", entry: "javascript:alert(1)", taken: false },
    { name: "a data: URL is ignored", entry: "data:text/javascript,alert(1)", taken: false },
    { name: "a path relative to the page is ignored", entry: "checkout/remoteEntry.js", taken: false },
    { name: "a missing entry is ignored", entry: undefined, taken: false },
    {
      name: "another origin in mf-manifest is ignored",
      entry: "/checkout/pr-1-abc1234/remoteEntry.js",
      mf: "https://evil.example/mf-manifest.json",
      taken: false,
    },
  ];
  for (const { name, entry, mf = "/checkout/pr-1-abc1234/mf-manifest.json", taken } of entries) {
    test(`entry: ${name}`, async () => {
      const overlay = manifest({ checkout: "pr-1-abc1234", cart: "pr-1-abc1234" }, {
        checkout: { entry, "mf-manifest": mf },
      });
      const result = await resolve({
        href: `https://${PREVIEW}/?mfe-preview=pr-1`,
        files: { "/mfe-manifest.pr-1.json": overlay },
      });
      assert.equal(result.preview, "pr-1");
      assert.equal(result.remotes.cart.channel, "preview", "the other entry of the overlay is taken");
      assert.equal(result.remotes.checkout.channel, taken ? "preview" : "stable");
      assert.equal(result.remotes.checkout.entry, taken ? entry : "/checkout/3f2a9c1b0d4e/remoteEntry.js");
    });
  }

  test("may bring a module the base does not name yet", async () => {
    const result = await resolve({
      href: `https://${PREVIEW}/?mfe-preview=pr-1`,
      files: { "/mfe-manifest.pr-1.json": manifest({ wishlist: "pr-1-abc1234" }) },
    });
    assert.deepEqual(versions(result.remotes), {
      checkout: "3f2a9c1b0d4e stable",
      cart: "0a1b2c3d4e5f stable",
      wishlist: "pr-1-abc1234 preview",
    });
  });
});
