// A browser without WebGPU: the chat app and the JS API run the CPU engine and say so,
// and asking for the GPU there fails plainly before a byte of the model is fetched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, browser, newProfile, dropProfile, watchModelRequests } from "./harness.mjs";

test("without WebGPU the app chats on the CPU engine and says why", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile, { webgpu: false });
  try {
    assert.equal(await page.evaluate(() => navigator.gpu?.requestAdapter().then((a) => a !== null) ?? false), false);
    // asking for the GPU: a clear error, nothing fetched
    await page.goto(`${server.url}demo.html?backend=gpu`);
    const requests = watchModelRequests(context);
    await page.waitForFunction(() => /^Error/.test(document.getElementById("status")?.textContent || ""), null, {
      timeout: 60_000,
      polling: 200,
    });
    assert.match(await page.textContent("#status"), /^Error: this browser offers no WebGPU adapter .*backend "cpu"/);
    assert.deepEqual(requests, []);

    // the app: the element loads on the CPU engine, its status says so, and it answers
    await page.goto(server.url);
    await page.waitForFunction(
      () => {
        const s = document.querySelector("hearth-chat")?.shadowRoot?.querySelector(".app")?.dataset.state;
        return s === "ready" || s === "error";
      },
      null,
      { timeout: 600_000, polling: 500 },
    );
    const status = page.locator("hearth-chat .status");
    assert.match(await status.textContent(), /· ready · CPU \(no WebGPU\)$/);
    assert.equal(await status.getAttribute("title"), "this browser offers no WebGPU adapter");
    // greedy, through the Settings panel
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByLabel("Temperature").fill("0");
    await page.getByLabel("Max tokens").fill("32");
    await page.getByRole("button", { name: "Settings" }).click();
    const box = page.getByLabel("Message");
    await box.fill("What is the capital of France?");
    await box.press("Enter");
    await page.waitForFunction(
      () => {
        const root = document.querySelector("hearth-chat").shadowRoot;
        return root.querySelectorAll(".message.assistant").length === 1 && root.querySelector(".app").getAttribute("aria-busy") === "false" && root.querySelector(".stats").textContent !== "";
      },
      null,
      { timeout: 300_000, polling: 500 },
    );
    const answer = await page.locator("hearth-chat .message.assistant .body").last().textContent();
    assert.equal(answer.trim(), "The capital of France is Paris.");
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
