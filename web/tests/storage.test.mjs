// Storage edge cases: a host without Range support (one streamed GET), a model file that
// changed on the server (its stored chunks are dropped), and a full quota (a clear error
// naming the bytes needed; what was stored is kept and resumed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, openApp, ask, watchModelRequests, chunkOf, storedRecord } from "./harness.mjs";

const FRANCE = "What is the capital of France?";
const PARIS = "The capital of France is Paris.";

test("a host without Range support is read as one streamed GET", async () => {
  const server = await serve(["--no-range"]);
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    const requests = watchModelRequests(context);
    await openApp(page, server.url);
    assert.equal((await ask(page, FRANCE)).text, PARIS);
    // the probe, then one whole-file GET
    assert.deepEqual(requests, ["bytes=0-0", "whole"]);
    const record = await storedRecord(page);
    assert.equal(record.state, "complete");
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});

test("a model that changed on the server is fetched again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-models-"));
  copyFileSync(join(ROOT, "models", MODEL_FILE), join(dir, MODEL_FILE));
  const server = await serve(["--models", dir]);
  const profile = newProfile();
  try {
    let { context, page } = await browser(profile);
    await openApp(page, server.url);
    const before = await storedRecord(page);
    await context.close();
    // same bytes, new modification time: a new ETag
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, MODEL_FILE), later, later);
    ({ context, page } = await browser(profile));
    const requests = watchModelRequests(context);
    await openApp(page, server.url);
    assert.equal((await ask(page, FRANCE)).text, PARIS);
    const after = await storedRecord(page);
    assert.notEqual(after.etag, before.etag);
    const fetched = new Set(requests.map((r) => chunkOf(r)).filter((i) => i >= 0));
    assert.equal(fetched.size, after.nChunks, "every chunk fetched again");
    await context.close();
  } finally {
    await server.stop();
    dropProfile(profile);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a full quota is a clear error, and the download resumes once there is room", async () => {
  const server = await serve();
  const profile = newProfile();
  try {
    let { context, page } = await browser(profile);
    const cdp = await context.newCDPSession(page);
    const origin = server.url.replace(/\/$/, "");
    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 40 * 2 ** 20 });
    // the API demo page, which shows the engine's error as it is
    await page.goto(`${server.url}demo.html`);
    await page.waitForFunction(() => /^Error/.test(document.getElementById("status")?.textContent || ""), null, {
      timeout: 300_000,
      polling: 250,
    });
    const status = await page.textContent("#status");
    assert.match(status, /not enough storage/);
    assert.match(status, /about \d+ more bytes are needed/);
    const partial = await storedRecord(page);
    const kept = partial.hashes.flatMap((h, i) => (h ? [i] : []));
    assert.ok(kept.length > 0 && kept.length < partial.nChunks, `kept ${kept.length} chunks`);

    await cdp.send("Storage.overrideQuotaForOrigin", { origin });
    const requests = watchModelRequests(context);
    await openApp(page, server.url);
    assert.equal((await ask(page, FRANCE)).text, PARIS);
    const again = requests.map((r) => chunkOf(r)).filter((i) => kept.includes(i));
    assert.deepEqual(again, [], "stored chunks were fetched again");
    await context.close();
  } finally {
    await server.stop();
    dropProfile(profile);
  }
});
