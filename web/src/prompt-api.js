// prompt-api.js: the shape of the browser's built-in Prompt API (`LanguageModel`, as in
// the Web Machine Learning group's explainer and Chrome) backed by hearth, so code written
// for Chrome's built-in model runs on hearth in any browser with a GGUF of your choice:
//
//   import { LanguageModel, useModel } from ".../prompt-api.js";
//   useModel("https://example.com/model.gguf");        // once, before create()
//   const session = await LanguageModel.create({ initialPrompts: [...] });
//   console.log(await session.prompt("Hello"));
//
// Thin glue over hearth.js (createEngine, chat.completions.create); a session keeps its
// messages and sends them whole each time (the engine reuses the context's common
// prefix). Text only: other input or output types are "unavailable".
import { createEngine } from "./hearth.js";
import { SAMPLING } from "./sampling.js";
import { listStoredModels } from "./store.js";

let modelUrl = null;
let engineOptions = {};
/** The engine shared by every session: a promise, made on the first create(). */
let engine = null;
let loading = false;

/** Which GGUF backs `LanguageModel` (and createEngine's options: backend, contextLength…). */
export function useModel(url, options = {}) {
  modelUrl = new URL(url, location.href).href;
  engineOptions = options;
  engine = null;
}

// the chat's starting values and limits (hearth-protocol's one table of them)
const DEFAULT_TEMPERATURE = SAMPLING.temperature.chat;
const DEFAULT_TOP_K = SAMPLING.top_k.chat;
const MAX_TEMPERATURE = SAMPLING.temperature.max;
const MAX_TOP_K = SAMPLING.top_k.max;

function notSupported(message) {
  return new DOMException(message, "NotSupportedError");
}

/** Whether every expected input and output is text (the only kind hearth has). */
function textOnly(options = {}) {
  const all = [...(options.expectedInputs || []), ...(options.expectedOutputs || [])];
  return all.every((e) => (e.type || "text") === "text");
}

/** The messages of a prompt: a string, or an array of {role, content} (content a string
 * or [{type: "text", value}]). */
function messagesOf(input) {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input)) throw new TypeError("a prompt is a string or an array of messages");
  return input.map((m) => {
    const content = typeof m.content === "string" ? m.content : Array.isArray(m.content) ? m.content.map((p) => {
      if (p.type !== "text") throw notSupported(`hearth takes text only, not ${p.type}`);
      return p.value;
    }).join("") : null;
    if (content === null) throw new TypeError("a message's content is a string or an array of parts");
    const role = m.role || "user";
    if (!["system", "user", "assistant"].includes(role)) throw new TypeError(`unknown role ${role}`);
    return { role, content };
  });
}

function loadEngine(monitor) {
  if (!modelUrl) throw new DOMException("call useModel(url) before LanguageModel.create()", "InvalidStateError");
  if (!engine) {
    const target = new EventTarget();
    monitor?.(target);
    loading = true;
    engine = createEngine({
      ...engineOptions,
      model: modelUrl,
      onProgress: (p) => {
        if (p.phase === "download" && p.total > 0) {
          const e = new Event("downloadprogress");
          e.loaded = p.loaded / p.total;
          e.total = 1;
          target.dispatchEvent(e);
        }
      },
    }).finally(() => (loading = false));
    engine.catch(() => (engine = null));
  } else if (monitor) {
    monitor(new EventTarget());
  }
  return engine;
}

/** A hearth-backed session with the shape of the Prompt API's `LanguageModel`. */
export class LanguageModel extends EventTarget {
  #engine;
  #messages;
  #sampling;
  #destroyed = false;
  #controller = new AbortController();
  #usage = 0;

  constructor(engine, messages, sampling) {
    super();
    this.#engine = engine;
    this.#messages = messages;
    this.#sampling = sampling;
  }

  /** "available" (stored here), "downloading", "downloadable", or "unavailable". */
  static async availability(options = {}) {
    if (!textOnly(options) || !modelUrl) return "unavailable";
    if (loading) return "downloading";
    const stored = await listStoredModels().catch(() => []);
    return stored.some((m) => m.url === modelUrl && m.complete) ? "available" : "downloadable";
  }

  /** The sampling defaults and limits. */
  static async params() {
    return { defaultTopK: DEFAULT_TOP_K, maxTopK: MAX_TOP_K, defaultTemperature: DEFAULT_TEMPERATURE, maxTemperature: MAX_TEMPERATURE };
  }

