// worker.js: the engine's thread. Loads a model (download.js into IndexedDB, then the
// stored chunks streamed through the wasm loader, one chunk in memory at a time, to the
// GPU or into the CPU engine) and runs requests, posting progress and answers back to
// hearth.js.
//
// Messages: ToWorker in, FromWorker out (protocol.d.ts, generated from hearth-protocol).
// The requests that use the engine are queued and run one at a time, in turn by tab.
// A chat or completion answers with `chunk`s (streaming) and an `answer`, both JSON text
// the engine (Rust) shaped as OpenAI's objects; the page parses each once.

// A cross-origin-isolated page (COOP/COEP: `hearth serve` sends them) has SharedArrayBuffer,
// so the CPU engine gets wasm threads from the threaded build; elsewhere the plain build
// runs it on this one thread. (A page of another origin that embeds hearth starts this
// Worker from a blob, and a Worker cannot start Workers of hearth's origin: one thread.
// A bundler's build of this file, renamed and merged with the engine's glue, has one
// thread too: the thread pool's helper starts its Workers from the glue's own module file,
// which a bundle no longer has.)
const UNBUNDLED = new URL(import.meta.url).pathname.endsWith("/worker.js");
const THREADED =
  UNBUNDLED &&
  self.crossOriginIsolated === true &&
  typeof SharedArrayBuffer === "function" &&
  new URL(import.meta.url).origin === new URL(self.location.href).origin;
/** Threads of the CPU engine: this one and, when threaded, a Web Worker per other core. */
const THREADS = THREADED ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8)) : 1;
let hw = null; // the wasm module's exports
/** Loads the wasm module (and starts the thread pool) once; resolves to its instance. */
function initWasm() {
  return (async () => {
    hw = THREADED ? threadedBuild : plainBuild;
    const instance = await hw.default();
    if (THREADED && THREADS > 1) await hw.initThreadPool(THREADS - 1);
    return instance;
  })();
}
// both builds imported statically (their glue is small; only the wasm of the one used is
// fetched), so that bundlers find them and their wasm without splitting the worker
import * as plainBuild from "./pkg/hearth_web.js";
import * as threadedBuild from "./pkg-threads/hearth_web.js";
import { adapterFacts } from "./adapter.js";
import * as download from "./download.js";
import * as store from "./store.js";
import * as snapshots from "./snapshots.js";

let engine = null;
let engineUrl = null;
let engineOptions = null;
/** What a KV snapshot of this engine fits (snapshots.js): the model's file, the backend,
 * the KV type, the bytes per position. */
let snapshotTag = null;
/** What the last snapshot save left (its tail). */
let lastSnapshot = null;
/** A reload after a lost device, while it runs. */
let reloading = null;
const aborted = new Set();
let wasmReady = null;

function post(msg) {
  self.postMessage(msg);
}

// while this Worker lives it holds a Web Lock of its name, and says so: the page then
// waits for the lock, which it gets when this Worker ends, by a crash or a kill too
if (self.name && self.navigator?.locks) {
  navigator.locks.request(`hearth-worker ${self.name}`, () => {
    post({ type: "alive" });
    return new Promise(() => {});
  });
}

function progress(phase, loaded, total, started) {
  const seconds = (performance.now() - started) / 1000;
  post({ type: "progress", phase, loaded, total, rate: seconds > 0 ? loaded / seconds : 0 });
}

