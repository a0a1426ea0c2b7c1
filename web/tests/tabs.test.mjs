// One engine for all tabs (issue 14): two pages of one browser context that load the same
// model share one engine. The second starts no Worker and fetches no model byte; its
// greedy answer equals `hearth generate`'s. Requests from both are taken in turn (the
// first tab's three, the second's one sent after them: the second's runs second) and the
// waiting one is told another tab is answering; a running and a waiting request can each
// be aborted. When the owner's page closes mid-answer, the other takes the engine over
// (its own Worker, the model from IndexedDB: no chunk fetched) and its streamed answer goes
// on to the native engine's greedy ids. In the chat app, the second tab says when the
// first is answering.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, openApp, watchModelRequests, chunkOf, ready, send, answered } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");
const STORY = "Tell me a story about a lighthouse keeper.";
const LONG = 40;

function native(question, maxTokens) {
  const out = execFileSync(HEARTH, ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", "cpu", "--json", "--max-tokens", String(maxTokens), "--chat", question], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split("\n").pop());
}

/** Sends greedy chats from the page at once (non-streamed); resolves to each one's end
 * time, ids, finish reason and the waits it was told of. */
function chats(page, questions, maxTokens) {
  return page.evaluate(
    ({ questions, maxTokens }) =>
      Promise.all(
        questions.map(async (content) => {
          const waits = [];
          const r = await window.hearthEngine.chat.completions.create({
            messages: [{ role: "user", content }],
            temperature: 0,
            max_tokens: maxTokens,
            onWait: (w) => waits.push(w),
          });
          return { at: performance.timeOrigin + performance.now(), ids: r.choices[0].token_ids, finish: r.choices[0].finish_reason, waits };
        }),
      ),
    { questions, maxTokens },
  );
}

test("two tabs share one engine: turns, aborts, and a handover mid-answer", async () => {
  const story = native(STORY, LONG);
  const france = native("What is the capital of France?", 8);
  const server = await serve();
  const profile = newProfile();
  const { context, page: a } = await browser(profile);
  try {
    const requests = watchModelRequests(context);
    await openApp(a, server.url);
    assert.equal(a.workers().length >= 1, true, "the first tab runs the engine's Worker");
    const fetched = requests.length;
    const b = await context.newPage();
    await openApp(b, server.url);
    assert.equal(b.workers().length, 0, "the second tab starts no Worker");
    assert.equal(requests.length, fetched, `the second tab fetches nothing of the model: ${requests.slice(fetched)}`);
    assert.equal(await b.evaluate(() => window.hearthEngine.info.name), await a.evaluate(() => window.hearthEngine.info.name));

    // the second tab's answer is the native engine's
    const [alone] = await chats(b, ["What is the capital of France?"], 8);
    assert.deepEqual(alone.ids, france.ids);
    assert.deepEqual(alone.waits, []);

    // turns: a's three requests, then b's one: b's is answered second
    const qa = ["Describe the sea.", "Describe a forest.", "Describe a city."];
    const fromA = chats(a, qa, 16);
    await new Promise((r) => setTimeout(r, 50));
    const [fromB] = await chats(b, ["What is the capital of France?"], 8);
    const doneA = await fromA;
    const order = [...doneA.map((r, i) => ({ who: `a${i + 1}`, at: r.at })), { who: "b1", at: fromB.at }].sort((x, y) => x.at - y.at).map((r) => r.who);
    assert.deepEqual(order, ["a1", "b1", "a2", "a3"], "each tab's requests in turn");
    assert.deepEqual(fromB.waits, [{ waiting: true, otherTab: true }, { waiting: false }], "b was told it waits for another tab");
    assert.deepEqual(fromB.ids, france.ids, "b's answer is still the native engine's");
    // (a's answers reuse the context's prefix, whose numerics may differ from a fresh
    // prefill's at a near-tie: their lengths are checked, b's ids above are the reference)
    for (const r of doneA) assert.ok(r.ids.length > 0 && r.finish, JSON.stringify(r));

    // aborts: b's running stream, and b's request waiting behind a's
    const aborted = await b.evaluate(async (q) => {
      const stop = new AbortController();
      const stream = await window.hearthEngine.chat.completions.create({ messages: [{ role: "user", content: q }], temperature: 0, max_tokens: 64, stream: true, signal: stop.signal });
      let n = 0;
      let finish = null;
      for await (const c of stream) {
        if (++n === 3) stop.abort();
        finish = c.choices[0].finish_reason ?? finish;
      }
      return { n, finish };
    }, STORY);
    assert.equal(aborted.finish, "abort");
    assert.ok(aborted.n < 10, `the stream stopped soon after the abort (${aborted.n} chunks)`);
    const runningA = chats(a, ["What is the capital of France?"], 8);
    await new Promise((r) => setTimeout(r, 50));
    const waiting = await b.evaluate(async () => {
      const stop = new AbortController();
      const waits = [];
      const p = window.hearthEngine.chat.completions.create({ messages: [{ role: "user", content: "Name a bird." }], temperature: 0, max_tokens: 8, signal: stop.signal, onWait: (w) => (waits.push(w), w.waiting && stop.abort()) });
      const r = await p;
      return { finish: r.choices[0].finish_reason, tokens: r.usage.completion_tokens, waits };
    });
    assert.equal(waiting.finish, "abort");
    assert.equal(waiting.tokens, 0, "aborted before its turn: no token");
    assert.deepEqual((await runningA)[0].ids, france.ids, "a's answer is untouched by b's aborts");

    // the owner's tab closes mid-answer: b takes the engine over and its stream goes on
    const before = requests.length;
    const streaming = b.evaluate(async (q) => {
      const stream = await window.hearthEngine.chat.completions.create({ messages: [{ role: "user", content: q }], temperature: 0, max_tokens: 40, stream: true });
      const ids = [];
      let text = "";
      let finish = null;
      for await (const c of stream) {
        if (c.choices[0].token_id != null) ids.push(c.choices[0].token_id);
        text += c.choices[0].delta.content ?? "";
        finish = c.choices[0].finish_reason ?? finish;
        if (ids.length === 4) window.__fourth = true;
      }
      return { ids, text, finish };
    }, STORY);
    await b.waitForFunction(() => window.__fourth === true, null, { polling: 50, timeout: 120_000 });
    await a.close();
    const handed = await streaming;
    assert.deepEqual(handed.ids, story.ids, "the stream went on as the native engine's greedy answer");
    assert.equal(handed.text, story.text);
    assert.ok(b.workers().length >= 1, "b runs the engine now");
    const chunks = requests.slice(before).filter((r) => chunkOf(r) >= 0);
    assert.deepEqual(chunks, [], "the model came from IndexedDB");
    const [after] = await chats(b, ["What is the capital of France?"], 8);
    assert.deepEqual(after.ids, france.ids, "and answers as before");
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});

test("the chat says when another tab is answering", async () => {
  const server = await serve();
  const profile = newProfile();
  const { context, page: a } = await browser(profile);
  try {
    await a.goto(server.url);
    await ready(a);
    const b = await context.newPage();
    await b.goto(server.url);
    await ready(b);
    for (const [page, max] of [[a, "64"], [b, "8"]]) {
      await page.getByRole("button", { name: "Settings" }).click();
      await page.getByLabel("Temperature").fill("0");
      await page.getByLabel("Max tokens").fill(max);
    }
    await send(a, STORY);
    await a.locator("hearth-chat .message.assistant .body p").first().waitFor();
    await send(b, "What is the capital of France?");
    const notice = b.locator("hearth-chat .notice");
    await notice.getByText("Another tab is answering").waitFor();
    await answered(b, 1);
    assert.equal(await notice.isHidden(), true, "the notice goes once b's answer runs");
    assert.match(await b.locator("hearth-chat .message.assistant .body").textContent(), /Paris/);
    await answered(a, 1);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
