// Text contrast of the chat in its light and dark themes (issue 13), measured: for every
// visible text node of the element (a stored conversation with Markdown, code and a table,
// the Settings and Models panels open, the sidebar; the code highlighted, so every token
// colour is measured), the WCAG 2 contrast ratio of its
// colour against the background it is drawn on (the nearest ancestors' backgrounds,
// translucent ones composed) is at least 4.5:1, or 3:1 for large text (24 px, or 18.66 px
// bold). Disabled controls are exempt, as WCAG exempts inactive components. Saves
// dark-desktop.png and dark-360.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile } from "./harness.mjs";

const SHOTS = process.env.HEARTH_SCREENSHOTS || join(ROOT, "target/screenshots");

const ANSWER = [
  "Here is **bold**, *emphasis*, `inline code` and a [link](https://example.com).",
  "> a quote",
  "| a | b |\n|---|---|\n| 1 | 2 |",
  "```js\nconst x = 1;\n```",
  '```python\n@cache\ndef area(r: float) -> float:\n    """A circle\'s."""\n    return 3.14 * r ** 2  # approx\n```',
  "```html\n<a href=\"/x\">link</a>\n```",
  "```diff\n- old\n+ new\n```",
].join("\n\n");

/** Every visible text run in the element with its colours and ratio (in the page). */
function measure() {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a),
    a: 1,
  });
  const lum = ({ r, g, b }) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const host = document.querySelector("hearth-chat");
  const parentOf = (e) => e.parentElement || (e.getRootNode() instanceof ShadowRoot ? e.getRootNode().host : null);
  const background = (e) => {
    const layers = [];
    for (let n = e; n; n = parentOf(n)) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) {
        layers.push(c);
        if (c.a === 1) break;
      }
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (const l of layers.reverse()) bg = over(l, bg);
    return bg;
  };
  const out = [];
  const walker = document.createTreeWalker(host.shadowRoot, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const e = t.parentElement;
    if (!t.textContent.trim() || !e || e.closest("[disabled]") || e.closest("style")) continue;
    const rect = e.getBoundingClientRect();
    const s = getComputedStyle(e);
    if (rect.width === 0 || rect.height === 0 || s.visibility === "hidden") continue;
    let opacity = 1;
    for (let n = e; n; n = parentOf(n)) opacity *= Number(getComputedStyle(n).opacity);
    const bg = background(e);
    const fg0 = parse(s.color);
    const fg = over({ ...fg0, a: fg0.a * opacity }, bg);
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    out.push({ text: t.textContent.trim().slice(0, 40), ratio: (l1 + 0.05) / (l2 + 0.05), need: large ? 3 : 4.5, color: s.color, bg: `rgb(${bg.r}, ${bg.g}, ${bg.b})` });
  }
  return out;
}

for (const theme of ["light", "dark"]) {
  test(`text contrast meets WCAG AA in the ${theme} theme`, async () => {
    const server = await serve();
    const profile = newProfile();
    const { context, page } = await browser(profile);
    try {
      await page.emulateMedia({ colorScheme: theme });
      await page.setViewportSize({ width: 1100, height: 760 });
      await page.goto(server.url);
      await page.locator("hearth-chat .composer").waitFor();
      await page.evaluate(async (answer) => {
        const store = await import("/store.js");
        await store.putConversation({
          id: "c",
          title: "Colours",
          messages: [{ role: "user", content: "Show me some Markdown." }, { role: "assistant", content: answer }],
          createdAt: 1,
          updatedAt: 1,
        });
      }, ANSWER);
      await page.reload();
      await page.locator("hearth-chat .message.assistant table").waitFor();
      await page.locator("hearth-chat .message.assistant code .token.comment").waitFor();
      await page.waitForFunction(() => ["ready", "error"].includes(document.querySelector("hearth-chat").shadowRoot.querySelector(".app").dataset.state), null, {
        timeout: 600_000,
        polling: 500,
      });
      await page.getByRole("button", { name: "Settings" }).click();
      await page.getByRole("button", { name: "Models" }).click();
      await page.locator("hearth-chat .model-list:not(.catalog) li .size").waitFor();
      await page.locator("hearth-chat .catalog li .fit").last().waitFor();
      const runs = await page.evaluate(measure);
      assert.ok(runs.length > 40, `measured ${runs.length} text runs`);
      const low = runs.filter((r) => r.ratio < r.need);
      assert.deepEqual(low, [], `below AA:\n${low.map((r) => `${r.ratio.toFixed(2)} < ${r.need}: "${r.text}" ${r.color} on ${r.bg}`).join("\n")}`);
      const worst = runs.reduce((a, b) => (b.ratio / b.need < a.ratio / a.need ? b : a));
      console.log(`# ${theme}: ${runs.length} text runs, lowest ${worst.ratio.toFixed(2)}:1 ("${worst.text}")`);
      if (theme === "dark") {
        mkdirSync(SHOTS, { recursive: true });
        await page.getByRole("button", { name: "Models" }).click();
        await page.getByRole("button", { name: "Settings" }).click();
        await page.screenshot({ path: join(SHOTS, "dark-desktop.png") });
        await page.setViewportSize({ width: 360, height: 700 });
        await page.screenshot({ path: join(SHOTS, "dark-360.png") });
      }
    } finally {
      await context.close();
      await server.stop();
      dropProfile(profile);
    }
  });
}
