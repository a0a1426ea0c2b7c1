// System-prompt presets and keyboard shortcuts (issue 13). A preset writes its prompt
// into the system prompt, and the answer then equals `hearth generate --system` with that
// prompt natively; an edited prompt shows as Custom. Every shortcut the Settings panel
// lists does what it says when pressed: Ctrl+K to the search box, "/" to the message box,
// Esc stops a streaming answer, Ctrl+Shift+O starts a new chat.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, ready, answered } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");
const QUESTION = "What is the capital of France?";

/** The label of the focused element inside the chat element. */
const focused = (page) => page.evaluate(() => document.querySelector("hearth-chat").shadowRoot.activeElement?.getAttribute("aria-label") ?? null);

test("presets reach the model, and the listed shortcuts work", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(server.url);
    await ready(page);
    await page.getByRole("button", { name: "Settings" }).click();
    const keys = await page.locator("hearth-chat .shortcuts dt").allTextContents();
    assert.deepEqual(keys, ["Enter", "Shift + Enter", "Esc", "Ctrl + Shift + O", "Ctrl + K", "/"]);

    // a preset, and the answer it gives
    const preset = page.getByLabel("Preset");
    const system = page.getByLabel("System prompt");
    assert.equal(await preset.inputValue(), "None");
    await preset.selectOption("Concise");
    const prompt = await system.inputValue();
    assert.match(prompt, /^Answer in as few words/);
    await page.getByLabel("Temperature").fill("0");
    await page.getByLabel("Max tokens").fill("24");
    const native = JSON.parse(
      execFileSync(HEARTH, ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", "cpu", "--json", "--max-tokens", "24", "--system", prompt, "--chat", QUESTION], {
        encoding: "utf8",
        maxBuffer: 1 << 24,
      })
        .trim()
        .split("\n")
        .pop(),
    );
    await page.getByLabel("Message").fill(QUESTION);
    await page.getByLabel("Message").press("Enter");
    await answered(page, 1);
    assert.equal(await page.locator("hearth-chat .message.assistant .body").last().innerText(), native.text.trim());
    await system.fill(prompt + " Be kind.");
    assert.equal(await preset.inputValue(), "Custom");

    // Ctrl+K: the search box; "/" (outside a text box): the message box
    await page.locator("hearth-chat .messages").click();
    await page.keyboard.press("Control+k");
    assert.equal(await focused(page), "Search conversations");
    await page.locator("hearth-chat .messages").click();
    await page.keyboard.press("/");
    assert.equal(await focused(page), "Message");
    assert.equal(await page.getByLabel("Message").inputValue(), "", "the / is not typed");

    // Esc stops a streaming answer (the Settings panel closed first by its own Esc)
    await page.getByLabel("Max tokens").fill("400");
    await page.keyboard.press("Escape");
    assert.ok(await page.locator("hearth-chat form.settings").isHidden());
    await page.getByLabel("Message").fill("Write a long story about the sea.");
    await page.getByLabel("Message").press("Enter");
    await page.waitForFunction(() => (document.querySelector("hearth-chat").shadowRoot.querySelectorAll(".message.assistant .body")[1]?.textContent || "").length > 5, null, {
      timeout: 120_000,
      polling: 50,
    });
    await page.keyboard.press("Escape");
    await answered(page, 2);
    assert.match(await page.locator("hearth-chat .stats").textContent(), /stopped/);

    // Ctrl+Shift+O: a new chat
    await page.keyboard.press("Control+Shift+O");
    assert.equal(await page.locator("hearth-chat .message").count(), 0);
    assert.equal(await focused(page), "Message");
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
