// Two modules (issue 13): the page's thread loads the small UI module (pkg-ui/hearth_ui)
// and never the engine (pkg/hearth_web, pkg-threads/), which only the engine's Worker
// loads; the API demo page loads no wasm at all. Measures what the page's thread fetched
// before the chat was drawn (the composer in the element's shadow root), each file gzipped
// at level 9 as a server would send it, and holds it to the 250 KB budget.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile, ready } from "./harness.mjs";

const BUDGET = 250 * 1024;
const ENGINE = /\/pkg(-threads)?\/hearth_web/;

/** The time the chat is first drawn (a frame with the composer), kept on window. */
function watchDrawn() {
  const look = () => {
    if (document.querySelector("hearth-chat")?.shadowRoot?.querySelector("textarea")) {
      window.__drawn = performance.now();
    } else {
      requestAnimationFrame(look);
    }
  };
  requestAnimationFrame(look);
}

test("the page loads the UI module only; first-paint bytes within the budget", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.addInitScript(watchDrawn);
    await page.goto(server.url);
    await ready(page);
    const seen = await page.evaluate(() => ({
      drawn: window.__drawn,
      entries: [
        { name: location.href, startTime: 0 },
        ...performance.getEntriesByType("resource").map((e) => ({ name: e.name, startTime: e.startTime })),
      ],
    }));
    assert.ok(seen.drawn > 0, "the chat was drawn");
    const page_ = seen.entries.map((e) => e.name);
    assert.ok(page_.some((n) => n.endsWith("/pkg-ui/hearth_ui_bg.wasm")), `the page loads the UI module: ${page_.join(" ")}`);
    // (a module Worker's script graph, worker.js and the engine's JS glue it imports, is
    // fetched on the page's behalf and shows in its timeline; the engine's wasm is not)
    assert.deepEqual(page_.filter((n) => ENGINE.test(n) && n.endsWith(".wasm")), [], "the page's thread never loads the engine's wasm");
    // the engine's Worker loads the engine module
    const worker = page.workers().find((w) => /worker\.js|^blob:/.test(w.url()));
    assert.ok(worker, `the engine's Worker runs: ${page.workers().map((w) => w.url())}`);
    const inWorker = await worker.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name));
    assert.ok(inWorker.some((n) => ENGINE.test(n) && n.endsWith(".wasm")), `the Worker loads the engine: ${inWorker.join(" ")}`);

    // what the page fetched before the chat was drawn, from the files served
    const before = seen.entries.filter((e) => e.startTime < seen.drawn);
    assert.deepEqual(before.filter((e) => ENGINE.test(e.name) || /worker\.js$/.test(e.name)).map((e) => e.name), [], "nothing of the engine before the chat is drawn");
    let raw = 0;
    let gz = 0;
    const rows = [];
    for (const { name } of before) {
      const path = new URL(name).pathname;
      const file = join(ROOT, "web/dist", path === "/" ? "index.html" : path);
      const bytes = readFileSync(file);
      const z = gzipSync(bytes, { level: 9 }).length;
      raw += bytes.length;
      gz += z;
      rows.push(`${path} ${bytes.length} B (${z} B gzipped)`);
    }
    console.log(`first paint: ${before.length} files, ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped, drawn at ${seen.drawn.toFixed(0)} ms\n  ${rows.join("\n  ")}`);
    assert.ok(gz <= BUDGET, `first-paint bytes ${gz} gzipped exceed the budget of ${BUDGET}`);
    // the code highlighter (Prism) comes after the first paint
    assert.deepEqual(before.filter((e) => /\/(syntax|prism)\.js$/.test(e.name)).map((e) => e.name), [], "no highlighter before the chat is drawn");
    await page.waitForFunction(() => performance.getEntriesByType("resource").some((e) => e.name.endsWith("/prism.js")));
  } finally {
    await context.close();
    dropProfile(profile);
    await server.stop();
  }
});

test("the JS API's page loads no wasm on its thread", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(new URL("demo.html", server.url).href);
    await page.waitForFunction(() => window.hearthEngine || /^Error/.test(document.getElementById("status")?.textContent || ""), null, { timeout: 600_000, polling: 500 });
    const names = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name));
    assert.deepEqual(names.filter((n) => n.endsWith(".wasm")), [], "no wasm on the page's thread");
    assert.ok(names.some((n) => n.endsWith("/hearth.js")), "the page loads hearth.js");
  } finally {
    await context.close();
    dropProfile(profile);
    await server.stop();
  }
});
