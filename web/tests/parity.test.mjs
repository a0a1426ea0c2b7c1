// Greedy token ids in the browser (in the Worker) equal those of `hearth generate` natively
// for the same prompts: the GPU engine (WebGPU on SwiftShader against lavapipe, both with
// an f32 KV cache: SwiftShader has no shader-f16), and the CPU engine (wasm simd128 on one
// thread against AVX2 on every core).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, openApp } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");

function native(backend, args) {
  const out = execFileSync(
    HEARTH,
    ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", backend, "--kv", "f32", "--json", "--max-tokens", "32", ...args],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split("\n").pop());
}

const PROMPTS = [["--chat", "What is the capital of France?"], ["--chat", "Write a haiku about the sea."], ["The three primary colours are"]];

async function parity(backend, checkInfo) {
  const want = PROMPTS.map((p) => native(backend, p));
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    // auto: SwiftShader is a software adapter, so the CPU engine runs unless asked otherwise
    await openApp(page, backend === "gpu" ? `${server.url}?backend=gpu` : server.url);
    checkInfo(await page.evaluate(() => window.hearthEngine.info));
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
}

test("greedy ids of the GPU engine in the browser equal the native engine's", async () => {
  await parity("gpu", (info) => {
    assert.equal(info.backend, "gpu");
    // SwiftShader is seen as the CPU rasteriser it is: the rowwise matvec runs, as on
    // lavapipe natively
    assert.equal(info.matvec, "rowwise");
  });
});

test("greedy ids of the CPU engine in the browser equal the native engine's", async () => {
  await parity("cpu", (info) => {
    assert.equal(info.backend, "cpu");
    assert.match(info.backend_reason, /software rasteriser/i);
    assert.equal(info.isa, "simd128");
  });
});
