// harness.mjs: what the browser tests share: `hearth serve` on a free port (the built app
// in web/dist, the repository's models/), and Debian's chromium with WebGPU (SwiftShader)
// on a profile that a test may reopen to play a second visit.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf";
const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");

/**
 * Starts `hearth serve` (any free port, the built app, the repository's models; `args`
 * may name others); resolves to {url, port, stop()} once it listens.
 */
export function serve(args = []) {
  const defaults = { "--port": "0", "--app": join(ROOT, "web/dist"), "--models": join(ROOT, "models") };
  const given = [];
  for (const [flag, value] of Object.entries(defaults)) {
    if (!args.includes(flag)) given.push(flag, value);
  }
  const child = spawn(HEARTH, ["serve", ...given, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`hearth serve exited with ${code}: ${out}`)));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        child.removeAllListeners("exit");
        resolve({
          url: `http://127.0.0.1:${m[1]}/`,
          port: Number(m[1]),
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.once("exit", () => r());
              child.kill("SIGKILL");
            }),
        });
      }
    });
  });
}

/** A fresh profile directory; remove it with `dropProfile`. */
export function newProfile() {
  return mkdtempSync(join(tmpdir(), "hearth-profile-"));
}

export function dropProfile(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Chromium with WebGPU on `profile` (persistent: IndexedDB survives a relaunch);
 * `{ webgpu: false }` leaves WebGPU off, as a browser without it. */
export async function browser(profile, { webgpu = true } = {}) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless=new",
      "--no-sandbox",
      ...(webgpu ? ["--enable-unsafe-webgpu"] : ["--disable-features=WebGPU"]),
      ...(process.env.HEARTH_TEST_VERBOSE ? ["--enable-logging=stderr"] : []),
      // for experiments, e.g. --enable-dawn-features=disable_robustness
      ...(process.env.HEARTH_CHROMIUM_ARGS || "").split(" ").filter(Boolean),
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => {
    if (process.env.HEARTH_TEST_VERBOSE) console.log(`[page] ${m.text()}`);
  });
  page.on("pageerror", (e) => console.log(`[page error] ${e.message}`));
  return { context, page };
}

/** Opens the app at `url` and waits until the engine is ready (or fails). */
export async function openApp(page, url, timeout = 600_000) {
  // the API demo page (the app's own page is the chat element: see chat.test.mjs)
  const demo = new URL(url);
  if (demo.pathname === "/") demo.pathname = "/demo.html";
  await page.goto(demo.href);
  await page.waitForFunction(
    () => window.hearthEngine || /^Error/.test(document.getElementById("status")?.textContent || ""),
    null,
    { timeout, polling: 500 },
  );
  const status = await page.textContent("#status");
  if (/^Error/.test(status)) throw new Error(status);
}

/** A greedy chat answer in the page. */
export function ask(page, content, max_tokens = 32) {
  return page.evaluate(
    async ({ content, max_tokens }) => {
      const r = await window.hearthEngine.chat.completions.create({
        messages: [{ role: "user", content }],
        temperature: 0,
        max_tokens,
      });
      return { text: r.choices[0].message.content, ids: r.choices[0].token_ids, usage: r.usage };
    },
    { content, max_tokens },
  );
}

/** Records the Range header (or "whole") of every request for a model file. */
export function watchModelRequests(context) {
  const seen = [];
  context.on("request", (r) => {
    if (r.url().includes("/models/")) seen.push(r.headers()["range"] || "whole");
  });
  return seen;
}

/** The chunk index a Range request of `chunkSize`-byte chunks asks for (-1: not a chunk). */
export function chunkOf(range, chunkSize = 4 << 20) {
  const m = /^bytes=(\d+)-(\d+)$/.exec(range);
  if (!m || Number(m[1]) % chunkSize !== 0 || Number(m[2]) === 0) return -1;
  return Number(m[1]) / chunkSize;
}

/** The stored record of the model in the page's IndexedDB (without the chunks). */
export function storedRecord(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("hearth");
        // no database yet: do not create one (the app's worker must create it)
        open.onupgradeneeded = () => open.transaction.abort();
        open.onerror = () => (open.error?.name === "AbortError" ? resolve(null) : reject(open.error));
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains("models")) return resolve(null);
          const req = db.transaction("models").objectStore("models").getAll();
          req.onsuccess = () => {
            db.close();
            resolve(req.result[0] || null);
          };
          req.onerror = () => reject(req.error);
        };
      }),
  );
}

/** Waits until the chat element says it is ready (or fails with what it says). */
export async function ready(page) {
  const app = page.locator("hearth-chat .app");
  await page.waitForFunction(
    () => {
      const s = document.querySelector("hearth-chat")?.shadowRoot?.querySelector(".app")?.dataset.state;
      return s === "ready" || s === "error";
    },
    null,
    { timeout: 600_000, polling: 500 },
  );
  const state = await app.getAttribute("data-state");
  if (state !== "ready") throw new Error(await page.locator("hearth-chat .status").textContent());
}

/** Sends `text` from the composer with Enter. */
export async function send(page, text) {
  const box = page.getByLabel("Message");
  await box.fill(text);
  await box.press("Enter");
}

/** The stats line once `count` answers are done (it is written at the end of each). */
export async function answered(page, count) {
  await page.waitForFunction(
    (n) => {
      const root = document.querySelector("hearth-chat").shadowRoot;
      return root.querySelectorAll(".message.assistant").length === n && root.querySelector(".app").getAttribute("aria-busy") === "false" && root.querySelector(".stats").textContent !== "";
    },
    count,
    { timeout: 300_000, polling: 250 },
  );
  return page.locator("hearth-chat .stats").textContent();
}
