// The chat app as a person uses it: the <hearth-chat> element on the app's page, driven
// through its accessible names. A typed question gets the France answer (greedy, set in
// Settings); the element's events fire; the answer is regenerated, and the question
// edited and sent again; a second question is stopped mid-answer; HTML in the user's text
// stays text; a reload brings the conversation back. Saves screenshots (desktop and
// 360 px wide) to HEARTH_SCREENSHOTS (default target/screenshots; docs/screenshots is what
// the README shows).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile, ready, send, answered } from "./harness.mjs";

const SHOTS = process.env.HEARTH_SCREENSHOTS || join(ROOT, "target/screenshots");

test("the chat app answers, streams, stops, and shows HTML as text", async () => {
  mkdirSync(SHOTS, { recursive: true });
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.setViewportSize({ width: 1100, height: 760 });
    // the element's events, from the start (they bubble out of it)
    await page.addInitScript(() => {
      window.__events = [];
      for (const name of ["ready", "progress", "message", "error"]) {
        document.addEventListener(name, (e) => {
          if (e.target.localName === "hearth-chat") window.__events.push({ name, detail: e.detail });
        });
      }
    });
    await page.goto(server.url);
    await ready(page);

    // Shift+Enter is a new line, not a send
    const box = page.getByLabel("Message");
    await box.fill("one");
    await box.press("Shift+Enter");
    await box.type("two");
    assert.equal(await box.inputValue(), "one\ntwo");
    assert.equal(await page.locator("hearth-chat .message").count(), 0);

    // greedy, through the Settings panel
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("Temperature").fill("0");
    await page.getByLabel("Max tokens").fill("48");
    await page.getByRole("button", { name: "Settings" }).click();

    await send(page, "What is the capital of France?");
    const stats = await answered(page, 1);
    assert.match(stats, /^\d+ tokens · [\d.]+ tokens\/s · context \d+\/2048$/);
    const answer = page.locator("hearth-chat .message.assistant .body").last();
    assert.equal((await answer.textContent()).trim(), "The capital of France is Paris.");
    assert.equal(await page.locator("hearth-chat .message.user .body").first().textContent(), "What is the capital of France?");
    const events = await page.evaluate(() => window.__events);
    const messages = events.filter((e) => e.name === "message").map((e) => e.detail);
    assert.deepEqual(messages[0], { role: "user", content: "What is the capital of France?" });
    assert.equal(messages[1].role, "assistant");
    assert.equal(messages[1].content.trim(), "The capital of France is Paris.");
    assert.ok(!events.some((e) => e.name === "error"), JSON.stringify(events.filter((e) => e.name === "error")));
    assert.ok(events.some((e) => e.name === "progress" && e.detail.phase === "download" && e.detail.total > 0));
    const readyEvent = events.find((e) => e.name === "ready");
    assert.ok(readyEvent && readyEvent.detail.n_ctx === 2048, JSON.stringify(readyEvent));
    await page.screenshot({ path: join(SHOTS, "chat-desktop.png") });

    // regenerate the last answer (greedy: the same again), then edit the question and
    // send it again
    await page.getByRole("button", { name: "Regenerate" }).click();
    await answered(page, 1);
    assert.equal((await answer.textContent()).trim(), "The capital of France is Paris.");
    await page.getByRole("button", { name: "Edit" }).click();
    assert.equal(await page.locator("hearth-chat .message").count(), 0);
    assert.equal(await page.getByLabel("Message").inputValue(), "What is the capital of France?");
    await page.getByLabel("Message").press("Enter");
    await answered(page, 1);
    assert.equal((await answer.textContent()).trim(), "The capital of France is Paris.");

    // HTML in the user's text is shown as text and runs nothing; the answer is stopped
    // once it has begun
    const payload = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> Tell me a long story about a lighthouse.`;
    await send(page, payload);
    await page.getByRole("button", { name: "Stop" }).waitFor({ state: "visible" });
    await page.waitForFunction(
      () => document.querySelector("hearth-chat").shadowRoot.querySelectorAll(".message.assistant .body")[1]?.textContent.length > 0,
      null,
      { timeout: 300_000, polling: 100 },
    );
    await page.getByRole("button", { name: "Stop" }).click();
    const stopped = await answered(page, 2);
    assert.match(stopped, /stopped$/);
    assert.ok(await page.getByRole("button", { name: "Send" }).isVisible());
    assert.equal(await page.locator("hearth-chat .message.user .body").last().textContent(), payload);
    assert.equal(await page.locator("hearth-chat img, hearth-chat script").count(), 0);
    assert.equal(await page.evaluate(() => window.__xss), undefined);

    // a phone's width: every control still there
    await page.setViewportSize({ width: 360, height: 720 });
    for (const name of ["Send", "Settings", "New chat", "Models", "Conversations"]) {
      const box = await page.getByRole("button", { name }).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 360, `${name} at ${JSON.stringify(box)}`);
    }
    await page.screenshot({ path: join(SHOTS, "chat-360.png") });

    // New chat empties the screen; a reload brings the conversation back
    await page.getByRole("button", { name: "New chat" }).click();
    assert.equal(await page.locator("hearth-chat .message").count(), 0);
    await page.setViewportSize({ width: 1100, height: 760 });
    await page.waitForFunction(async () => {
      const store = await import("/store.js");
      return (await store.listConversations())[0]?.messages.length === 4;
    }, null, { polling: 100, timeout: 10_000 });
    await page.reload();
    await page.locator("hearth-chat .message.assistant").nth(1).waitFor();
    const restored = await page.locator("hearth-chat .message .body").allTextContents();
    assert.equal(restored.length, 4);
    assert.equal(restored[0], "What is the capital of France?");
    assert.equal(restored[1].trim(), "The capital of France is Paris.");
    assert.equal(restored[2], payload);
    assert.deepEqual(await page.locator("hearth-chat .conversations .open").allTextContents(), ["What is the capital of France?"]);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
