// Hostile text everywhere the chat shows text (issue 14): a corpus of XSS payloads (HTML,
// SVG, MathML, javascript:/data:/vbscript: links, Markdown link and image tricks,
// reference links, CSS, entities, Unicode bidi and zero-width tricks) as user text typed
// in the composer, as model text (streamed into the renderer piece by piece, and stored
// answers), in stored conversations (titles, messages, settings) and imported ones, and
// as a model's name in its GGUF metadata. Counted: payloads that ran (each sets
// window.__xss to its number if it runs) and elements inserted that the renderer does not
// make: both must be 0. Every link left is http(s) or mailto, with no invisible characters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, ready } from "./harness.mjs";

const x = (n) => `window.__xss=${n}`;
export const PAYLOADS = [
  `<img src=x onerror="${x(1)}">`,
  `<script>${x(2)}</script>`,
  `<svg onload="${x(3)}"></svg>`,
  `<svg><script>${x(4)}</script></svg>`,
  `<math><mtext><img src=x onerror="${x(5)}"></mtext></math>`,
  `<iframe src="javascript:${x(6)}"></iframe>`,
  `[a](javascript:${x(7)})`,
  `[a](JaVaScRiPt:${x(8)})`,
  `[a](  javascript:${x(9)})`,
  `[a](java&#x09;script:${x(10)})`,
  `[a](data:text/html,<script>${x(11)}</script>)`,
  `![a](javascript:${x(12)})`,
  `![a](https://example.com/p.png" onerror="${x(13)})`,
  `<a href="javascript:${x(14)}">a</a>`,
  `[a](vbscript:msgbox(15))`,
  `<style>*{background:url("javascript:${x(16)}")}</style>`,
  `<div style="background:url(javascript:${x(17)})">s</div>`,
  `<details open ontoggle="${x(18)}">d</details>`,
  `<body onload="${x(19)}">`,
  `<input autofocus onfocus="${x(20)}">`,
  `<object data="javascript:${x(21)}"></object>`,
  `<embed src="data:text/html,<script>${x(22)}</script>">`,
  `<form action="javascript:${x(23)}"><button>go</button></form>`,
  `<meta http-equiv="refresh" content="0;url=javascript:${x(24)}">`,
  `<base href="javascript:${x(25)}//">`,
  `[a][r]\n\n[r]: javascript:${x(26)}`,
  `<javascript:${x(27)}>`,
  `<template><img src=x onerror="${x(28)}"></template>`,
  `<noscript><p title="</noscript><img src=x onerror=${x(29)}>">`,
  `[a](javascript&#58;${x(30)})`,
  `[a](<javascript:${x(31)}>)`,
  `<svg><a xlink:href="javascript:${x(32)}"><text>t</text></a></svg>`,
  `[https://good.example](https://good.example/\u202Eexe.txt)`,
  `[a](https://goo\u200Bgle.com/${encodeURIComponent(x(34))})`,
  `\u202E<img src=x onerror="${x(35)}">\u202C`,
  `<img src=x onerror=&#x77;indow.__xss=36>`,
];

/** Elements the renderer makes (markdown.rs), and the chat's own around them. */
const ALLOWED = new Set("p h1 h2 h3 h4 h5 h6 blockquote pre code ul ol li table thead tbody tr th td em strong del a br hr span div button".split(" "));

/** The chat's own elements around the rendered text (messages, sidebar, Models panel). */
const CHAT = ["article", "input", "label", "small", "progress"];

/** In the page: what the payloads left in the element: a payload that ran, elements
 * neither the renderer nor the chat makes, handler or style attributes, links that are
 * not http(s) or mailto or that hold invisible characters. */
