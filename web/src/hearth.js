// hearth.js: the JavaScript API, shaped like the OpenAI client. The engine runs in a
// dedicated Worker (worker.js); this module only posts messages, so the page's thread is
// never blocked.
//
//   import { createEngine } from "/hearth.js";
//   const engine = await createEngine({ model: URL, onProgress: p => {} });
//   const r = await engine.chat.completions.create({ messages, stream: false });
//
// Types: hearth.d.ts.

/** Defaults of createEngine's options. */
const DEFAULTS = { contextLength: 2048, chunkSize: 4 << 20, parallel: 4, kv: "auto", backend: "auto" };

let nextId = 1;

/** An error from the engine, with the engine's own name (e.g. "QuotaExceededError"). */
class HearthError extends Error {
  constructor(message, name) {
    super(message);
    this.name = name && name !== "Error" ? name : "HearthError";
  }
}

/** Talks to one worker: requests by id, with their token streams. */
class Channel {
  constructor(worker, onProgress) {
    this.worker = worker;
    this.pending = new Map();
    this.onProgress = onProgress;
    worker.onmessage = (e) => this.receive(e.data);
    worker.onerror = (e) => this.failAll(new HearthError(e.message || "the engine's worker failed"));
  }

  receive(msg) {
    if (msg.type === "progress") {
      this.onProgress?.({ phase: msg.phase, loaded: msg.loaded, total: msg.total, rate: msg.rate });
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === "token") {
      p.onToken?.(msg.piece, msg.token);
    } else if (msg.type === "result") {
      this.pending.delete(msg.id);
      p.resolve(msg.value);
    } else if (msg.type === "error") {
      this.pending.delete(msg.id);
      p.reject(new HearthError(msg.message, msg.name));
    }
  }

  failAll(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  call(message, onToken) {
    const id = nextId++;
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onToken });
    });
    this.worker.postMessage({ ...message, id });
    return { id, promise };
  }
}

/** Request fields the engine takes (the OpenAI client's names). */
function samplingOf(o) {
  const r = {};
  for (const k of ["temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_tokens", "seed", "response_format", "stop", "logprobs", "top_logprobs"]) {
    if (o[k] !== undefined && o[k] !== null) r[k] = o[k];
  }
  return r;
}

/** A chat request's tool fields (OpenAI's names), checked by the engine. */
function toolsOf(o) {
  const r = {};
  for (const k of ["tools", "tool_choice", "parallel_tool_calls"]) {
    if (o[k] !== undefined && o[k] !== null) r[k] = o[k];
  }
  return r;
}

/** The assistant message of an answer: OpenAI writes `content: null` beside calls only. */
function messageOf(a) {
  if (!a.tool_calls?.length) return { role: "assistant", content: a.text };
  return { role: "assistant", content: a.text === "" ? null : a.text, tool_calls: a.tool_calls };
}

/** The last chunk's delta: the answer's calls, whole, each with its `index`. */
function callsDelta(a) {
  if (!a.tool_calls?.length) return {};
  return { tool_calls: a.tool_calls.map((c, index) => ({ index, ...c })) };
}

/** A queue of tokens read as an async iterator of chunks. */
function tokenStream(make) {
  const queue = [];
  let wake = null;
  let finished = false;
  let failure = null;
  const push = (item) => {
    queue.push(item);
    wake?.();
  };
  const result = make(push);
  result.then(
    (v) => {
      finished = true;
      push({ final: v });
    },
    (e) => {
      failure = e;
      finished = true;
      wake?.();
    },
  );
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (queue.length) {
          yield queue.shift();
          continue;
        }
        if (failure) throw failure;
        if (finished) return;
        await new Promise((r) => (wake = r));
        wake = null;
      }
    },
  };
}

function usage(a) {
  return {
    prompt_tokens: a.prompt_tokens,
    completion_tokens: a.completion_tokens,
    total_tokens: a.prompt_tokens + a.completion_tokens,
  };
}

/**
 * A module Worker running `url`. A page on another origin than hearth's files (one that
 * embeds <hearth-chat>) may not start a worker from them directly: it starts one of its
 * own that imports them (hearth's server allows any origin to read them).
 */
function startWorker(url) {
  const href = new URL(url, location.href);
  if (href.origin === location.origin) return new Worker(href, { type: "module" });
  const source = `import ${JSON.stringify(href.href)};`;
  const blob = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  return new Worker(blob, { type: "module" });
}

/**
 * Starts the engine in a Worker and loads `options.model` (a GGUF URL): from IndexedDB
 * when stored, else downloaded in chunks (resumable) and stored.
 */
