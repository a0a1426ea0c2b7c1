// Greedy token ids in the browser (WebGPU on SwiftShader, in the Worker) equal those of
// `hearth generate --backend gpu` natively (lavapipe) for the same prompts, both with an
// f32 KV cache (SwiftShader has no shader-f16).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, openApp } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");

function native(args) {
  const out = execFileSync(
    HEARTH,
    ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", "gpu", "--kv", "f32", "--json", "--max-tokens", "32", ...args],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split("\n").pop());
}

test("greedy ids in the browser equal the native engine's", async () => {
  const want = [
    native(["--chat", "What is the capital of France?"]),
    native(["--chat", "Write a haiku about the sea."]),
    native(["The three primary colours are"]),
  ];
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await openApp(page, server.url);
    // SwiftShader is seen as the CPU rasteriser it is: the rowwise matvec runs, as on
    // lavapipe natively
    assert.equal(await page.evaluate(() => window.hearthEngine.info.matvec), "rowwise");
    for (const w of want) {
      const got = await page.evaluate(
        async (prompt) => {
          const c = await window.hearthEngine.completions.create({ prompt, max_tokens: 32, temperature: 0 });
          return c.choices[0].token_ids;
        },
        w.prompt_ids,
      );
      assert.deepEqual(got, w.ids, `ids after ${JSON.stringify(w.prompt_ids.slice(0, 8))}…: native "${w.text}"`);
    }
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
