// The app as an offline PWA, private by construction: once the model is stored a whole
// chat makes no request at all, and the page's CSP stops one to another origin; after one visit the app starts and chats with the
// network off and its server gone; the manifest names its icons; a new build's service
// worker waits, the page offers a reload, and the old shell's cache goes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile } from "./harness.mjs";

/** Waits for the element to be ready; fails with what it says otherwise. */
async function ready(page) {
  await page.waitForFunction(
    () => {
      const s = document.querySelector("hearth-chat")?.shadowRoot?.querySelector(".app")?.dataset.state;
      return s === "ready" || s === "error";
    },
    null,
    { timeout: 600_000, polling: 500 },
  );
  const state = await page.locator("hearth-chat .app").getAttribute("data-state");
  assert.equal(state, "ready", await page.locator("hearth-chat .status").textContent());
}

/** Until the service worker controls the page. */
async function controlled(page) {
  await page.waitForFunction(async () => {
    await navigator.serviceWorker.ready;
    return Boolean(navigator.serviceWorker.controller);
  }, null, { timeout: 60_000, polling: 250 });
}

/** Asks `question` greedily through the UI and returns the answer's text. */
async function ask(page, question) {
  const before = await page.locator("hearth-chat .message.assistant").count();
  const box = page.getByLabel("Message");
  await box.fill(question);
  await box.press("Enter");
  await page.waitForFunction(
    (n) => {
      const root = document.querySelector("hearth-chat").shadowRoot;
      return root.querySelectorAll(".message.assistant").length === n + 1 && root.querySelector(".app").getAttribute("aria-busy") === "false";
    },
    before,
    { timeout: 300_000, polling: 250 },
  );
  return (await page.locator("hearth-chat .message.assistant .body").last().textContent()).trim();
}

async function greedy(page) {
  await page.getByRole("button", { name: "Settings" }).click();
  await page.getByLabel("Temperature").fill("0");
  await page.getByLabel("Max tokens").fill("24");
  await page.getByRole("button", { name: "Settings" }).click();
}

test("a chat makes no request; the app starts and chats offline", async () => {
  let server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(server.url);
    await ready(page);
    await controlled(page);
    const manifest = await page.evaluate(async () => {
      const link = document.querySelector("link[rel=manifest]");
      const m = await (await fetch(link.href)).json();
      const icons = await Promise.all(m.icons.map(async (i) => (await fetch(new URL(i.src, link.href))).headers.get("content-type")));
      return { name: m.short_name, display: m.display, icons, sizes: m.icons.map((i) => i.sizes) };
    });
    assert.deepEqual(manifest, { name: "hearth", display: "standalone", icons: ["image/png", "image/png", "image/png"], sizes: ["192x192", "512x512", "512x512"] });
    await greedy(page);

    // a whole chat, online: not one request from the page, its workers or anything else
    const requests = [];
    context.on("request", (r) => requests.push(r.url()));
    assert.equal(await ask(page, "What is the capital of France?"), "The capital of France is Paris.");
    assert.deepEqual(requests, []);
    // and the page could not send anything elsewhere: its CSP names no other origin
    const attempt = await page.evaluate(async () => {
      const seen = new Promise((r) => document.addEventListener("securitypolicyviolation", (e) => r(e.effectiveDirective), { once: true }));
      const sent = await fetch("http://127.0.0.1:9/collect", { method: "POST", body: "a secret" }).then(() => "sent", () => "failed");
      return { sent, directive: await Promise.race([seen, new Promise((r) => setTimeout(() => r(null), 2000))]) };
    });
    assert.deepEqual(attempt, { sent: "failed", directive: "connect-src" });

    // network off and the server gone: the app starts from the service worker's cache,
    // the model from IndexedDB, and chats
    await server.stop();
    server = null;
    await context.setOffline(true);
    await page.reload();
    await ready(page);
    assert.equal(await page.locator("hearth-chat .message.assistant .body").first().textContent().then((t) => t.trim()), "The capital of France is Paris.");
    await page.getByRole("button", { name: "New chat" }).click();
    await greedy(page);
    assert.equal(await ask(page, "What is the capital of France?"), "The capital of France is Paris.");
  } finally {
    await context.close();
    await server?.stop();
    dropProfile(profile);
  }
});

test("a new version installs beside the old and takes over when the user reloads", async () => {
  const dist = mkdtempSync(join(tmpdir(), "hearth-dist-"));
  cpSync(join(ROOT, "web/dist"), dist, { recursive: true });
  const server = await serve(["--app", dist]);
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(server.url);
    await controlled(page);
    const cacheNames = () => page.evaluate(() => caches.keys());
    const [first] = await cacheNames();
    assert.match(first, /^hearth-shell-[0-9a-f]{16}$/);

    // a new build: another version in sw.js
    const sw = join(dist, "sw.js");
    writeFileSync(sw, readFileSync(sw, "utf8").replace(/const VERSION = "[0-9a-f]+"/, 'const VERSION = "0123456789abcdef"'));
    await page.reload();
    await page.getByRole("button", { name: "Reload" }).waitFor({ timeout: 60_000 });
    assert.match(await page.locator(".update").textContent(), /A new version of hearth is ready/);
    // until the user agrees, the old version serves the page
    assert.deepEqual(await cacheNames().then((k) => k.sort()), [first, "hearth-shell-0123456789abcdef"].sort());
    await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: "Reload" }).click()]);
    await page.waitForFunction(async () => (await caches.keys()).length === 1, null, { timeout: 30_000, polling: 250 });
    assert.deepEqual(await cacheNames(), ["hearth-shell-0123456789abcdef"]);
    assert.equal(await page.locator(".update").count(), 0);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
    rmSync(dist, { recursive: true, force: true });
  }
});
