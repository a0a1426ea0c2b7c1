// Structured output through the JS API in Chromium: a chat answer held to a JSON Schema
// (OpenAI's response_format) on the CPU engine (wasm) and the GPU engine (WebGPU on
// SwiftShader, the sampler's bitmask), its ids equal to `hearth generate --json-schema`
// natively, the text valid against the schema; WebLLM's json_object with a schema string
// and a regex; stop strings; logprobs; a schema the engine rejects fails before any token;
// a required tool call equal to `hearth generate --tools`, streamed as delta.tool_calls,
// and its result back through the template.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile, openApp } from "./harness.mjs";

const HEARTH = process.env.HEARTH_BIN || join(ROOT, "target/release/hearth");

const SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 20 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    city: { enum: ["Paris", "Lyon"] },
  },
  required: ["name", "age", "city"],
  additionalProperties: false,
};
const QUESTION = "Describe a person who lives in France.";
const TOOLS = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", maxLength: 20 }, unit: { enum: ["celsius", "fahrenheit"] } },
      required: ["city", "unit"],
      additionalProperties: false,
    },
  },
}];
const WEATHER = "What is the weather in Paris?";

/** `hearth generate --chat --json` natively, with `option` naming a file holding `data`. */
function native(backend, option, data, question, more = []) {
  const dir = mkdtempSync(join(tmpdir(), "hearth-schema-"));
  try {
    const file = join(dir, "data.json");
    writeFileSync(file, JSON.stringify(data));
    const out = execFileSync(
      HEARTH,
      ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", backend, "--kv", "f32", "--json",
        "--max-tokens", "64", "--chat", option, file, ...more, question],
      { encoding: "utf8", maxBuffer: 1 << 24 },
    );
    return JSON.parse(out.trim().split("\n").pop());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks a parsed answer against SCHEMA by hand (an oracle apart from llguidance). */
function valid(v) {
  const keys = Object.keys(v).sort().join(",");
  return keys === "age,city,name" && typeof v.name === "string" && v.name.length <= 20 &&
    Number.isInteger(v.age) && v.age >= 0 && v.age <= 120 && ["Paris", "Lyon"].includes(v.city);
}

/** `hearth generate` natively with logprobs, after a plain prompt. */
function nativeLogprobs(backend) {
  const out = execFileSync(
    HEARTH,
    ["generate", "--model", join(ROOT, "models", MODEL_FILE), "--backend", backend, "--kv", "f32", "--json",
      "--max-tokens", "4", "--top-logprobs", "2", "The capital of France is"],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split("\n").pop());
}

async function structured(backend) {
  const want = native(backend, "--json-schema", SCHEMA, QUESTION);
  const wantCall = native(backend, "--tools", TOOLS, WEATHER, ["--tool-choice", "required"]);
  const wantLp = nativeLogprobs(backend);
  const server = await serve();
  const profile = newProfile();
  const { context, page } = await browser(profile);
  try {
    await openApp(page, backend === "gpu" ? `${server.url}?backend=gpu` : server.url);
    assert.equal(await page.evaluate(() => window.hearthEngine.info.backend), backend);
    const got = await page.evaluate(
      async ({ question, schema, lpPrompt, tools, weather }) => {
        const e = window.hearthEngine;
        const lp = await e.completions.create({ prompt: lpPrompt, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 2 });
        const c = await e.chat.completions.create({
          messages: [{ role: "user", content: question }],
          max_tokens: 64,
          temperature: 0,
          response_format: { type: "json_schema", json_schema: { name: "person", schema, strict: true } },
        });
        // WebLLM's shape: json_object with the schema as a string; and a regex
        const webllm = await e.chat.completions.create({
          messages: [{ role: "user", content: question }],
          max_tokens: 64,
          temperature: 0.7,
          seed: 3,
          response_format: { type: "json_object", schema: JSON.stringify(schema) },
        });
        const date = await e.chat.completions.create({
          messages: [{ role: "user", content: "When did the Berlin wall fall?" }],
          max_tokens: 20,
          temperature: 0,
          response_format: { type: "regex", regex: "[0-9]{4}-[0-9]{2}-[0-9]{2}" },
        });
        // stop strings: the answer ends before them, streamed or not
        const france = [{ role: "user", content: "What is the capital of France?" }];
        const stopped = await e.chat.completions.create({ messages: france, max_tokens: 16, temperature: 0, stop: ["Paris", "Rome"] });
        let streamed = "";
        let streamFinish = null;
        for await (const chunk of await e.chat.completions.create({ messages: france, max_tokens: 16, temperature: 0, stop: "Paris", stream: true })) {
          streamed += chunk.choices[0].delta.content ?? "";
          streamFinish = chunk.choices[0].finish_reason ?? streamFinish;
        }
        // a bad schema: an error, and no token streamed
        let tokens = 0;
        let error = null;
        try {
          const s = await e.chat.completions.create({
            messages: [{ role: "user", content: question }],
            stream: true,
            response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "no-such-type" } } },
          });
          for await (const _ of s) tokens++;
        } catch (err) {
          error = String(err.message || err);
        }
        // tools: a required call, whole and streamed; its result back in, then an answer
        const ask = [{ role: "user", content: weather }];
        const called = await e.chat.completions.create({ messages: ask, max_tokens: 64, temperature: 0, tools, tool_choice: "required" });
        let callContent = "";
        let callDelta = null;
        let callFinish = null;
        for await (const chunk of await e.chat.completions.create({ messages: ask, max_tokens: 64, temperature: 0, tools, tool_choice: "required", stream: true })) {
          callContent += chunk.choices[0].delta.content ?? "";
          callDelta = chunk.choices[0].delta.tool_calls ?? callDelta;
          callFinish = chunk.choices[0].finish_reason ?? callFinish;
        }
        const call = called.choices[0].message.tool_calls?.[0];
        const after = await e.chat.completions.create({
          messages: [...ask, called.choices[0].message,
            { role: "tool", tool_call_id: call?.id, name: "get_weather", content: '{"temperature": 21, "unit": "celsius"}' }],
          max_tokens: 24,
          temperature: 0,
          tools,
          tool_choice: "none",
        });
        let toolError = null;
        try {
          await e.chat.completions.create({ messages: ask, tools, tool_choice: { type: "function", function: { name: "get_time" } } });
        } catch (err) {
          toolError = String(err.message || err);
        }
        return {
          called: { ids: called.choices[0].token_ids, message: called.choices[0].message, finish: called.choices[0].finish_reason },
          streamedCall: { content: callContent, delta: callDelta, finish: callFinish },
          after: after.choices[0].message,
          toolError,
          ids: c.choices[0].token_ids,
          text: c.choices[0].message.content,
          finish: c.choices[0].finish_reason,
          webllm: webllm.choices[0].message.content,
          date: date.choices[0].message.content,
          stopped: [stopped.choices[0].message.content, stopped.choices[0].finish_reason],
          streamed: [streamed, streamFinish],
          tokens,
          error,
          logprobs: lp.choices[0].logprobs,
        };
      },
      { question: QUESTION, schema: SCHEMA, lpPrompt: wantLp.prompt_ids, tools: TOOLS, weather: WEATHER },
    );
    // the call equals the native engine's (ids, name, arguments, id), in OpenAI's shape
    assert.deepEqual(got.called.ids, wantCall.ids);
    assert.equal(got.called.finish, "tool_calls");
    assert.equal(got.called.message.content, null);
    assert.deepEqual(got.called.message.tool_calls, wantCall.tool_calls);
    const args = JSON.parse(wantCall.tool_calls[0].function.arguments);
    assert.deepEqual(Object.keys(args), ["city", "unit"]);
    assert.ok(["celsius", "fahrenheit"].includes(args.unit));
    assert.deepEqual(got.streamedCall, {
      content: "",
      delta: wantCall.tool_calls.map((c, index) => ({ index, ...c })),
      finish: "tool_calls",
    });
    assert.equal(typeof got.after.content, "string");
    assert.ok(got.after.content.length > 0 && !got.after.tool_calls, JSON.stringify(got.after));
    assert.match(got.toolError ?? "", /get_time/);
    assert.deepEqual(got.ids, want.ids, `browser "${got.text}" against native "${want.text}"`);
    assert.equal(got.finish, "stop");
    assert.ok(valid(JSON.parse(got.text)), got.text);
    assert.ok(valid(JSON.parse(got.webllm)), got.webllm);
    assert.match(got.date, /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
    assert.deepEqual(got.stopped, ["The capital of France is ", "stop"]);
    assert.deepEqual(got.streamed, ["The capital of France is ", "stop"]);
    assert.equal(got.tokens, 0);
    // logprobs in OpenAI's shape, equal to the native engine's within float noise
    const content = got.logprobs.content;
    assert.equal(content.length, wantLp.logprobs.length);
    content.forEach((c, k) => {
      const w = wantLp.logprobs[k];
      assert.ok(Math.abs(c.logprob - w.logprob) < 5e-3, `token ${k}: ${c.logprob} vs ${w.logprob}`);
      assert.equal(c.top_logprobs.length, 2);
      assert.ok(Math.abs(c.top_logprobs[0].logprob - w.top[0][1]) < 5e-3);
      assert.equal(typeof c.token, "string");
      assert.ok(Array.isArray(c.bytes));
    });
    assert.match(got.error ?? "", /JSON schema/);
  } finally {
    await context.close();
    await server.stop();
    dropProfile(profile);
  }
}

test("a chat answer held to a JSON Schema in the browser, CPU engine", async () => {
  await structured("cpu");
});

test("a chat answer held to a JSON Schema in the browser, GPU engine (sampler bitmask)", async () => {
  await structured("gpu");
});
