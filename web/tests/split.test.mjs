// A split GGUF (`hearth split`: three files, llama.cpp's layout) loads as one model from
// the URL of its first part.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, openApp, ask } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");

test("a split GGUF loads as one model", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-split-"));
  execFileSync(HEARTH, ["split", "--model", join(ROOT, "models", MODEL_FILE), "--parts", "3", "--out", dir]);
  const server = await serve(["--models", dir]);
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    const first = `/models/${MODEL_FILE.replace(/\.gguf$/, "")}-00001-of-00003.gguf`;
    await openApp(page, `${server.url}?model=${encodeURIComponent(first)}`);
    assert.equal((await ask(page, "What is the capital of France?")).text, "The capital of France is Paris.");
    const stored = await page.evaluate(() => window.hearthEngine.models.list());
    // one model, under its first part's URL, with the three parts' bytes
    assert.equal(stored.length, 1);
    assert.ok(stored[0].url.endsWith(first) && stored[0].complete && stored[0].parts === 3);
    const partsBytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    assert.equal(stored[0].size, partsBytes);
    assert.equal(stored[0].stored, partsBytes);
    // deleting it deletes every part
    await page.evaluate((url) => window.hearthEngine.models.delete(url), stored[0].url);
    assert.deepEqual(await page.evaluate(() => window.hearthEngine.models.list()), []);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
    rmSync(dir, { recursive: true, force: true });
  }
});