export async function createEngine(options) {
  if (!options || !options.model) throw new HearthError("createEngine needs { model: URL }");
  const opts = { ...DEFAULTS, ...options };
  const model = new URL(opts.model, location.href).href;
  const worker = startWorker(opts.workerUrl || new URL("./worker.js", import.meta.url));
  const channel = new Channel(worker, opts.onProgress);
  const loadOptions = {
    contextLength: opts.contextLength,
    chunkSize: opts.chunkSize,
    parallel: opts.parallel,
    kv: opts.kv,
    backend: opts.backend,
  };
  const loading = channel.call({ type: "load", url: model, options: loadOptions }).promise;
  // aborting the load stops the worker: what it stored stays, and a later load resumes
  const stop = () => {
    worker.terminate();
    channel.failAll(new DOMException("the model's load was aborted", "AbortError"));
  };
  if (opts.signal?.aborted) stop();
  opts.signal?.addEventListener("abort", stop);
  let info;
  try {
    info = await loading;
  } finally {
    opts.signal?.removeEventListener("abort", stop);
  }
  const created = () => Math.floor(Date.now() / 1000);

  /**
   * Runs a chat or completion `req`; `shapeFinal(answer)` builds the OpenAI-like result,
   * `shapeChunk(token, final)` each streamed chunk (with `body.stream`).
   */
  function run(kind, body, req, shapeFinal, shapeChunk) {
    const signal = body.signal;
    if (!body.stream) {
      const call = channel.call({ type: kind, request: req });
      signal?.addEventListener("abort", () => worker.postMessage({ type: "abort", target: call.id }));
      return call.promise.then(shapeFinal);
    }
    return Promise.resolve(
      tokenStream((push) => {
        const call = channel.call({ type: kind, request: req }, (piece, token) =>
          push({ piece, token }),
        );
        signal?.addEventListener("abort", () => worker.postMessage({ type: "abort", target: call.id }));
        return call.promise;
      }),
    ).then((stream) => ({
      async *[Symbol.asyncIterator]() {
        for await (const item of stream) {
          yield item.final ? shapeChunk(null, item.final) : shapeChunk(item, null);
        }
      },
    }));
  }

  const engine = {
    /** Facts about the loaded model and adapter. */
    info,
    chat: {
      completions: {
        /** OpenAI-style chat completion; with `stream: true`, an async iterator of chunks. */
        create(body) {
          const id = `chatcmpl-${nextId}`;
          const request = { messages: body.messages, ...samplingOf(body), ...toolsOf(body) };
          return run("chat", body, request, (a) => ({
            id,
            object: "chat.completion",
            created: created(),
            model,
            choices: [
              {
                index: 0,
                message: messageOf(a),
                finish_reason: a.finish_reason,
                token_ids: a.token_ids,
                logprobs: a.logprobs ?? null,
              },
            ],
            usage: usage(a),
            dropped_messages: a.dropped_messages,
          }), (item, final) => ({
            id,
            object: "chat.completion.chunk",
            created: created(),
            model,
            choices: [
              final
                ? { index: 0, delta: callsDelta(final), finish_reason: final.finish_reason }
                : { index: 0, delta: { content: item.piece }, finish_reason: null, token_id: item.token },
            ],
            ...(final ? { usage: usage(final), dropped_messages: final.dropped_messages } : {}),
          }));
        },
      },
    },
    completions: {
      /** OpenAI-style text completion of `prompt` (text or token ids). */
      create(body) {
        const id = `cmpl-${nextId}`;
        const request = { prompt: body.prompt, ...samplingOf(body) };
        return run("complete", body, request, (a) => ({
          id,
          object: "text_completion",
          created: created(),
          model,
          choices: [{ index: 0, text: a.text, token_ids: a.token_ids, finish_reason: a.finish_reason, logprobs: a.logprobs ?? null }],
          usage: usage(a),
        }), (item, final) => ({
          id,
          object: "text_completion",
          created: created(),
          model,
          choices: [
            final
              ? { index: 0, text: "", finish_reason: final.finish_reason }
              : { index: 0, text: item.piece, token_ids: item.token == null ? [] : [item.token], finish_reason: null },
          ],
          ...(final ? { usage: usage(final) } : {}),
        }));
      },
    },
    /** hearth's extension: the logits after `ids` in a fresh context (for checks). */
    logits(ids) {
      return channel.call({ type: "logits", ids: Array.from(ids) }).promise;
    },
    /** For tests: destroys the GPU device as a driver reset would (the engine recovers). */
    _loseDevice() {
      return channel.call({ type: "lose-device" }).promise;
    },
    /** Token ids of `text`. */
    tokenize(text) {
      return channel.call({ type: "tokenize", text }).promise;
    },
    models: {
      /** Models stored in this browser: {url, name, title, architecture, family, size,
       * stored, complete, parts}. */
      list() {
        return channel.call({ type: "list" }).promise;
      },
      /** Deletes a stored model (unloading it if it is the one loaded). */
      delete(url) {
        return channel.call({ type: "delete", url: new URL(url, location.href).href }).promise;
      },
    },
    /** Frees the GPU and stops the worker. */
    async unload() {
      try {
        await channel.call({ type: "unload" }).promise;
      } finally {
        worker.terminate();
        channel.failAll(new HearthError("the engine was unloaded"));
      }
    },
  };

  return engine;
}