function audit(allowed) {
  const root = document.querySelector("hearth-chat").shadowRoot;
  const bad = [];
  for (const e of root.querySelectorAll(".messages *, .conversations *, .model-list *, .status, .notice")) {
    const tag = e.tagName.toLowerCase();
    if (!allowed.includes(tag)) bad.push(`<${tag}>`);
    for (const a of e.getAttributeNames()) if (/^on/i.test(a) || a === "style" || a === "srcdoc") bad.push(`${tag}[${a}]`);
    const href = tag === "a" ? (e.getAttribute("href") ?? "") : null;
    if (href !== null && !/^(https?:\/\/|mailto:)/.test(href)) bad.push(`a href=${href}`);
    if (href !== null && /[\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/.test(href)) bad.push("a href with invisible characters");
  }
  return { ran: window.__xss ?? null, bad };
}
const check = (page) => page.evaluate(audit, [...ALLOWED, ...CHAT]);

test("XSS payloads in every text the chat shows: none runs, no element is inserted", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-xss-"));
  const server = await serve(["--models", dir]);
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    const all = PAYLOADS.join("\n\n");
    // model names: copies of the model whose `general.name` (31 bytes) is a payload
    const gguf = readFileSync(join(ROOT, "models", MODEL_FILE));
    const at = gguf.indexOf(Buffer.from("Smollm2 135M 8k Lc100K Mix1 Ep2"));
    assert.ok(at > 0, "the model's name in its header");
    const names = ["<img src=x onerror=__xss=40>", "<script>__xss=41</script>"];
    names.forEach((name, i) => {
      const copy = Buffer.from(gguf);
      copy.write(name.padEnd(31, " "), at, "latin1");
      writeFileSync(join(dir, `named-${i}.gguf`), copy);
    });
    // the default model too (a copy: `hearth serve` serves no link that leads out of its folder)
    writeFileSync(join(dir, MODEL_FILE), gguf);

    await page.goto(server.url);
    await ready(page);
    // stored conversations: titles, messages, settings, the model field
    await page.evaluate(async (all) => {
      const store = await import("/store.js");
      await store.putConversation({
        id: "stored",
        title: all.slice(0, 300),
        model: all.slice(0, 200),
        messages: [
          { role: "user", content: all },
          { role: "assistant", content: all },
        ],
        settings: { system: all, temperature: "<b>0</b>", max_tokens: `"><img src=x onerror=${"window.__xss=50"}>` },
        createdAt: 1,
        updatedAt: 1,
      });
    }, all);
    // imported conversations
    const file = join(dir, "import.json");
    writeFileSync(
      file,
      JSON.stringify(PAYLOADS.slice(0, 12).map((p, i) => ({ id: `i${i}`, title: p, messages: [{ role: "user", content: p }, { role: "assistant", content: p }], createdAt: 2 + i, updatedAt: 2 + i }))),
    );
    await page.reload();
    await ready(page);
    await page.getByLabel("Import conversations").setInputFiles(file);
    await page.locator("hearth-chat .notice").getByText("Imported").waitFor();
    // each conversation opened in turn: stored, then every imported one
    const open = page.locator("hearth-chat .conversations .open");
    const n = await open.count();
    assert.ok(n >= 13, `${n} conversations listed`);
    for (let i = 0; i < n; i++) {
      await open.nth(i).click();
      await page.locator("hearth-chat .message.assistant").first().waitFor();
      const r = await check(page);
      assert.deepEqual(r, { ran: null, bad: [] }, `conversation ${i}`);
    }
    // the user's own text, typed, and the model's answer to it
    await page.getByRole("button", { name: "New chat" }).click();
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("Max tokens").fill("4");
    const box = page.getByLabel("Message");
    await box.fill(all);
    await box.press("Enter");
    await page.waitForFunction(() => document.querySelector("hearth-chat").shadowRoot.querySelector(".app").getAttribute("aria-busy") === "false", null, { timeout: 300_000 });
    assert.equal(await page.locator("hearth-chat .message.user .body").last().textContent(), all, "typed text is shown as typed");
    assert.deepEqual(await check(page), { ran: null, bad: [] }, "typed");

    // model text as it streams: every payload through the renderer, in pieces
    const streamed = await page.evaluate(async (all) => {
      const ui = await import("/pkg-ui/hearth_ui.js");
      const out = [];
      for (const step of [1, 3, 7, all.length]) {
        const r = JSON.parse(ui.stream_render(all, step, "check"));
        const div = document.createElement("div");
        div.innerHTML = r.html; // (inert: this document is the test's, the result checked below)
        const tags = [...div.querySelectorAll("*")].map((e) => e.tagName.toLowerCase());
        const attrs = [...div.querySelectorAll("*")].flatMap((e) => e.getAttributeNames().filter((a) => /^on|^style$/i.test(a)));
        const hrefs = [...div.querySelectorAll("a")].map((a) => a.getAttribute("href"));
        out.push({ step, mismatch: r.mismatch, tags: [...new Set(tags)], attrs, hrefs });
      }
      return out;
    }, all);
    for (const s of streamed) {
      assert.equal(s.mismatch, null);
      assert.deepEqual(s.tags.filter((t) => !ALLOWED.has(t)), [], `pieces of ${s.step}: ${s.tags}`);
      assert.deepEqual(s.attrs, []);
      assert.deepEqual(s.hrefs.filter((h) => !/^https:\/\/example\.com\/p\.png$|^https:\/\/good\.example$/.test(h)), [], `pieces of ${s.step}: links ${s.hrefs}`);
    }

    // model names from GGUF metadata, in the status line and the Models panel
    for (let i = 0; i < names.length; i++) {
      await page.getByRole("button", { name: "Models" }).click();
      await page.getByLabel("Model URL").fill(`${server.url}models/named-${i}.gguf`);
      await page.getByRole("button", { name: "Add model" }).click();
      // the status line names the model once it is ready
      await page.waitForFunction(
        (name) => document.querySelector("hearth-chat").shadowRoot.querySelector(".status").textContent.includes(`${name} · ready`),
        names[i],
        { timeout: 300_000, polling: 250 },
      );
      await page.locator("hearth-chat .model-list li .size").first().waitFor();
      assert.deepEqual(await check(page), { ran: null, bad: [] }, `model name ${i}`);
      await page.getByRole("button", { name: "Models" }).click();
    }
    console.log(`# ${PAYLOADS.length} payloads (+ ${names.length} model names, settings): 0 ran, 0 elements inserted`);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
    rmSync(dir, { recursive: true, force: true });
  }
});
