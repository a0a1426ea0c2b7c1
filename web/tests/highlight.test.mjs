// Syntax-highlighted code blocks (issue 13): the kept highlighter, web/vendor/prism/prism.js,
// is exactly what its build script makes from the pinned npm package prismjs; in Chromium
// the code blocks hearth-ui draws from Prism's tokens are Prism's own rendering of the same
// code (Prism.highlight, the library's HTML), also while an answer streams in pieces (the
// patched DOM equals a rebuild after every piece); an unknown language, a name that is not
// a language and an oversized block stay plain; and in the chat a stored answer's code is
// highlighted once the highlighter has loaded after the first paint, its Copy button still
// copying the plain text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile } from "./harness.mjs";
import { build } from "../vendor/prism/build.mjs";

const BLOCKS = [
  ["python", 'def area(r: float) -> float:\n    """Circle."""\n    return 3.14159 * r ** 2  # approx\n'],
  ["js", "const xs = [1, 2, 3].map((x) => `${x * 2}px`);\nconsole.log(xs, /a+b/g.test('aab'));\n"],
  ["rust", "fn main() {\n    let v: Vec<u32> = (0..3).collect();\n    println!(\"{v:?}\");\n}\n"],
  ["html", '<div class="card"><a href="/x">link</a></div>\n'],
  ["bash", 'for f in *.gguf; do echo "$f"; done\n'],
  ["json", '{"a": [1, true, null], "b": "c"}\n'],
  ["rs", "let x = 1;\n"],
];

test("the kept Prism is the pinned npm package's, built by its script", () => {
  const kept = readFileSync(join(ROOT, "web/vendor/prism/prism.js"), "utf8");
  assert.equal(build(join(ROOT, "node_modules/prismjs")), kept, "run: node web/vendor/prism/build.mjs");
  assert.equal(readFileSync(join(ROOT, "web/dist/prism.js"), "utf8"), kept, "web/dist is built from it");
  assert.match(kept, /Copyright \(c\) 2012 Lea Verou/, "the licence travels with it");
});

test("code blocks are Prism's rendering of their code, streamed or whole", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(`${server.url}manifest.webmanifest`);
    const big = "x = 1\n".repeat(6000);
    const text = [
      "Some code:",
      ...BLOCKS.map(([lang, code]) => "```" + lang + "\n" + code + "```"),
      "```cobol\nDISPLAY 'HI'.\n```",
      "```__proto__\nx\n```",
      "```python\n" + big + "```",
      "Done.",
    ].join("\n\n");
    const r = await page.evaluate(
      async ({ text, blocks }) => {
        const ui = await import("/pkg-ui/hearth_ui.js");
        await ui.default({ module_or_path: "/pkg-ui/hearth_ui_bg.wasm" });
        const syntax = await import("/syntax.js");
        const Prism = (await import("/prism.js")).default;
        ui.set_highlighter(syntax.tokenize, syntax.languages());
        const whole = JSON.parse(ui.stream_render(text, text.length, "full"));
        const div = document.createElement("div");
        div.innerHTML = whole.html;
        const codes = [...div.querySelectorAll("pre code")];
        const alias = { rs: "rust" };
        // Prism's HTML, read back by the DOM so that both are serialised alike
        const prism = blocks.map(([lang, code]) => {
          const d = document.createElement("div");
          d.innerHTML = Prism.highlight(code, Prism.languages[alias[lang] ?? lang], lang);
          return d.innerHTML;
        });
        const checks = [];
        for (const step of [3, 17]) {
          const c = JSON.parse(ui.stream_render(text.slice(0, 1500), step, "check"));
          checks.push({ step, mismatch: c.mismatch, pieces: c.pieces });
        }
        return {
          ours: codes.map((c) => c.innerHTML),
          texts: codes.map((c) => c.textContent),
          prism,
          plainTail: codes.slice(blocks.length).map((c) => c.children.length),
          checks,
          languages: syntax.languages(),
        };
      },
      { text, blocks: BLOCKS },
    );
    const names = r.languages.split(" ");
    assert.ok(names.includes("python") && names.includes("html") && !names.includes("extend"), r.languages);
    BLOCKS.forEach(([lang, code], i) => {
      assert.equal(r.texts[i], code, `${lang}: the text is the code`);
      assert.ok(r.ours[i].includes('<span class="token '), `${lang} is highlighted: ${r.ours[i]}`);
      assert.equal(r.ours[i], r.prism[i], `${lang}: as Prism renders it`);
    });
    assert.deepEqual(r.plainTail, [0, 0, 0], "unknown language, not a language, oversized: plain");
    for (const c of r.checks) {
      assert.equal(c.mismatch, null, `pieces of ${c.step}: the patched DOM differs from a rebuild after char ${c.mismatch}`);
      assert.ok(c.pieces > 10);
    }
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});

test("the chat highlights a stored answer's code after the first paint; Copy copies the text", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(server.url);
    await page.locator("hearth-chat .composer").waitFor();
    const [lang, code] = BLOCKS[0];
    await page.evaluate(
      async ({ lang, code }) => {
        const store = await import("/store.js");
        await store.putConversation({
          id: "h",
          title: "Code",
          messages: [
            { role: "user", content: "Area of a circle?" },
            { role: "assistant", content: "Like this:\n\n```" + lang + "\n" + code + "```\n" },
          ],
          createdAt: 1,
          updatedAt: 1,
        });
      },
      { lang, code },
    );
    await page.reload();
    const answer = page.locator("hearth-chat .message.assistant .body");
    await answer.locator("code .token.keyword").first().waitFor();
    assert.deepEqual(await answer.locator("code .token.keyword").allTextContents(), ["def", "return"]);
    assert.equal(await answer.locator("code .token.comment").textContent(), "# approx");
    const color = (sel) => answer.locator(sel).first().evaluate((e) => getComputedStyle(e).color);
    assert.notEqual(await color("code .token.keyword"), await color("code .token.comment"), "tokens are coloured apart");
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await answer.getByRole("button", { name: "Copy code" }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
