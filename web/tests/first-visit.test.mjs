// A first visit: the page downloads SmolLM2 into IndexedDB, loads it onto WebGPU in a
// Worker and answers the France question as the native engine does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, browser, newProfile, dropProfile, openApp, ask } from "./harness.mjs";

test("a first visit downloads SmolLM2 and answers the France question", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await openApp(page, server.url);
    const a = await ask(page, "What is the capital of France?");
    assert.equal(a.text, "The capital of France is Paris.");
    const models = await page.evaluate(() => window.hearthEngine.models.list());
    assert.equal(models.length, 1);
    assert.equal(models[0].complete, true);
    assert.equal(models[0].stored, models[0].size);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