/** The first bytes of the file, as many as the GGUF header needs. */
async function headerPrefix(record, ranges) {
  let have = [];
  let prefix = new Uint8Array(0);
  for (let i = 0; i < record.nChunks; i++) {
    const { bytes } = await download.readChunk(record, i, { ranges });
    have.push(new Uint8Array(bytes));
    prefix = concat(have);
    const needed = hw.header_needed(prefix, record.size);
    if (needed === 0) return prefix;
    if (needed <= prefix.length) throw new Error(`${record.url}: the GGUF header cannot be read`);
  }
  throw new Error(`${record.url}: the file ends inside its header`);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Stored chunks read ahead of the one being pushed into the engine. */
const READ_AHEAD = 3;

async function load(url, options) {
  const t0 = performance.now();
  await (wasmReady ??= initWasm());
  const tWasm = performance.now();
  if (engine) {
    engine.free();
    engine = null;
  }
  // before any byte is fetched: which engine runs here (the GPU on a hardware adapter,
  // else the CPU engine), or an error for a backend this browser cannot give
  const adapter = await adapterFacts();
  const choice = hw.choose_backend(options.backend || "auto", adapter.found, adapter.names, adapter.fallback);
  const started = performance.now();
  if (navigator.storage && navigator.storage.persist) {
    try {
      await navigator.storage.persist();
    } catch {
      // persistence is a request; the browser may say no
    }
  }
  const parts = [];
  for (const u of store.partUrls(url)) parts.push(await download.plan(u, { chunkSize: options.chunkSize }));
  const size = (r, i) => Math.min(r.chunkSize, r.size - i * r.chunkSize);
  const total = parts.reduce((n, p) => n + p.record.size, 0);
  let loaded = parts.reduce((n, p) => n + p.record.hashes.reduce((m, h, i) => m + (h ? size(p.record, i) : 0), 0), 0);
  const fetchOptions = (ranges) => ({
    ranges,
    parallel: options.parallel || 4,
    onChunk: (_, n) => {
      loaded += n;
      progress("download", loaded, total, started);
    },
  });
  progress("download", loaded, total, started);
  // the headers first: they say whether this GPU can run the model, before the weights
  // come (a host without ranges sends each whole file first)
  const prefixes = [];
  for (const { record, ranges } of parts) {
    const opts = fetchOptions(ranges);
    await download.fetchMissing(record, ranges ? { ...opts, only: [0] } : opts);
    prefixes.push(await headerPrefix(record, ranges));
  }
  const tHeaders = performance.now();
  const nCtx = options.contextLength || 2048;
  const sizes = parts.map((p) => p.record.size);
  const loader = await hw.create_loader(
    prefixes,
    sizes,
    options.kv || "auto",
    nCtx,
    choice,
    THREADS,
  );
  try {
    // the model manager shows what the header says (a partial download too)
    const facts = JSON.parse(loader.facts());
    await store.describeModel(parts[0].record.url, {
      title: facts.name,
      architecture: facts.architecture,
      family: facts.family,
    });
    for (const { record, ranges } of parts) await download.fetchMissing(record, fetchOptions(ranges));
    // the stored chunks, checked, to the engine in file order
    const spans = parts.map(({ record }, f) => [
      Math.floor(loader.needed_start(f) / record.chunkSize),
      Math.ceil(loader.needed_end(f) / record.chunkSize),
    ]);
    const loadTotal = spans.reduce((n, [a, b], f) => n + (b - a) * parts[f].record.chunkSize, 0);
    let pushed = 0;
    const loadStarted = performance.now();
    const order = parts.flatMap(({ record, ranges }, f) =>
      Array.from({ length: spans[f][1] - spans[f][0] }, (_, k) => ({ f, record, ranges, i: spans[f][0] + k })),
    );
    // the next chunks are read (and their hashes checked) while this one is pushed; a
    // read that fails is the load's error when its turn comes
    const read = (c) => {
      const r = c && download.readChunk(c.record, c.i, { ranges: c.ranges });
      r?.catch(() => {});
      return r;
    };
    const ahead = order.slice(0, READ_AHEAD).map(read);
    let pushMs = 0;
    for (let k = 0; k < order.length; k++) {
      const { f, record, i } = order[k];
      const { bytes } = await ahead.shift();
      ahead.push(read(order[k + READ_AHEAD]));
      const tPush = performance.now();
      loader.push(f, i * record.chunkSize, new Uint8Array(bytes));
      pushMs += performance.now() - tPush;
      pushed += record.chunkSize;
      progress("load", Math.min(pushed, loadTotal), loadTotal, loadStarted);
    }
    const tWeights = performance.now();
    engine = loader.finish(nCtx);
    engine.set_url(url);
    engineUrl = url;
    engineOptions = options;
    const running = JSON.parse(engine.info());
    const files = parts.map((p) => `${p.record.size}/${p.record.etag || ""}`).join(",");
    snapshotTag = JSON.stringify([url, files, running.backend, running.kv_cache, engine.kv_position_bytes()]);
    lastSnapshot = null;
    // wasm memory only grows: its size now is the load's peak
    const wasm = await wasmReady;
    const ms = (a, b) => Math.round(b - a);
    // where the load's time went: the wasm module and its threads, the plan and headers
    // (and a download), the weights from storage into the engine, the engine's set-up
    const load_ms = {
      wasm: ms(t0, tWasm),
      headers: ms(tWasm, tHeaders),
      weights: ms(loadStarted, tWeights),
      push: Math.round(pushMs),
      finish: ms(tWeights, performance.now()),
    };
    return { ...JSON.parse(engine.info()), wasm_memory_bytes: wasm.memory.buffer.byteLength, load_ms };
  } finally {
    loader.free();
  }
}

/**
 * After a lost device: a new device, and the model again from IndexedDB. The request that
 * saw the loss fails with a DeviceLostError; the next ones wait for the reload.
 */
function recover() {
  if (engine) {
    try {
      engine.free();
    } catch {
      // the old engine's GPU objects are gone with the device
    }
  }
  engine = null;
  reloading ??= load(engineUrl, engineOptions).finally(() => (reloading = null));
  reloading.catch(() => {});
}

/** Bytes the KV snapshots may take (createEngine's snapshotBudget). */
function snapshotBudget() {
  return engineOptions?.snapshotBudget ?? snapshots.BUDGET;
}

/** Runs a chat or completion; its chunks are posted as they come. Resolves to the JSON
 * text of the answer (or of a stream's last chunk). */
async function run(kind, id, request) {
  if (reloading) await reloading;
  if (!engine) throw new Error("no model is loaded");
  const onChunk = (json) => {
    if (aborted.has(id)) return false;
    if (json !== undefined) post({ type: "chunk", id, json });
    return true;
  };
  try {
    const json = JSON.stringify(request);
    if (kind === "chat" && snapshotBudget() > 0) {
      // a saved conversation's keys and values, when stored: only the new turn prefills
      await snapshots.restore(engine, snapshotTag, json).catch((e) => console.warn(`hearth: no KV snapshot restored: ${e.message}`));
    }
    return kind === "chat" ? await engine.chat(json, onChunk) : await engine.complete(json, onChunk);
  } catch (e) {
    if (/device was lost/.test(String(e?.message))) {
      recover();
      const lost = new Error(`${e.message}; the model is being reloaded from storage`);
      lost.name = "DeviceLostError";
      throw lost;
    }
    throw e;
  } finally {
    aborted.delete(id);
  }
}

/**
 * The requests that use the engine run one at a time (it answers one at a time): each
 * tab's (engine instance's, tabs.js) in the order sent, the tabs in turn, so that a tab
 * that sent many waits behind the others' next one. A request that cannot start at once
 * is told so (`waiting`, and whether another tab's runs) and then `started`.
 */
const queues = new Map(); // tab → [{ msg, waited }], the tabs in turn order
let running = null; // the tab whose request runs
let runningJobs = null; // its other requests, out of the turn while it runs

function enqueue(msg) {
  const tab = msg.tab ?? "";
  const job = { msg, waited: running !== null };
  if (tab === running) runningJobs.push(job);
  else if (queues.has(tab)) queues.get(tab).push(job);
  else queues.set(tab, [job]);
  if (job.waited) post({ type: "waiting", id: msg.id, other_tab: running !== tab });
  else drain();
}

async function drain() {
  while (queues.size) {
    const [tab, jobs] = queues.entries().next().value;
    queues.delete(tab);
    const job = jobs.shift();
    running = tab;
    runningJobs = jobs;
    if (job.waited) post({ type: "started", id: job.msg.id });
    await handle(job.msg);
    // this tab's next request goes behind the tabs waiting now
    if (jobs.length) queues.set(tab, jobs);
  }
  running = runningJobs = null;
}

self.onmessage = (event) => {
  /** @type {import("./protocol").ToWorker} */
  const msg = event.data;
  if (msg.type === "abort") {
    // a running request stops at its next token; a waiting one when its turn comes
    aborted.add(msg.target);
    post({ type: "result", id: msg.id, value: true });
  } else if (msg.type === "list") {
    handle(msg);
  } else {
    enqueue(msg);
  }
};

/** Runs one request and posts its answer or error. */
async function handle(msg) {
  const reply = (value) => post({ type: "result", id: msg.id, value });
  try {
    switch (msg.type) {
      case "load":
        reply(await load(msg.url, msg.options || {}));
        break;
      case "chat":
      case "complete":
        post({ type: "answer", id: msg.id, json: await run(msg.type, msg.id, msg.request) });
        // the context's new positions kept, before the next request uses the engine
        if (msg.type === "chat" && engine && snapshotBudget() > 0) {
          lastSnapshot = await snapshots
            .save(engine, snapshotTag, engineUrl, snapshotBudget(), lastSnapshot)
            .catch((e) => (console.warn(`hearth: no KV snapshot saved: ${e.message}`), lastSnapshot));
        }
        break;
      case "logits":
        if (!engine) throw new Error("no model is loaded");
        reply(Array.from(await engine.logits(Uint32Array.from(msg.ids))));
        break;
      case "lose-device":
        // tests only: what a driver reset does
        if (!engine) throw new Error("no model is loaded");
        engine.lose_device();
        reply(true);
        break;
      case "tokenize":
        if (!engine) throw new Error("no model is loaded");
        reply(Array.from(engine.tokenize(msg.text)));
        break;
      case "list":
        reply(await store.listStoredModels());
        break;
      case "delete":
        if (msg.url === engineUrl && engine) {
          engine.free();
          engine = null;
          engineUrl = null;
        }
        await store.deleteStoredModel(msg.url);
        reply(true);
        break;
      case "unload":
        if (engine) engine.free();
        engine = null;
        engineUrl = null;
        reply(true);
        break;
      default:
        throw new Error(`unknown message ${msg.type}`);
    }
  } catch (e) {
    post({ type: "error", id: msg.id, message: String(e && e.message ? e.message : e), name: e?.name });
  }
}
