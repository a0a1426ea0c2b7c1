// A Worker killed mid-answer (issue 14): the engine's Worker ends (here it closes itself,
// as a crash or the browser killing it would end it) while an answer streams; a new
// Worker takes over with the model from IndexedDB (no chunk fetched), the stream goes on
// to the native engine's greedy ids, and the caller is told (onRestart). In the chat app
// the answer finishes and the notice line says what happened.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, openApp, watchModelRequests, chunkOf, ready, send, answered } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");
const STORY = "Tell me a story about a lighthouse keeper.";

/** Closes the page's engine Worker from inside, once. */
async function kill(page) {
  const worker = page.workers().find((w) => /\/worker\.js/.test(w.url()));
  assert.ok(worker, `the engine's Worker: ${page.workers().map((w) => w.url())}`);
  await worker.evaluate(() => setTimeout(() => self.close())).catch(() => {});
}

test("a Worker killed mid-answer is replaced and the answer goes on", { timeout: 600_000 }, async () => {
  const native = JSON.parse(
    execFileSync(HEARTH, ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", "cpu", "--json", "--max-tokens", "40", "--chat", STORY], { encoding: "utf8" })
      .trim()
      .split("\n")
      .pop(),
  );
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    // the model stored by a first visit
    await openApp(page, server.url);
    await page.goto(`${server.url}manifest.webmanifest`);
    const requests = watchModelRequests(context);
    await page.evaluate(async () => {
      const { createEngine } = await import("/hearth.js");
      window.restarts = [];
      window.engine = await createEngine({ model: "/models/SmolLM2-135M-Instruct.Q4_1.gguf", onRestart: (m) => window.restarts.push(m) });
    });
    const before = requests.length;
    const streaming = page.evaluate(async (q) => {
      const stream = await window.engine.chat.completions.create({ messages: [{ role: "user", content: q }], temperature: 0, max_tokens: 40, stream: true });
      const ids = [];
      for await (const c of stream) {
        if (c.choices[0].token_id != null) ids.push(c.choices[0].token_id);
        if (ids.length === 4) window.fourth = true;
      }
      return ids;
    }, STORY);
    await page.waitForFunction(() => window.fourth === true, null, { polling: 50, timeout: 120_000 });
    await kill(page);
    assert.deepEqual(await streaming, native.ids, "the stream went on as the native engine's greedy answer");
    assert.equal((await page.evaluate(() => window.restarts)).length, 1, "the caller was told once");
    assert.match((await page.evaluate(() => window.restarts))[0], /stopped unexpectedly.*storage/);
    assert.deepEqual(requests.slice(before).filter((r) => chunkOf(r) >= 0), [], "no chunk fetched again");

    // the chat app: the answer finishes, the notice says what happened
    await page.goto(server.url);
    await ready(page);
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("Temperature").fill("0");
    await page.getByLabel("Max tokens").fill("40");
    await send(page, STORY);
    await page.locator("hearth-chat .message.assistant .body p").first().waitFor();
    await kill(page);
    await answered(page, 1);
    assert.match(await page.locator("hearth-chat .notice").textContent(), /stopped unexpectedly/);
    assert.equal((await page.locator("hearth-chat .message.assistant .body").textContent()).trim(), native.text.trim());
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
