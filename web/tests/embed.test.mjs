// <hearth-chat> embedded in a page of another origin (another port), with the two lines
// the README gives: it loads its modules, wasm and model across origins, answers, and
// its styles and the page's stay apart. Attributes change the element while it runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { serve, browser, newProfile, dropProfile, MODEL_FILE } from "./harness.mjs";

/** A page server on its own port: the embedding site. */
function embedder(appOrigin) {
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Somebody's page</title>
<style>
  body { font-family: serif; color: rgb(255, 0, 0); }
  button { background: rgb(0, 255, 0); }
  .app, .messages, .send { display: none; }
</style>
<script type="module" src="${appOrigin}/hearth-chat.js"></script>
</head><body>
<h1>Somebody's page</h1><button id="own">Their button</button>
<hearth-chat model="${appOrigin}/models/${MODEL_FILE}" theme="dark" style="height: 500px"></hearth-chat>
</body></html>`;
  const server = createServer((req, res) => {
    if (req.url === "/") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(page);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}/`, stop: () => new Promise((r) => server.close(r)) });
    });
  });
}

test("the element embedded in a page of another origin works, its styles apart", async () => {
  const app = await serve();
  const appOrigin = new URL(app.url).origin;
  const site = await embedder(appOrigin);
  assert.notEqual(new URL(site.url).origin, appOrigin);
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(site.url);
    await page.waitForFunction(
      () => {
        const s = document.querySelector("hearth-chat")?.shadowRoot?.querySelector(".app")?.dataset.state;
        return s === "ready" || s === "error";
      },
      null,
      { timeout: 600_000, polling: 500 },
    );
    assert.equal(await page.locator("hearth-chat .app").getAttribute("data-state"), "ready", await page.locator("hearth-chat .status").textContent());

    // the page's rules stay out of the element (and its own hidden .app stays shown)
    const inside = await page.evaluate(() => {
      const root = document.querySelector("hearth-chat").shadowRoot;
      const send = getComputedStyle(root.querySelector(".send"));
      return { send: send.backgroundColor, display: getComputedStyle(root.querySelector(".app")).display, color: getComputedStyle(root.querySelector(".status")).color };
    });
    assert.notEqual(inside.send, "rgb(0, 255, 0)");
    assert.notEqual(inside.color, "rgb(255, 0, 0)");
    assert.equal(inside.display, "flex");
    // and the element's rules stay out of the page
    const outside = await page.evaluate(() => ({
      button: getComputedStyle(document.getElementById("own")).backgroundColor,
      font: getComputedStyle(document.body).fontFamily,
    }));
    assert.deepEqual(outside, { button: "rgb(0, 255, 0)", font: "serif" });

    // attributes: theme and system prompt follow changes
    assert.equal(await page.locator("hearth-chat .app").getAttribute("data-theme"), "dark");
    await page.evaluate(() => {
      const el = document.querySelector("hearth-chat");
      el.setAttribute("theme", "light");
      el.setAttribute("system-prompt", "Be brief.");
    });
    assert.equal(await page.locator("hearth-chat .app").getAttribute("data-theme"), "light");
    assert.equal(await page.locator("hearth-chat textarea[name=system]").inputValue(), "Be brief.");
    await page.evaluate(() => document.querySelector("hearth-chat").removeAttribute("system-prompt"));

    // a greedy question, answered
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("Temperature").fill("0");
    await page.getByLabel("Max tokens").fill("32");
    const box = page.getByLabel("Message");
    await box.fill("What is the capital of France?");
    await box.press("Enter");
    await page.waitForFunction(
      () => document.querySelector("hearth-chat").shadowRoot.querySelector(".stats").textContent !== "",
      null,
      { timeout: 300_000, polling: 250 },
    );
    const answer = await page.locator("hearth-chat .message.assistant .body").textContent();
    assert.equal(answer.trim(), "The capital of France is Paris.");
    // taken out of the page, the element frees its engine; put back, it loads again
    await page.evaluate(() => {
      const el = document.querySelector("hearth-chat");
      el.remove();
      window.__away = el;
    });
    await page.waitForFunction(() => window.__away.shadowRoot.querySelector(".app").dataset.state === "error");
    assert.equal(await page.evaluate(() => window.__away.engine), null);
    await page.evaluate(() => document.body.append(window.__away));
    await page.waitForFunction(() => document.querySelector("hearth-chat")?.shadowRoot.querySelector(".app").dataset.state === "ready", null, {
      timeout: 120_000,
      polling: 250,
    });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await site.stop();
    await app.stop();
    dropProfile(profile);
  }
});
