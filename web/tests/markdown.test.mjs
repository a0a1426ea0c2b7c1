// A streamed answer's Markdown is patched into the DOM, not rebuilt (issue 13): in
// Chromium, after every piece of texts that open and close every kind of block mid-piece
// (fences, lists, tables, quotes, emphasis, headings, links, raw HTML), the patched DOM's
// HTML equals a whole rebuild's of the same text (the renderer the chat used before);
// and the final HTML equals the whole text rendered at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, browser, newProfile, dropProfile } from "./harness.mjs";

const TEXTS = [
  "# Title\n\nSome *emphasis* and **strong** text with `code` and a [link](https://example.com).\n\n" +
    "* one\n* two\n  * nested\n\n1. first\n2. second\n\n> quoted\n> more\n\n" +
    "```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\nAfter the code.\n\n" +
    "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nEnd ~~struck~~ <b>raw</b> <img src=x onerror=alert(1)>.",
  "Line one\nline two\n\n    indented code\n\n- [ ] task\n- item *half **open\n\n---\n\n```\nunclosed fence\nstill code",
  "Ünïcødé ✓ — “quotes” and emoji 🙂 across pieces: **bold 🙂** `x` \\*escaped\\*\n\n1) a\n2) b\n",
];

test("patching a streamed answer's DOM gives the rebuilt DOM after every piece", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    // any page of the app's origin: the module is imported, no model is loaded
    await page.goto(`${server.url}manifest.webmanifest`);
    const results = await page.evaluate(async (texts) => {
      const m = await import("/pkg-ui/hearth_ui.js");
      await m.default({ module_or_path: "/pkg-ui/hearth_ui_bg.wasm" });
      const out = [];
      for (const text of texts) {
        for (const step of [1, 2, 3, 5, 8, 13]) {
          const check = JSON.parse(m.stream_render(text, step, "check"));
          const whole = JSON.parse(m.stream_render(text, text.length, "full"));
          out.push({ step, check, whole: whole.html, pieces: check.pieces, head: text.slice(0, 20) });
        }
      }
      return out;
    }, TEXTS);
    for (const r of results) {
      assert.equal(r.check.mismatch, null, `"${r.head}…" in pieces of ${r.step}: differs after char ${r.check.mismatch}`);
      assert.equal(r.check.html, r.whole, `"${r.head}…" in pieces of ${r.step}: the final HTML`);
      assert.ok(r.pieces > 1);
    }
    // the renderer's safety holds through the patching: no element from raw HTML
    assert.ok(!results[0].whole.includes("<img"), results[0].whole);
    assert.ok(results[0].whole.includes("&lt;img"), results[0].whole);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
