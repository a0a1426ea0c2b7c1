// A program written against hearth's published types (hearth.d.ts over the generated
// protocol.d.ts), compiled by web/tests/types.test.mjs with tsc --strict: the declarations
// must compile and describe the API as the examples in README.md use it.
import { createEngine } from "../../src/hearth";
import type { ChatCompletionChunk, EngineInfo, FinishReason, ToWorker } from "../../src/protocol";

export async function main(): Promise<string> {
  const engine = await createEngine({ model: "model.gguf", backend: "auto", onProgress: (p) => console.log(p.phase, p.loaded / p.total) });
  const info: EngineInfo = engine.info;
  const whole = await engine.chat.completions.create({
    messages: [{ role: "user", content: "Hi" }],
    temperature: 0,
    max_tokens: 8,
    response_format: { type: "json_object" },
    tools: [{ type: "function", function: { name: "f", parameters: {} } }],
    tool_choice: "auto",
  });
  const reason: FinishReason = whole.choices[0].finish_reason;
  const text: string | null = whole.choices[0].message.content;
  let streamed = "";
  const stream = await engine.chat.completions.create({ messages: [{ role: "user", content: "Hi" }], stream: true, signal: new AbortController().signal });
  for await (const chunk of stream) {
    const c: ChatCompletionChunk = chunk;
    streamed += c.choices[0].delta.content ?? "";
  }
  const done = await engine.completions.create({ prompt: [1, 2, 3], stop: ["\n"] });
  const load: ToWorker = { type: "load", id: 1, url: "m.gguf", options: { contextLength: 2048, chunkSize: 1 << 22, parallel: 4, kv: "auto", backend: "cpu" } };
  return `${info.backend} ${reason} ${text} ${streamed} ${done.choices[0].text} ${load.type}`;
}
