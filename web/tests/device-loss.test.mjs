// A lost GPU device is reported to the caller, and the engine recovers by itself: a new
// device, the model reloaded from IndexedDB (no model bytes fetched), the next request
// answered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, browser, newProfile, dropProfile, openApp, ask, watchModelRequests, chunkOf } from "./harness.mjs";

test("a lost device is reported and recovered from IndexedDB", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await openApp(page, `${server.url}?backend=gpu`);
    const requests = watchModelRequests(context);
    await page.evaluate(() => window.hearthEngine._loseDevice());
    const failed = await page.evaluate(() =>
      window.hearthEngine.chat.completions
        .create({ messages: [{ role: "user", content: "Hi" }], temperature: 0, max_tokens: 4 })
        .then(() => null, (e) => ({ name: e.name, message: e.message })),
    );
    assert.ok(failed, "a request on a lost device must fail");
    assert.equal(failed.name, "DeviceLostError", failed.message);
    const a = await ask(page, "What is the capital of France?");
    assert.equal(a.text, "The capital of France is Paris.");
    assert.deepEqual(requests.map((r) => chunkOf(r)).filter((i) => i >= 0), [], "no chunk fetched again");
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
