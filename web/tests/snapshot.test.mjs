// Instant resume (issue 14): a conversation's KV cache is kept in IndexedDB after each
// answer (snapshots.js), so that after a reload a request that continues a 1,500-token
// conversation prefills only its new turn: its usage says the rest was cached, and its
// greedy ids equal those of an engine that keeps no snapshots and prefills it all. A
// damaged snapshot is found by its hash, deleted and prefilled instead, the answer the
// same; a small budget keeps the store within it, the least recently used spans going;
// the chat app's storage numbers show what they take.
// Prints the time to the first token with and without the snapshot.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serve, browser, newProfile, dropProfile, openApp } from "./harness.mjs";

const PARAGRAPH = "The lighthouse keeper climbed the hundred and twelve steps every night, and wrote what he saw in a log that nobody read. ";
const LONG = PARAGRAPH.repeat(62) + "\n\nWhat did the keeper write in?";

/** Streams a greedy chat in the page on `window[name]` (an engine): the time to its first
 * token, its ids and usage. */
function timed(page, name, messages, maxTokens = 8) {
  return page.evaluate(
    async ({ name, messages, maxTokens }) => {
      const t0 = performance.now();
      let first = null;
      const ids = [];
      let usage = null;
      let text = "";
      const stream = await window[name].chat.completions.create({ messages, temperature: 0, max_tokens: maxTokens, stream: true });
      for await (const c of stream) {
        if (c.choices[0].token_id != null) {
          first ??= performance.now() - t0;
          ids.push(c.choices[0].token_id);
        }
        text += c.choices[0].delta.content ?? "";
        usage = c.usage ?? usage;
      }
      return { first, ids, text, usage };
    },
    { name, messages, maxTokens },
  );
}

/** The stored snapshot records (without their bytes). */
const records = (page) =>
  page.evaluate(async () => {
    const store = await import("/store.js");
    return store.snapshotsWhere();
  });

/** The records once `ok(records)` holds (polled). */
async function until(page, ok) {
  for (let i = 0; i < 600; i++) {
    const rs = await records(page);
    if (ok(rs)) return rs;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the snapshots never came: ${JSON.stringify((await records(page)).map((r) => [r.from, r.to]))}`);
}

/** An engine in the page that keeps no snapshots and shares with no one: the reference. */
async function plainEngine(page) {
  await page.evaluate(async () => {
    const { createEngine } = await import("/hearth.js");
    window.plain = await createEngine({ model: "/models/SmolLM2-135M-Instruct.Q4_1.gguf", share: false, snapshotBudget: 0 });
  });
}

test("a reloaded conversation prefills only its new turn from the KV snapshot", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await openApp(page, server.url);
    const turn1 = [{ role: "user", content: LONG }];
    const a1 = await timed(page, "hearthEngine", turn1);
    assert.equal(a1.usage.prompt_tokens_details.cached_tokens, 0);
    const prompt1 = a1.usage.prompt_tokens;
    assert.ok(prompt1 >= 1500, `a long conversation: ${prompt1} tokens`);
    const held = prompt1 + a1.ids.length - 1;
    // (the Worker saves after it answered, before its next request)
    const saved = await until(page, (rs) => rs.some((r) => r.to === held));
    assert.equal(Math.max(...saved.map((s) => s.to)), held, "the spans reach what the context holds");
    assert.equal(saved.filter((s) => s.to - s.from === 256).length, Math.floor(held / 256));

    // after a reload: one more question
    await openApp(page, server.url);
    const turn2 = [...turn1, { role: "assistant", content: a1.text }, { role: "user", content: "And who read it?" }];
    const warm = await timed(page, "hearthEngine", turn2);
    assert.ok(warm.usage.prompt_tokens_details.cached_tokens >= held, `cached ${warm.usage.prompt_tokens_details.cached_tokens} of ${warm.usage.prompt_tokens}`);
    await plainEngine(page);
    const cold = await timed(page, "plain", turn2);
    assert.equal(cold.usage.prompt_tokens_details.cached_tokens, 0);
    assert.deepEqual(warm.ids, cold.ids, "the restored context answers as a whole prefill");
    console.log(
      `# ${warm.usage.prompt_tokens}-token conversation, first token: ${cold.first.toFixed(0)} ms prefilled whole, ${warm.first.toFixed(0)} ms from the snapshot (${(cold.first / warm.first).toFixed(1)}×)`,
    );

    // a damaged span: found by its hash, deleted, and what follows it prefilled
    const spans = (await records(page)).filter((s) => s.from === 512 && s.to === 768);
    assert.equal(spans.length, 1);
    await page.evaluate(async (id) => {
      const store = await import("/store.js");
      const bytes = new Uint8Array(await store.getSnapshotBytes(id));
      bytes[1000] ^= 0x40;
      const meta = await store.getSnapshot(id);
      await store.putSnapshot(meta, bytes.buffer);
    }, spans[0].id);
    await openApp(page, server.url);
    const damaged = await timed(page, "hearthEngine", turn2);
    assert.equal(damaged.usage.prompt_tokens_details.cached_tokens, 512, "the chain stops before the damaged span");
    assert.deepEqual(damaged.ids, cold.ids);
    // (and stored again, whole, by the answer's save)
    await until(page, (rs) => rs.some((r) => r.id === spans[0].id));
    const healthy = await page.evaluate(async (id) => {
      const store = await import("/store.js");
      return (await store.sha256(await store.getSnapshotBytes(id))) === (await store.getSnapshot(id)).sum;
    }, spans[0].id);
    assert.ok(healthy, "the span's bytes match their hash again");

    // a budget: the store keeps within it, the least recently used going first
    const before = await records(page);
    await page.evaluate(async () => {
      const { createEngine } = await import("/hearth.js");
      window.small = await createEngine({ model: "/models/SmolLM2-135M-Instruct.Q4_1.gguf", share: false, snapshotBudget: 20e6 });
    });
    await timed(page, "small", [{ role: "user", content: "Name a colour." }]);
    const after = await until(page, (rs) => rs.reduce((t, r) => t + r.size, 0) <= 20e6);
    const total = after.reduce((t, s) => t + s.size, 0);
    assert.ok(total <= 20e6, `${total} bytes stored`);
    const newest = after.reduce((a, b) => (b.usedAt > a.usedAt ? b : a));
    assert.ok(!before.some((s) => s.id === newest.id), "the new span is kept");
    assert.ok(after.length < before.length + 1, "older spans went");

    // the chat app's storage numbers count them
    await page.goto(server.url);
    await page.getByRole("button", { name: "Models" }).click();
    const storage = page.locator("hearth-chat .storage");
    await storage.getByText("keeps conversations ready to resume").waitFor();
    const mb = Number(/Of it, ([\d.]+) MB keeps/.exec(await storage.textContent())[1]);
    assert.equal(mb, Number((total / 1e6).toFixed(1)), await storage.textContent());
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
