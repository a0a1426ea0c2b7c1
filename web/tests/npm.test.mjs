// The npm package (issue 13): scripts/pack-npm packs @hearth-llm/hearth, which is installed
// from the tarball into a fresh Vite project (built with `vite build`, its TypeScript
// checked against the package's types through its `exports`) and into a plain page
// (<script type="module"> from node_modules); each is served and chats in Chromium: the
// element's answer appears, and its engine's greedy answer equals `hearth generate`'s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, ready, send, answered } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");
const QUESTION = "What is the capital of France?";
const MAX_TOKENS = 16;
const NAME = "@hearth-llm/hearth";

function native() {
  const out = execFileSync(
    HEARTH,
    ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", "cpu", "--json", "--max-tokens", String(MAX_TOKENS), "--chat", QUESTION],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split("\n").pop());
}

/** A fresh project folder with the package installed from `tarball` (offline: it has no
 * dependencies). */
function project(tarball, extra = {}) {
  const dir = mkdtempSync(join(tmpdir(), "hearth-npm-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", ...extra }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: dir, stdio: "pipe" });
  return dir;
}

/** Serves `app`, opens it, and checks that it chats: the element answers in its UI, and
 * its engine's greedy ids equal the native engine's. */
async function chats(app, want) {
  const server = await serve(["--app", app]);
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(server.url);
    await ready(page);
    await send(page, QUESTION);
    await answered(page, 1);
    const shown = await page.locator("hearth-chat .message.assistant").last().textContent();
    assert.ok(shown.trim().length > 0, "the chat shows an answer");
    const got = await page.evaluate(
      async ({ q, n }) => {
        const r = await document.querySelector("hearth-chat").engine.chat.completions.create({
          messages: [{ role: "user", content: q }],
          temperature: 0,
          max_tokens: n,
        });
        return { ids: r.choices[0].token_ids, text: r.choices[0].message.content, object: r.object };
      },
      { q: QUESTION, n: MAX_TOKENS },
    );
    assert.equal(got.object, "chat.completion");
    assert.deepEqual(got.ids, want.ids, `browser "${got.text}" vs native "${want.text}"`);
  } finally {
    await context.close();
    dropProfile(profile);
    await server.stop();
  }
}

test("the npm package installs into a Vite project and a plain page, and both chat", async () => {
  const want = native();
  const tarball = execFileSync("bash", [join(ROOT, "scripts/pack-npm")], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop();
  assert.ok(existsSync(tarball), `the tarball: ${tarball}`);
  const dirs = [];
  try {
    // a Vite project: TypeScript, the element and the API imported by the package's name
    const vite = project(tarball);
    dirs.push(vite);
    writeFileSync(
      join(vite, "index.html"),
      `<!doctype html><html><head><meta charset="utf-8"><title>Vite app</title></head>
<body><hearth-chat model="/models/${MODEL_FILE}"></hearth-chat><script type="module" src="/main.ts"></script></body></html>\n`,
    );
    writeFileSync(
      join(vite, "main.ts"),
      `import "${NAME}/chat";
import { createEngine, type ChatCompletion } from "${NAME}";
import { LanguageModel } from "${NAME}/prompt-api";
const el = document.querySelector("hearth-chat");
el?.addEventListener("ready", () => console.log("ready", el.engine?.info.backend));
export const api: [typeof createEngine, typeof LanguageModel] = [createEngine, LanguageModel];
export const content = (r: ChatCompletion): string | null => r.choices[0].message.content;
`,
    );
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    execFileSync(process.execPath, [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", "--lib", "es2022,dom,dom.iterable", "main.ts"], { cwd: vite, stdio: "pipe" });
    execFileSync(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--logLevel", "warn"], { cwd: vite, stdio: "pipe" });
    const assets = readdirSync(join(vite, "dist/assets"));
    assert.ok(assets.some((f) => /^hearth_ui_bg.*\.wasm$/.test(f)) && assets.some((f) => /^hearth_web_bg.*\.wasm$/.test(f)) && assets.some((f) => /^worker.*\.js$/.test(f)), `Vite copied the wasm and the worker: ${assets}`);
    await chats(join(vite, "dist"), want);

    // a plain page: the element's module straight from node_modules
    const plain = project(tarball);
    dirs.push(plain);
    writeFileSync(
      join(plain, "index.html"),
      `<!doctype html><html><head><meta charset="utf-8"><title>Plain page</title>
<script type="module" src="./node_modules/${NAME}/hearth-chat.js"></script></head>
<body><hearth-chat model="/models/${MODEL_FILE}"></hearth-chat></body></html>\n`,
    );
    await chats(plain, want);
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
