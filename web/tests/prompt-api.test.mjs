// The Prompt API shape (issue 13): the explainer's own examples (webmachinelearning/
// prompt-api: availability and download monitoring, a system prompt in initialPrompts,
// n-shot prompting, streaming, clone, append, context usage, responseConstraint, abort
// and destroy) run against prompt-api.js backed by hearth in Chromium. Greedy answers
// (temperature 0, topK 1) equal `hearth generate --system … --chat …` natively; a
// streamed answer equals the same prompt's whole answer on a clone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");
const SYSTEM = "Pretend to be an eloquent hamster. Answer in one sentence.";
const QUESTION = "What is the capital of France?";

function native(args) {
  const out = execFileSync(HEARTH, ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", "cpu", "--json", "--max-tokens", "200", ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split("\n").pop());
}

test("code written for the built-in LanguageModel runs on hearth", async () => {
  const want = native(["--system", SYSTEM, "--chat", QUESTION]);
  const ids = JSON.parse(execFileSync(HEARTH, ["tokenize", "--model", join(ROOT, "models", MODEL_FILE), "Hello world, hearth!"], { encoding: "utf8" }));
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await page.goto(`${server.url}manifest.webmanifest`);
    const got = await page.evaluate(
      async ({ model, SYSTEM, QUESTION }) => {
        const { LanguageModel, useModel } = await import("/prompt-api.js");
        const out = {};
        out.before = await LanguageModel.availability();
        useModel(model);
        out.unused = await LanguageModel.availability();
        out.image = await LanguageModel.availability({ expectedInputs: [{ type: "image" }] });
        out.params = await LanguageModel.params();

        // the explainer: "Download progress monitoring"
        const progress = [];
        const session = await LanguageModel.create({
          temperature: 0,
          topK: 1,
          monitor(m) {
            m.addEventListener("downloadprogress", (e) => progress.push(e.loaded));
          },
          initialPrompts: [{ role: "system", content: SYSTEM }],
        });
        out.progress = { n: progress.length, last: progress.at(-1), sorted: progress.every((p, i) => i === 0 || p >= progress[i - 1]) };
        out.after = await LanguageModel.availability();
        out.window = session.contextWindow;
        out.usage0 = session.contextUsage;

        // "System prompts"
        const fork = await session.clone();
        out.answer = await session.prompt(QUESTION);
        out.usage1 = session.contextUsage;
        // "Streaming output", on a clone made before the question
        let streamed = "";
        for await (const chunk of fork.promptStreaming(QUESTION)) streamed += chunk;
        out.streamed = streamed;

        out.measure = await session.measureContextUsage("Hello world, hearth!");

        // "N-shot prompting"
        const shots = await LanguageModel.create({
          temperature: 0,
          topK: 1,
          initialPrompts: [
            { role: "system", content: "Predict up to 5 emojis as a response to a comment. Output emojis, comma-separated." },
            { role: "user", content: "This is amazing!" },
            { role: "assistant", content: "❤️, ➕" },
            { role: "user", content: "LGTM" },
            { role: "assistant", content: "👍, 🚢" },
          ],
        });
        out.shots = await shots.prompt("Back to the drawing board");

        // "Structured output or JSON output"
        const schema = { type: "object", required: ["rating"], additionalProperties: false, properties: { rating: { type: "number", minimum: 0, maximum: 5 } } };
        out.json = await shots.prompt("Summarize this feedback into a rating between 0-5: The food was delicious, service was excellent, will recommend.", {
          responseConstraint: schema,
        });

        // "Aborting a specific prompt", then "Session persistence"'s destroy
        const controller = new AbortController();
        const p = shots.prompt("Write a very long story.", { signal: controller.signal });
        setTimeout(() => controller.abort(), 50);
        out.abort = await p.then(() => "resolved", (e) => e.name);
        shots.destroy();
        out.destroyed = await shots.prompt("Hi").then(() => "resolved", (e) => e.name);
        out.badRole = await session.prompt([{ role: "system", content: "x" }]).then(() => "resolved", (e) => e.name);
        out.halfSampling = await LanguageModel.create({ temperature: 0.5 }).then(() => "resolved", (e) => e.name);
        return out;
      },
      { model: `${server.url}models/${MODEL_FILE}`, SYSTEM, QUESTION },
    );
    assert.equal(got.before, "unavailable", "no model chosen yet");
    assert.equal(got.unused, "downloadable");
    assert.equal(got.image, "unavailable");
    assert.deepEqual(got.params, { defaultTopK: 40, maxTopK: 1000, defaultTemperature: 0.7, maxTemperature: 2 });
    assert.ok(got.progress.n > 0 && got.progress.sorted && got.progress.last === 1, JSON.stringify(got.progress));
    assert.equal(got.after, "available");
    assert.equal(got.window, 2048);
    assert.ok(got.usage0 > 0);

    assert.equal(got.answer, want.text, "the answer, as natively");
    assert.equal(got.streamed, got.answer, "streamed as answered");
    assert.equal(got.usage1, want.prompt_ids.length + want.ids.length, "context usage after the answer: its prompt and answer tokens");
    assert.equal(got.measure, ids.length, "measureContextUsage counts the text's tokens");

    assert.ok(got.shots.trim().length > 0);
    const rating = JSON.parse(got.json);
    assert.deepEqual(Object.keys(rating), ["rating"]);
    assert.ok(typeof rating.rating === "number" && rating.rating >= 0 && rating.rating <= 5, got.json);
    assert.equal(got.abort, "AbortError");
    assert.equal(got.destroyed, "InvalidStateError");
    assert.equal(got.badRole, "NotSupportedError");
    assert.equal(got.halfSampling, "TypeError");
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
});
