// The JS API beyond a plain chat: streaming (the chunks add up to the whole answer),
// abort through an AbortSignal, tokenize (as `hearth tokenize`), the context policy of a
// long chat, models.list/delete.
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

    // a conversation longer than the context: its oldest turns are left out, the
    // system prompt and the last turn kept (a second engine with a 96-token context)
    const long = await page.evaluate(async () => {
      const { createEngine } = await import("/hearth.js");
      const small = await createEngine({ model: "/models/SmolLM2-135M-Instruct.Q4_1.gguf", contextLength: 96 });
      const turn = (i) => [
        { role: "user", content: `Question ${i}: what is ${i} plus ${i}, and why is that so?` },
        { role: "assistant", content: `${i} plus ${i} is ${2 * i}, because adding a number to itself doubles it.` },
      ];
      const messages = [{ role: "system", content: "Answer briefly." }, ...[1, 2, 3, 4].flatMap(turn), { role: "user", content: "And 5 plus 5?" }];
      const r = await small.chat.completions.create({ messages, max_tokens: 4, temperature: 0 });
      await small.unload();
      return { dropped: r.dropped_messages, prompt: r.usage.prompt_tokens, text: r.choices[0].message.content };
    });
    assert.ok(long.dropped >= 2 && long.dropped % 2 === 0 && long.dropped < 8, JSON.stringify(long));
    assert.ok(long.prompt <= 96 - 4 && long.text.length > 0, JSON.stringify(long));

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
