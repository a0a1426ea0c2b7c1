// A second visit (a new browser on the same profile) loads the model from IndexedDB
// without fetching its bytes, and still answers when the model's host has nothing to give.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, browser, newProfile, dropProfile, openApp, ask, watchModelRequests } from "./harness.mjs";

test("a second visit loads from IndexedDB, with the model's host gone", async () => {
  const profile = newProfile();
  const empty = mkdtempSync(join(tmpdir(), "hearth-no-models-"));
  let server = await serve();
  const port = server.port;
  try {
    let { context, page } = await browser(profile);
    await openApp(page, server.url);
    assert.equal((await ask(page, "What is the capital of France?")).text, "The capital of France is Paris.");
    await context.close();
    await server.stop();

    // same origin (the same port), but the models folder is empty: every model request
    // fails, so whatever loads comes from IndexedDB
    server = await serve(["--port", String(port), "--models", empty]);
    ({ context, page } = await browser(profile));
    const requests = watchModelRequests(context);
    await openApp(page, server.url);
    const a = await ask(page, "What is the capital of France?");
    assert.equal(a.text, "The capital of France is Paris.");
    assert.deepEqual(requests, ["bytes=0-0"], "only the probe may reach the host");
    await context.close();
  } finally {
    await server.stop();
    dropProfile(profile);
    rmSync(empty, { recursive: true, force: true });
  }
});
