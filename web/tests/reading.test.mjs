// Reading answers (issue 13), at 360 px wide where answers outgrow the list at once: the
// message list follows the conversation: after each question the end of the answer and
// its Regenerate button are in view; a reader who scrolls up mid-answer stays where they
// scrolled while the answer streams on, and "Jump to latest" brings them back to the end.
// Every message has Copy, which copies its text (an answer as `hearth generate` gives it
// natively). Saves jump-360.png (the list scrolled up, the button shown).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, ready, send, answered } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");

const SHOTS = process.env.HEARTH_SCREENSHOTS || join(ROOT, "target/screenshots");

const SLACK = 24;

/** The message list's scroll facts. */
const list = (page) =>
  page.evaluate(() => {
    const m = document.querySelector("hearth-chat").shadowRoot.querySelector(".messages");
    return { top: m.scrollTop, height: m.scrollHeight, client: m.clientHeight };
  });

const atBottom = (l) => l.height - l.top - l.client <= SLACK;

/** Whether `locator`'s box lies within the message list's visible box. */
async function inView(page, locator) {
  const box = await locator.boundingBox();
  const view = await page.locator("hearth-chat .messages").boundingBox();
  return box !== null && box.y >= view.y - 1 && box.y + box.height <= view.y + view.height + 1;
}

test("the message list follows the answer unless the reader scrolled up", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.setViewportSize({ width: 360, height: 600 });
    await page.goto(server.url);
    await ready(page);
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("Temperature").fill("0");
    await page.getByLabel("Max tokens").fill("120");
    await page.getByRole("button", { name: "Settings" }).click();

    const jump = page.getByRole("button", { name: "Jump to latest" });
    const FIRST = "Write a short story about a lighthouse keeper.";
    for (const [n, q] of [[1, FIRST], [2, "Now tell it again from the sea's side."]]) {
      await send(page, q);
      await answered(page, n);
      const l = await list(page);
      assert.ok(l.height > l.client + 100 * (n - 1), `the answers outgrow the list: ${JSON.stringify(l)}`);
      assert.ok(atBottom(l), `after answer ${n} the list is at its end: ${JSON.stringify(l)}`);
      assert.ok(await inView(page, page.getByRole("button", { name: "Regenerate" })), "Regenerate is in view");
      assert.ok(await jump.isHidden());
    }

    // a third answer; the reader scrolls to the top while it streams
    await send(page, "And a third time, as a poem.");
    const text = () => page.locator("hearth-chat .message.assistant .body").last().textContent();
    await page.waitForFunction(
      () => (document.querySelector("hearth-chat").shadowRoot.querySelectorAll(".message.assistant")[2]?.textContent || "").length > 10,
      null,
      { timeout: 120_000, polling: 50 },
    );
    await page.locator("hearth-chat .messages").evaluate((m) => (m.scrollTop = 0));
    const before = (await text()).length;
    await page.waitForFunction(
      (n) => (document.querySelector("hearth-chat").shadowRoot.querySelectorAll(".message.assistant")[2]?.textContent || "").length > n + 20,
      before,
      { timeout: 120_000, polling: 50 },
    );
    assert.equal((await list(page)).top, 0, "the list stays where the reader put it while the answer streams");
    await jump.waitFor({ state: "visible", timeout: 5_000 });
    await answered(page, 3);
    assert.equal((await list(page)).top, 0, "and after it ends");
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, "jump-360.png") });

    await jump.click();
    assert.ok(atBottom(await list(page)), "Jump to latest shows the end");
    assert.ok(await jump.isHidden());
    assert.ok(await inView(page, page.getByRole("button", { name: "Regenerate" })));

    // Copy on the first answer and on the first question
    const native = JSON.parse(
      execFileSync(HEARTH, ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", "cpu", "--json", "--max-tokens", "120", "--chat", FIRST], {
        encoding: "utf8",
        maxBuffer: 1 << 24,
      })
        .trim()
        .split("\n")
        .pop(),
    );
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    const copies = page.getByRole("button", { name: "Copy to clipboard" });
    assert.equal(await copies.count(), 6, "every message has Copy");
    await copies.nth(1).click();
    assert.equal(await copies.nth(1).textContent(), "Copied");
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), native.text);
    await copies.nth(0).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), FIRST);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
