// The model manager of the chat app: a download shows its progress and can be paused
// and resumed; the Models panel lists the stored model with its size and the storage
// used; a model is deleted, a URL that is no GGUF gets a clear message, and a model
// added by URL downloads and chats. Saves a screenshot of the panel (models-desktop.png).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile, MODEL_FILE } from "./harness.mjs";

const SHOTS = process.env.HEARTH_SCREENSHOTS || join(ROOT, "target/screenshots");

const status = (page) => page.locator("hearth-chat .status").textContent();

async function state(page, want, timeout = 600_000) {
  await page.waitForFunction(
    (w) => w.includes(document.querySelector("hearth-chat")?.shadowRoot?.querySelector(".app")?.dataset.state),
    want,
    { timeout, polling: 200 },
  );
  return page.locator("hearth-chat .app").getAttribute("data-state");
}

test("downloads pause and resume; models are listed, deleted and added by URL", async () => {
  // slow responses (1.5 MB/s each), so that the download can be paused halfway
  const server = await serve(["--throttle", "1500000"]);
  const profile = newProfile();
  const { context, page } = await browser(profile);
  page.on("dialog", (d) => d.accept());
  try {
    await page.goto(server.url);
    await page.waitForFunction(
      () => /Downloading the model: [1-9][\d.]* of 93\.8 MiB/.test(document.querySelector("hearth-chat")?.shadowRoot?.querySelector(".status")?.textContent || ""),
      null,
      { timeout: 120_000, polling: 100 },
    );
    assert.match(await status(page), /MiB\/s, .* left$/);
    await page.getByRole("button", { name: "Pause download" }).click();
    assert.equal(await state(page, ["paused"]), "paused");
    assert.match(await status(page), /^Download paused: [\d.]+ MB of 98\.4 MB stored$/);
    assert.ok(await page.getByRole("button", { name: "Send" }).isDisabled());

    // the panel shows the partial model and the storage
    await page.getByRole("button", { name: "Models" }).click();
    const item = page.locator("hearth-chat .model-list li").first();
    await item.locator(".size").waitFor();
    assert.match(await item.locator(".size").textContent(), /^[\d.]+ MB of 98\.4 MB stored · in use$/);
    assert.match(await page.locator("hearth-chat .storage").textContent(), /^This site stores [\d.]+ [MG]B of the [\d.]+ [MG]B the browser allows it/);

    await page.getByRole("button", { name: "Resume download" }).click();
    assert.equal(await state(page, ["ready", "error"]), "ready", await status(page));
    await page.waitForFunction(
      () => document.querySelector("hearth-chat").shadowRoot.querySelector(".model-list .size")?.textContent === "98.4 MB · in use",
      null,
      { timeout: 10_000, polling: 100 },
    );
    mkdirSync(SHOTS, { recursive: true });
    await page.setViewportSize({ width: 1100, height: 560 });
    await page.screenshot({ path: join(SHOTS, "models-desktop.png") });

    // delete it: nothing stored, no chat until a model is back
    await page.getByRole("button", { name: /^Delete / }).click();
    await page.locator("hearth-chat .model-list .empty").waitFor();
    assert.match(await status(page), /deleted/);
    assert.ok(await page.getByRole("button", { name: "Send" }).isDisabled());

    // a URL that is no GGUF: a clear message
    const url = page.getByLabel("Model URL");
    await url.fill(`${server.url}app.css`);
    await page.getByRole("button", { name: "Add model" }).click();
    assert.equal(await state(page, ["error"], 60_000), "error");
    assert.match(await status(page), /^The model could not be loaded: .*GGUF/i);

    // the real one by URL: downloaded again, and it answers
    await url.fill(`${server.url}models/${MODEL_FILE}`);
    await page.getByRole("button", { name: "Add model" }).click();
    assert.equal(await state(page, ["ready", "error"]), "ready", await status(page));
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("Temperature").fill("0");
    await page.getByLabel("Max tokens").fill("16");
    const box = page.getByLabel("Message");
    await box.fill("What is the capital of France?");
    await box.press("Enter");
    await page.waitForFunction(
      () => document.querySelector("hearth-chat").shadowRoot.querySelector(".stats").textContent !== "",
      null,
      { timeout: 300_000, polling: 250 },
    );
    assert.equal((await page.locator("hearth-chat .message.assistant .body").textContent()).trim(), "The capital of France is Paris.");
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
