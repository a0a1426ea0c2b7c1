// hearth.js: the JavaScript API, shaped like the OpenAI client. The engine runs in a
// dedicated Worker (worker.js); this module only posts messages, so the page's thread is
// never blocked. What crosses is hearth-protocol's (protocol.d.ts, generated from Rust):
// a request goes to the engine as the caller wrote it (the engine reads the fields it
// knows) and comes back already in OpenAI's shape, as JSON text parsed once here. The
// instances of one origin that load the same model with the same options share one
// engine (tabs.js): the first runs the Worker, the others reach it over a BroadcastChannel.
//
//   import { createEngine } from "/hearth.js";
//   const engine = await createEngine({ model: URL, onProgress: p => {} });
//   const r = await engine.chat.completions.create({ messages, stream: false });
//
// Types: hearth.d.ts.

import * as tabs from "./tabs.js";

/** Defaults of createEngine's options. */
const DEFAULTS = { contextLength: 2048, chunkSize: 4 << 20, parallel: 4, kv: "auto", backend: "auto", share: true };

let nextId = 1;

/** An error from the engine, with the engine's own name (e.g. "QuotaExceededError"). */
class HearthError extends Error {
  constructor(message, name) {
    super(message);
    this.name = name && name !== "Error" ? name : "HearthError";
  }
}

/** Talks to one worker (or tabs.js's port to a shared one): requests by id, with their
 * token streams. */
class Channel {
  constructor(worker, onProgress) {
    this.worker = worker;
    this.pending = new Map();
    this.onProgress = onProgress;
    worker.onmessage = (e) => this.receive(e.data);
    worker.onerror = (e) => this.failAll(new HearthError(e.message || "the engine's worker failed"));
  }

  /** @param {import("./protocol").FromWorker} msg */
  receive(msg) {
    if (msg.type === "progress") {
      this.onProgress?.({ phase: msg.phase, loaded: msg.loaded, total: msg.total, rate: msg.rate });
      return;
    }
    if (msg.type === "restarted") {
      this.onRestart?.(msg.message);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === "waiting" || msg.type === "started") {
      p.onWait?.(msg.type === "waiting" ? { waiting: true, otherTab: msg.other_tab } : { waiting: false });
    } else if (msg.type === "chunk") {
      p.onChunk?.(JSON.parse(msg.json));
    } else if (msg.type === "answer" || msg.type === "result") {
      this.pending.delete(msg.id);
      p.resolve(msg.type === "answer" ? JSON.parse(msg.json) : msg.value);
    } else if (msg.type === "error") {
      this.pending.delete(msg.id);
      p.reject(new HearthError(msg.message, msg.name));
    }
  }

  failAll(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Posts `message` (a ToWorker less its id); `onChunk` gets a stream's chunks,
   * `onWait` whether it waits its turn behind another request. */
  call(message, onChunk, onWait) {
    const id = nextId++;
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onChunk, onWait });
    });
    this.worker.postMessage({ ...message, id });
    return { id, promise };
  }
}

/** A request for the Worker: the caller's body less what cannot cross (`signal`,
 * `onWait`). */
function requestOf(body) {
  const { signal: _, onWait: __, ...request } = body;
  return request;
}

/** Chunks pushed as they come, read as an async iterator (the last: the answer's). */
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

/**
 * The engine's module Worker: worker.js next to this module, or `url`. Written as
 * `new Worker(new URL("./worker.js", import.meta.url), …)` so that bundlers (Vite, webpack,
 * Parcel) find the worker and bundle it with its imports and the wasm. A page on another
 * origin than hearth's files (one that embeds <hearth-chat> from a CDN) may not start a
 * worker from them directly: it starts one of its own that imports them (hearth's server
 * allows any origin to read them).
 */
function startWorker(url, name) {
  // (the string form of worker.js's URL, which bundlers leave alone)
  const href = new URL(url ?? import.meta.url.replace(/[^/]*$/, "worker.js"), location.href);
  if (href.origin !== location.origin) {
    const source = `import ${JSON.stringify(href.href)};`;
    const blob = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    return new Worker(blob, { type: "module", name });
  }
  if (url) return new Worker(href, { type: "module", name });
  return new Worker(new URL("./worker.js", import.meta.url), { type: "module", name });
}

/** The name of the Web Lock and BroadcastChannel of the instances that can share an
 * engine: the same model, backend, KV cache type and context. */
function shareName(model, o) {
  return `hearth-engine ${JSON.stringify([model, o.backend, o.kv, o.contextLength])}`;
}

/**
 * Starts the engine in a Worker and loads `options.model` (a GGUF URL): from IndexedDB
 * when stored, else downloaded in chunks (resumable) and stored. Another instance of
 * this origin (a tab, an element) that runs the same model with the same options is
 * joined instead (`share: false` starts a Worker of this instance's own).
 */
export async function createEngine(options) {
  if (!options || !options.model) throw new HearthError("createEngine needs { model: URL }");
  const opts = { ...DEFAULTS, ...options };
  const model = new URL(opts.model, location.href).href;
  const loadOptions = {
    contextLength: opts.contextLength,
    chunkSize: opts.chunkSize,
    parallel: opts.parallel,
    kv: opts.kv,
    backend: opts.backend,
    ...(opts.snapshotBudget !== undefined && { snapshotBudget: opts.snapshotBudget }),
  };
  const own = (name) => startWorker(opts.workerUrl, name);
  // (not shared: a lock of its own, for the same watch over its Worker)
  const name = opts.share ? shareName(model, loadOptions) : `hearth-engine ${crypto.randomUUID()}`;
  const worker = tabs.available() ? tabs.join(name, own) : own();
  const channel = new Channel(worker, opts.onProgress);
  channel.onRestart = opts.onRestart;
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
  } catch (e) {
    worker.terminate();
    throw e;
  } finally {
    opts.signal?.removeEventListener("abort", stop);
  }
  /** Runs a chat or completion: the engine's answer, or with `body.stream` an async
   * iterator of its chunks. */
  function run(kind, body) {
    const signal = body.signal;
    const abort = (call) => signal?.addEventListener("abort", () => worker.postMessage({ type: "abort", id: nextId++, target: call.id }));
    if (!body.stream) {
      const call = channel.call({ type: kind, request: requestOf(body) }, null, body.onWait);
      abort(call);
      return call.promise;
    }
    return Promise.resolve(
      tokenStream((push) => {
        const call = channel.call({ type: kind, request: requestOf(body) }, push, body.onWait);
        abort(call);
        return call.promise;
      }),
    ).then((stream) => ({
      async *[Symbol.asyncIterator]() {
        for await (const item of stream) yield item.final ?? item;
      },
    }));
  }

  const engine = {
    /** Facts about the loaded model and adapter. */
    info,
    chat: {
      completions: {
        /** OpenAI-style chat completion; with `stream: true`, an async iterator of chunks. */
        create: (body) => run("chat", body),
      },
    },
    completions: {
      /** OpenAI-style text completion of `prompt` (text or token ids). */
      create: (body) => run("complete", body),
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
