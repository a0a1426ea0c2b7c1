// A model of another family in the chat app: Gemma 3 270M (scripts/fetch-model gemma3)
// from `?model=`, downloaded, loaded (the CPU engine: SwiftShader is a software adapter)
// and asked a question through the element's composer. Its greedy answer, in the UI and
// through the same element's engine (hearth.js's API), equals `hearth generate`'s
// natively (whose agreement with llama.cpp crates/cpu/tests/gemma3.rs checks); the
// Models panel names its family. (The base 270M was not trained on chat turns: its answer
// is a poor one, but it is what the native engine, checked against llama.cpp, gives.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile, ready, answered } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");
const GEMMA = "gemma-3-270m-q4_k_m.gguf";
const QUESTION = "What is the capital of France?";
const MAX_TOKENS = 12;

const root = (page) => page.locator("hearth-chat");

test("Gemma 3 270M answers in the app from ?model=, as natively", async () => {
  const file = join(ROOT, "models", GEMMA);
  assert.ok(existsSync(file), `${file} is missing: run scripts/fetch-model gemma3`);
  const out = execFileSync(
    HEARTH,
    ["generate", "--model", file, "--backend", "cpu", "--json", "--max-tokens", String(MAX_TOKENS), "--chat", QUESTION],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  const want = JSON.parse(out.trim().split("\n").pop());
  assert.ok(want.ids.length > 0 && want.text.trim() !== "", `native answer: ${out}`);

  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(`${server.url}?model=models/${GEMMA}`);
    await ready(page);

    const info = await page.evaluate(() => document.querySelector("hearth-chat").engine.info);
    assert.equal(info.architecture, "gemma3");
    assert.equal(info.family, "Gemma 3");
    assert.equal(info.n_vocab, 262144);
    assert.equal(info.backend, "cpu");

    // asked as a person asks: greedy, from Settings
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("Temperature").fill("0");
    await page.getByLabel("Max tokens").fill(String(MAX_TOKENS));
    const box = page.getByLabel("Message");
    await box.fill(QUESTION);
    await box.press("Enter");
    await answered(page, 1);
    const shown = await root(page).locator(".message.assistant .body").last().innerText();
    const words = (s) => s.replace(/[*_`#>]/g, "").replace(/\s+/g, " ").trim();
    assert.equal(words(shown), words(want.text), "the answer the app shows");

    // the same element's engine: the very token ids
    const got = await page.evaluate(
      async ({ content, max_tokens }) => {
        const r = await document.querySelector("hearth-chat").engine.chat.completions.create({
          messages: [{ role: "user", content }],
          temperature: 0,
          max_tokens,
        });
        return { ids: r.choices[0].token_ids, text: r.choices[0].message.content };
      },
      { content: QUESTION, max_tokens: MAX_TOKENS },
    );
    assert.deepEqual(got.ids, want.ids, `native "${want.text}", browser "${got.text}"`);

    // the model manager names the family
    await page.getByRole("button", { name: "Models" }).click();
    const item = root(page).locator(".model-list li").first();
    await item.locator(".family").waitFor();
    assert.equal(await item.locator(".family").textContent(), "Gemma 3");
    assert.equal(await item.locator(".size").textContent(), "253.1 MB · in use");
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
