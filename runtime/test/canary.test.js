import assert from "node:assert/strict";
import { test } from "node:test";

import { resolveRemotes } from "../index.js";
import { manifest, memoryStorage, site } from "../testing/fakes.js";

const BUCKET = "mfe-deploy:bucket";
const USERS = Array.from({ length: 10000 }, (_, i) => `user-${i}`);

function withCanaries(canaries) {
  const extra = {};
  for (const [module, canary] of Object.entries(canaries)) {
    extra[module] = {
      canary: {
        version: "c0ffee000001",
        entry: `/${module}/c0ffee000001/remoteEntry.js`,
        integrity: "sha384-canary",
        rollout: "r-1",
        started: "2026-12-02T01:08:11.123Z",
        ...canary,
      },
    };
  }
  return manifest({ checkout: "3f2a9c1b0d4e", cart: "0a1b2c3d4e5f" }, extra);
}

function resolve(doc, { userId, local = memoryStorage(), session = memoryStorage(), href = "https://my-app.example/", files = {} } = {}) {
  const s = site({ "/mfe-manifest.json": doc, ...files });
  return resolveRemotes({
    manifest: "/mfe-manifest.json",
    previewHosts: ["my-app.example"],
    userId,
    fetch: s.fetch,
    location: { href },
    storage: { session, local },
  });
}

/** The users whose checkout is the canary at `percent`. */
const cohorts = new Map();
function cohort(percent, rollout = "r-1") {
  const key = `${percent} ${rollout}`;
  if (!cohorts.has(key)) {
    const doc = withCanaries({ checkout: { percent, rollout } });
    const chosen = Promise.all(USERS.map((userId) => resolve(doc, { userId })));
    cohorts.set(key, chosen.then((all) => new Set(USERS.filter((_, i) => all[i].remotes.checkout.channel === "canary"))));
  }
  return cohorts.get(key);
}

test("a canary at N% serves about N% of users", async () => {
  for (const percent of [1, 10, 50, 90]) {
    const share = (await cohort(percent)).size / USERS.length;
    assert.ok(Math.abs(share - percent / 100) < 0.015, `${percent}%: ${share}`);
  }
  assert.equal((await cohort(0)).size, 0);
  assert.equal((await cohort(100)).size, USERS.length);
});

test("a user in the canary stays in it as the same rollout grows", async () => {
  let before = new Set();
  for (const percent of [5, 10, 25, 50, 99]) {
    const now = await cohort(percent);
    for (const user of before) assert.ok(now.has(user), `${user} left the canary at ${percent}%`);
    before = now;
  }
});

test("each module and each rollout draws its own users", async () => {
  const doc = withCanaries({ checkout: { percent: 50 }, cart: { percent: 50 } });
  const chosen = await Promise.all(USERS.map((userId) => resolve(doc, { userId })));
  const both = chosen.filter((r) => r.remotes.checkout.channel === "canary" && r.remotes.cart.channel === "canary");
  assert.ok(Math.abs(both.length / USERS.length - 0.25) < 0.02, `in both canaries: ${both.length}`);

  const first = await cohort(50, "r-1");
  const second = await cohort(50, "r-2");
  const overlap = [...first].filter((u) => second.has(u)).length / USERS.length;
  assert.ok(Math.abs(overlap - 0.25) < 0.02, `in both rollouts: ${overlap}`);
});

test("the canary's build is served under the module's federation name", async () => {
  const doc = withCanaries({ checkout: { percent: 100 } });
  doc.modules.checkout.name = "checkout_app";
  const { remotes } = await resolve(doc, { userId: "u" });
  assert.deepEqual(remotes.checkout, {
    name: "checkout_app",
    version: "c0ffee000001",
    entry: "/checkout/c0ffee000001/remoteEntry.js",
    integrity: "sha384-canary",
    channel: "canary",
  });
  assert.equal(remotes.cart.channel, "stable");
});

test("without a user id the bucket is drawn once and kept in localStorage", async () => {
  const local = memoryStorage();
  const doc = withCanaries({ checkout: { percent: 50 } });
  const first = await resolve(doc, { local });
  const bucket = Number(local.getItem(BUCKET));
  assert.ok(bucket >= 0 && bucket < 1, `bucket ${local.getItem(BUCKET)}`);
  for (let i = 0; i < 20; i++) {
    const again = await resolve(doc, { local });
    assert.equal(again.remotes.checkout.channel, first.remotes.checkout.channel);
  }
  assert.equal(local.getItem(BUCKET), String(bucket));
});

test("the kept bucket decides, and one that is no bucket is replaced", async () => {
  const doc = withCanaries({ checkout: { percent: 50 } });
  const channels = new Set();
  for (let i = 0; i < 64; i++) {
    const { remotes } = await resolve(doc, { local: memoryStorage({ [BUCKET]: String(i / 64) }) });
    channels.add(remotes.checkout.channel);
  }
  assert.deepEqual(channels, new Set(["stable", "canary"]));
  for (const junk of ["1", "-0.5", "NaN", "x"]) {
    const local = memoryStorage({ [BUCKET]: junk });
    await resolve(doc, { local });
    const bucket = Number(local.getItem(BUCKET));
    assert.ok(bucket >= 0 && bucket < 1, `${junk} replaced by ${local.getItem(BUCKET)}`);
  }
});

test("a preview overlays whichever build the user was given", async () => {
  const doc = withCanaries({ checkout: { percent: 100 }, cart: { percent: 100 } });
  const { remotes, preview } = await resolve(doc, {
    userId: "u",
    href: "https://my-app.example/?mfe-preview=pr-1",
    files: { "/mfe-manifest.pr-1.json": manifest({ checkout: "pr-1-abc1234" }) },
  });
  assert.equal(preview, "pr-1");
  assert.equal(`${remotes.checkout.version} ${remotes.checkout.channel}`, "pr-1-abc1234 preview");
  assert.equal(`${remotes.cart.version} ${remotes.cart.channel}`, "c0ffee000001 canary");
});
