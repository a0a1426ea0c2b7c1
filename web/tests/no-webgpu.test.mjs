// A browser without WebGPU: the chat app and the JS API say so plainly, before a single
// byte of the model is fetched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, browser, newProfile, dropProfile, watchModelRequests } from "./harness.mjs";

test("without WebGPU the app and the API say so, and fetch nothing", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile, { webgpu: false });
  try {
    const requests = watchModelRequests(context);
    await page.goto(server.url);
    await page.waitForFunction(
      () => document.querySelector("hearth-chat")?.shadowRoot?.querySelector(".app")?.dataset.state === "error",
      null,
      { timeout: 60_000, polling: 200 },
    );
    assert.match(await page.locator("hearth-chat .status").textContent(), /^This browser offers no WebGPU .* hearth needs it/);
    assert.ok(await page.getByRole("button", { name: "Send" }).isDisabled());
    const api = await page.evaluate(async () => {
      const { createEngine } = await import("/hearth.js");
      return createEngine({ model: "/models/SmolLM2-135M-Instruct.Q4_1.gguf" }).then(
        () => "loaded",
        (e) => e.message,
      );
    });
    assert.match(api, /^this browser offers no WebGPU adapter/);
    assert.deepEqual(requests, []);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