  /** A session: `initialPrompts` (a system message first, if any), `temperature` and
   * `topK` (both or neither), `signal`, `monitor(m)` (m fires "downloadprogress"). */
  static async create(options = {}) {
    if (!textOnly(options)) throw notSupported("hearth takes and gives text only");
    if ((options.temperature === undefined) !== (options.topK === undefined)) {
      throw new TypeError("give both temperature and topK, or neither");
    }
    options.signal?.throwIfAborted();
    const messages = messagesOf(options.initialPrompts || []);
    if (messages.some((m, i) => m.role === "system" && i > 0)) throw new TypeError("a system prompt must come first");
    const sampling = {
      temperature: Math.min(options.temperature ?? DEFAULT_TEMPERATURE, MAX_TEMPERATURE),
      top_k: Math.min(options.topK ?? DEFAULT_TOP_K, MAX_TOP_K),
    };
    const aborted = new Promise((_, reject) => {
      options.signal?.addEventListener("abort", () => reject(options.signal.reason), { once: true });
    });
    const e = await Promise.race([loadEngine(options.monitor), aborted]);
    const session = new LanguageModel(e, messages, sampling);
    session.#usage = await session.#count(messages);
    return session;
  }

  get contextUsage() {
    return this.#usage;
  }

  get contextWindow() {
    return this.#engine.info.n_ctx;
  }

  get topK() {
    return this.#sampling.top_k;
  }

  get temperature() {
    return this.#sampling.temperature;
  }

  #live(signal) {
    if (this.#destroyed) throw new DOMException("the session was destroyed", "InvalidStateError");
    signal?.throwIfAborted();
  }

  #request(input, options, stream) {
    const asked = messagesOf(input);
    if (asked.some((m) => m.role === "system")) throw notSupported("a system prompt goes in initialPrompts");
    const signal = AbortSignal.any([this.#controller.signal, ...(options.signal ? [options.signal] : [])]);
    // a fresh seed per prompt: sampled answers differ, as the built-in model's do
    const seed = Math.floor(Math.random() * 2 ** 32);
    const body = { messages: [...this.#messages, ...asked], ...this.#sampling, seed, signal, stream };
    if (options.responseConstraint) {
      const c = options.responseConstraint;
      body.response_format = c instanceof RegExp ? { type: "regex", regex: c.source } : { type: "json_schema", json_schema: { schema: c } };
    }
    return { asked, body, signal };
  }

  #done(asked, text, usage) {
    this.#messages.push(...asked, { role: "assistant", content: text });
    if (usage) this.#usage = usage.total_tokens;
  }

  /** The model's answer to `input` (a string or messages), the session's context kept. */
  async prompt(input, options = {}) {
    this.#live(options.signal);
    const { asked, body, signal } = this.#request(input, options, false);
    const r = await this.#engine.chat.completions.create(body);
    if (signal.aborted) throw signal.reason;
    const text = r.choices[0].message.content ?? "";
    this.#done(asked, text, r.usage);
    return text;
  }

  /** The answer as a ReadableStream of its pieces. */
  promptStreaming(input, options = {}) {
    this.#live(options.signal);
    const { asked, body, signal } = this.#request(input, options, true);
    let text = "";
    let iterator = null;
    return new ReadableStream({
      start: async () => {
        iterator = (await this.#engine.chat.completions.create(body))[Symbol.asyncIterator]();
      },
      pull: async (controller) => {
        const { value, done } = await iterator.next();
        if (done || signal.aborted) {
          if (signal.aborted) controller.error(signal.reason);
          else controller.close();
          return;
        }
        const c = value.choices[0];
        if (c.delta?.content) {
          text += c.delta.content;
          controller.enqueue(c.delta.content);
        }
        if (c.finish_reason) this.#done(asked, text, value.usage);
      },
      cancel: () => this.#controller.abort(),
    });
  }

  /** Adds `input` to the context without an answer. */
  async append(input, options = {}) {
    this.#live(options.signal);
    const asked = messagesOf(input);
    this.#messages.push(...asked);
    this.#usage += await this.#count(asked);
  }

  /** How many tokens `input` would take (its text's tokens; the chat template's few
   * markers around each message are not counted). */
  async measureContextUsage(input, options = {}) {
    this.#live(options.signal);
    return this.#count(messagesOf(input));
  }

  async #count(messages) {
    let n = 0;
    for (const m of messages) n += (await this.#engine.tokenize(m.content)).length;
    return n;
  }

  /** A new session with this one's context and settings. */
  async clone(options = {}) {
    this.#live(options.signal);
    const copy = new LanguageModel(this.#engine, this.#messages.map((m) => ({ ...m })), { ...this.#sampling });
    copy.#usage = this.#usage;
    return copy;
  }

  /** Ends the session: its answers in flight are aborted, later calls refused. */
  destroy() {
    this.#destroyed = true;
    this.#controller.abort(new DOMException("the session was destroyed", "AbortError"));
  }
}
