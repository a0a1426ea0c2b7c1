// The JS API beyond a plain chat: streaming (the chunks add up to the whole answer),
// abort through an AbortSignal, tokenize (as `hearth tokenize`), models.list/delete.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, openApp } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");

test("streaming, abort, tokenize, models.list and models.delete", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await openApp(page, server.url);
    const r = await page.evaluate(async () => {
      const e = window.hearthEngine;
      const messages = [{ role: "user", content: "Write a haiku about the sea." }];
      const whole = await e.chat.completions.create({ messages, temperature: 0, max_tokens: 24 });
      let streamed = "";
      let last = null;
      for await (const chunk of await e.chat.completions.create({ messages, temperature: 0, max_tokens: 24, stream: true })) {
        streamed += chunk.choices[0].delta.content ?? "";
        last = chunk;
      }
      // abort after the third token
      const ctl = new AbortController();
      let n = 0;
      let aborted = null;
      for await (const chunk of await e.chat.completions.create({
        messages,
        temperature: 0,
        max_tokens: 24,
        stream: true,
        signal: ctl.signal,
      })) {
        if (chunk.choices[0].delta.content !== undefined && ++n === 3) ctl.abort();
        aborted = chunk;
      }
      return {
        whole: whole.choices[0].message.content,
        usage: whole.usage,
        streamed,
        lastReason: last.choices[0].finish_reason,
        abortedReason: aborted.choices[0].finish_reason,
        abortedTokens: aborted.usage.completion_tokens,
        ids: await e.tokenize("Hello world, hearth!"),
      };
    });
    assert.ok(r.whole.length > 0);
    assert.equal(r.streamed, r.whole);
    assert.equal(r.lastReason, "length");
    assert.equal(r.usage.completion_tokens, 24);
    assert.equal(r.abortedReason, "abort");
    assert.ok(r.abortedTokens < 24, `aborted after ${r.abortedTokens} tokens`);
    const native = JSON.parse(
      execFileSync(HEARTH, ["tokenize", "--model", join(ROOT, "models", MODEL_FILE), "Hello world, hearth!"], {
        encoding: "utf8",
      }),
    );
    assert.deepEqual(r.ids, native);

    const listed = await page.evaluate(() => window.hearthEngine.models.list());
    assert.equal(listed.length, 1);
    assert.ok(listed[0].url.endsWith(MODEL_FILE) && listed[0].complete);
    await page.evaluate((url) => window.hearthEngine.models.delete(url), listed[0].url);
    assert.deepEqual(await page.evaluate(() => window.hearthEngine.models.list()), []);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
