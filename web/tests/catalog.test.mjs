// The model catalog (issue 13): the app's catalog.json lists the models this deployment
// serves, with sizes equal to the files', and Models shows each with its family, size,
// context and licence, marked as fitting this device before anything downloads (here:
// storage to spare, SwiftShader a software adapter, so the CPU engine). Picking Gemma 3
// from it downloads with bytes, rate and time left shown; a reload mid-way brings the
// same model back and the download resumes from the stored chunks (no stored byte is
// fetched again); the model then answers as `hearth generate` does natively. Saves
// models-catalog.png (the Models panel with the catalog's marks).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile, ready } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");
const GEMMA = "gemma-3-270m-q4_k_m.gguf";
const QUESTION = "What is the capital of France?";
const SHOTS = process.env.HEARTH_SCREENSHOTS || join(ROOT, "target/screenshots");

/** Bytes a Range header asks for (a whole-file request: the file's size). */
function rangeBytes(range, size) {
  const m = /^bytes=(\d+)-(\d+)$/.exec(range || "");
  return m ? Number(m[2]) - Number(m[1]) + 1 : size;
}

test("the catalog marks what fits; a download from it survives a reload", async () => {
  const catalog = JSON.parse(readFileSync(join(ROOT, "web/catalog.json"), "utf8"));
  for (const m of catalog.models) {
    assert.equal(m.size, statSync(join(ROOT, m.url)).size, `${m.url}: the catalog's size is the file's`);
  }
  const want = JSON.parse(
    execFileSync(HEARTH, ["generate", "--model", join(ROOT, "models", GEMMA), "--backend", "cpu", "--json", "--max-tokens", "8", "--chat", QUESTION], {
      encoding: "utf8",
      maxBuffer: 1 << 24,
    })
      .trim()
      .split("\n")
      .pop(),
  );
  // slow enough for a reload mid-way: each response at 6 MB/s (4 at a time)
  const server = await serve(["--throttle", "6000000"]);
  const profile = newProfile();
  let { context, page } = await browser(profile);
  try {
    await page.goto(server.url);
    await ready(page);
    await page.getByRole("button", { name: "Models" }).click();
    const list = page.getByRole("list", { name: "Recommended models" });
    await list.locator("li[data-url]").nth(catalog.models.length - 1).waitFor();
    const items = await list.locator("li[data-url]").evaluateAll((lis) =>
      lis.map((li) => ({ url: li.dataset.url, fits: li.dataset.fits, text: li.textContent })),
    );
    assert.equal(items.length, catalog.models.length);
    for (const [i, m] of catalog.models.entries()) {
      const it = items[i];
      assert.equal(it.url, new URL(m.url, server.url).href);
      assert.equal(it.fits, "yes", it.text);
      for (const fact of [m.name, m.family, m.licence, `${m.context} tokens of context`]) assert.ok(it.text.includes(fact), `${fact} in ${it.text}`);
      assert.match(it.text, /Fits this device: .*runs on the CPU engine/, "SwiftShader is a software adapter: the CPU engine");
    }

    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, "models-catalog.png") });

    // pick Gemma 3 from the catalog: it downloads, showing bytes, rate and time left
    const gemmaUrl = new URL(`models/${GEMMA}`, server.url).href;
    const size = statSync(join(ROOT, "models", GEMMA)).size;
    await list.getByRole("button", { name: /^Download Gemma 3/ }).click();
    const status = page.locator("hearth-chat .status");
    await page.waitForFunction(
      () => /Downloading the model: [\d.]+ of 241\.4 MiB, [\d.]+ MiB\/s, .+ left/.test(document.querySelector("hearth-chat").shadowRoot.querySelector(".status").textContent),
      null,
      { timeout: 120_000, polling: 100 },
    );
    const stored = async () =>
      page.evaluate(async (url) => {
        const { listStoredModels } = await import("/store.js");
        return (await listStoredModels()).find((m) => m.url === url)?.stored ?? 0;
      }, gemmaUrl);
    await page.waitForFunction(
      async ({ url, min }) => {
        const { listStoredModels } = await import("/store.js");
        return ((await listStoredModels()).find((m) => m.url === url)?.stored ?? 0) >= min;
      },
      { url: gemmaUrl, min: size / 4 },
      { timeout: 120_000, polling: 250 },
    );
    // a reload mid-way: the same model comes back, and only what is missing is fetched
    const before = await stored();
    assert.ok(before < size, `reloaded before the end (${before} of ${size})`);
    const fetched = [];
    context.on("request", (r) => {
      if (r.url() === gemmaUrl && r.method() === "GET") fetched.push(r.headers()["range"]);
    });
    await page.reload();
    await ready(page);
    assert.equal(await page.locator("hearth-chat").getAttribute("model"), gemmaUrl);
    const again = fetched.reduce((n, r) => n + rangeBytes(r, size), 0);
    assert.ok(again <= size - before + (8 << 20), `after the reload ${again} bytes were fetched, with ${before} of ${size} stored`);
    const got = await page.evaluate(async (q) => {
      const e = document.querySelector("hearth-chat").engine;
      const r = await e.chat.completions.create({ messages: [{ role: "user", content: q }], temperature: 0, max_tokens: 8 });
      return { arch: e.info.architecture, ids: r.choices[0].token_ids };
    }, QUESTION);
    assert.equal(got.arch, "gemma3");
    assert.deepEqual(got.ids, want.ids);
    await status.waitFor();
  } finally {
    await context.close();
    dropProfile(profile);
    await server.stop();
  }
});
