// tabs.js: one engine for the tabs of an origin. The engine instances (createEngine, in
// any tab, window or element of this origin) that load the same model with the same
// options share one Worker: the one holding the Web Lock named after them (the owner)
// runs it; the others send their requests over a BroadcastChannel of the same name and
// get its Worker's replies (TabMessage in protocol.d.ts). The Worker takes the requests in
// turn, tab by tab (worker.js). When the owner goes (its tab closes, it unloads), the next
// instance waiting for the lock takes over: it starts a Worker, which loads the model from
// IndexedDB, and every instance sends its unanswered requests again; a stream goes on
// where it was: the pieces already delivered come again (the same request and seed give
// the same tokens), are checked against what was delivered and left out. A Worker that
// ends unexpectedly (it holds a Web Lock of its name while it lives) is replaced the same
// way, and the page is told (`restarted`).
//
// To hearth.js this is a Worker: `join` returns a port with postMessage, onmessage,
// onerror and terminate, which speaks ToWorker and FromWorker.

/** Whether this browser can share an engine between tabs (Web Locks, BroadcastChannel). */
export function available() {
  return typeof BroadcastChannel === "function" && typeof navigator !== "undefined" && !!navigator.locks;
}

/** The messages that end a request. */
const FINAL = new Set(["answer", "result", "error"]);

/** What a chunk says, for comparing a replayed stream's pieces with the delivered ones. */
const piece = (json) => JSON.stringify(JSON.parse(json).choices);

/**
 * Joins the instances sharing `name`; `start(workerName)` starts a Worker of this
 * instance's (named so), for when it owns the engine.
 */
export function join(name, start) {
  let me = crypto.randomUUID();
  const channel = new BroadcastChannel(name);
  const leaving = new AbortController();
  let owner = null; // the ready owner's id (`me` once this instance has loaded the engine)
  let ownerInfo = null; // the ready owner's engine facts
  let owning = false; // this instance holds the lock
  let worker = null; // this instance's Worker, while it owns
  let release = null; // lets the lock go
  let died = null; // says this instance's Worker ended without being told to
  let restarting = false; // a new Worker replaces one that ended
  let loadMsg = null; // the load message hearth.js sent (url, options)
  let load = null; // the same until it is answered
  let loadAsked;
  const asked = new Promise((r) => (loadAsked = r));
  /** This instance's unanswered requests: id → { msg, delivered: [piece], replayed, aborted }. */
  const pending = new Map();
  /** Owner: what its Worker's ids stand for: local id → { from, id } (from null: its load). */
  const calls = new Map();
  /** Owner: a sender's request id → the local one. */
  const localOf = new Map();
  let nextLocal = 1;
  let onLoaded = null;

  const port = { onmessage: null, onerror: null, postMessage: (msg) => ask(msg), terminate: () => leave() };
  const toPage = (msg) => port.onmessage?.({ data: msg });
  const broadcast = (msg) => channel.postMessage(msg);

  /** A message from the page (hearth.js). */
  function ask(msg) {
    switch (msg.type) {
      case "load":
        loadMsg = load = msg;
        loadAsked();
        answerLoad();
        return;
      case "unload":
        // the engine is not this instance's alone: leaving (terminate) lets it go
        toPage({ type: "result", id: msg.id, value: true });
        return;
      case "abort": {
        const p = pending.get(msg.target);
        toPage({ type: "result", id: msg.id, value: true });
        if (p) {
          p.aborted = true;
          sendAbort(msg.target);
        }
        return;
      }
    }
    pending.set(msg.id, { msg, delivered: [], replayed: 0, aborted: false });
    send(msg.id);
  }

  /** Answers the page's load once an owner is ready. */
  function answerLoad() {
    if (!load || !ownerInfo) return;
    toPage({ type: "result", id: load.id, value: ownerInfo });
    load = null;
  }

  /** Sends request `id` to the ready owner (none yet: when one is). */
  function send(id) {
    const p = pending.get(id);
    if (!p || !owner) return;
    const msg = { ...p.msg, tab: me };
    if (owner === me) forward(me, msg);
    else broadcast({ type: "call", from: me, to: owner, call: msg });
    if (p.aborted) sendAbort(id);
  }

  function sendAbort(target) {
    const msg = { type: "abort", id: 0, target };
    if (owner === me) forward(me, msg);
    else if (owner) broadcast({ type: "call", from: me, to: owner, call: msg });
  }

  /** Sends every unanswered request again (a new owner): their streams replay. */
  function resendAll() {
    for (const [id, p] of pending) {
      p.replayed = 0;
      send(id);
    }
  }

  /** No engine to answer: the load (if unanswered) and every waiting request fail. */
  function failAll(message, name) {
    if (load) toPage({ type: "error", id: load.id, message, name });
    load = null;
    for (const id of pending.keys()) toPage({ type: "error", id, message: `the model could not be loaded: ${message}`, name });
    pending.clear();
  }

  /** A reply to one of this instance's requests. */
  function deliver(reply) {
    const p = pending.get(reply.id);
    if (!p) return;
    if (reply.type === "chunk") {
      const text = piece(reply.json);
      if (p.replayed < p.delivered.length) {
        // a stream sent again to a new owner: what was delivered comes first, and once
        if (text !== p.delivered[p.replayed++]) {
          pending.delete(reply.id);
          sendAbort(reply.id);
          const message = "the answer could not go on after the model moved to another tab (it came out differently): ask again";
          toPage({ type: "error", id: reply.id, message, name: "EngineMovedError" });
        }
        return;
      }
      p.delivered.push(text);
      p.replayed = p.delivered.length;
    }
    if (FINAL.has(reply.type)) pending.delete(reply.id);
    toPage(reply);
  }

  /** Owner: runs `msg` (its id the sender's) on this instance's Worker. */
  function forward(from, msg) {
    if (msg.type === "abort") {
      const local = localOf.get(`${from} ${msg.target}`);
      if (local) worker.postMessage({ type: "abort", id: nextLocal++, target: local });
      return;
    }
    const local = nextLocal++;
    calls.set(local, { from, id: msg.id });
    localOf.set(`${from} ${msg.id}`, local);
    worker.postMessage({ ...msg, id: local });
  }

  /** Owner: a message from this instance's Worker. */
  function fromWorker(msg, workerName) {
    if (msg.type === "alive") {
      // the Worker holds a lock of its name while it lives: granted to us, it has ended
      navigator.locks.request(`hearth-worker ${workerName}`, { signal: leaving.signal }, () => died?.()).catch(() => {});
      return;
    }
    if (msg.type === "progress") {
      toPage(msg);
      const { type: _, ...progress } = msg;
      broadcast({ type: "progress", from: me, progress });
      return;
    }
    const call = calls.get(msg.id);
    if (!call) return;
    if (FINAL.has(msg.type)) {
      calls.delete(msg.id);
      localOf.delete(`${call.from} ${call.id}`);
    }
    if (call.from === null) onLoaded(msg);
    else if (call.from === me) deliver({ ...msg, id: call.id });
    else broadcast({ type: "reply", to: call.from, reply: { ...msg, id: call.id } });
  }

  /** This instance holds the lock: it runs the engine until it lets it go. A Worker that
   * ends without being told to (a crash, the browser killing it) is replaced: a new one
   * loads the model from IndexedDB, and the requests under way are sent again. */
  async function own() {
    await asked;
    owning = true;
    while (!leaving.signal.aborted && (await runEngine()) === "died") {
      restarting = true;
      // a new identity: the other instances then send their requests again too
      me = crypto.randomUUID();
      owner = null;
      calls.clear();
      localOf.clear();
    }
    owning = false;
  }

  /** Starts a Worker and loads the model (from IndexedDB when stored); resolves to how
   * it ended: "left", "died" or "failed" (the load). */
  async function runEngine() {
    if (leaving.signal.aborted) return "left";
    const workerName = crypto.randomUUID();
    worker = start(workerName);
    worker.onmessage = (e) => fromWorker(e.data, workerName);
    worker.onerror = (e) => port.onerror?.(e);
    const ended = new Promise((r) => {
      release = () => r("left");
      died = () => r("died");
    });
    const id = nextLocal++;
    calls.set(id, { from: null, id });
    const loaded = new Promise((r) => (onLoaded = r));
    worker.postMessage({ ...loadMsg, id });
    const result = await Promise.race([loaded, ended.then((how) => ({ type: how }))]);
    if (result.type === "left" || result.type === "died") return result.type;
    if (result.type === "error") {
      broadcast({ type: "failed", from: me, message: result.message, name: result.name });
      failAll(result.message, result.name);
      worker.terminate();
      worker = null;
      return "failed";
    }
    owner = me;
    ownerInfo = result.value;
    broadcast({ type: "ready", from: me, info: ownerInfo });
    if (restarting) {
      restarting = false;
      toPage({ type: "restarted", message: "The engine's Worker stopped unexpectedly; a new one loaded the model from this browser's storage." });
    }
    answerLoad();
    // what was asked of the owner before, again
    resendAll();
    return ended;
  }

  channel.onmessage = (e) => {
    /** @type {import("./protocol").TabMessage} */
    const m = e.data;
    switch (m.type) {
      case "hello":
        if (owner === me) broadcast({ type: "ready", from: me, info: ownerInfo });
        break;
      case "ready":
        if (owning || m.from === owner) break;
        owner = m.from;
        ownerInfo = m.info;
        answerLoad();
        resendAll();
        break;
      case "progress":
        if (!owning) toPage({ type: "progress", ...m.progress });
        break;
      case "failed":
        if (!owning) failAll(m.message, m.name);
        break;
      case "call":
        if (m.to === me && owner === me) forward(m.from, m.call);
        break;
      case "reply":
        if (m.to === me) deliver(m.reply);
        break;
    }
  };

  function leave() {
    leaving.abort();
    worker?.terminate();
    worker = null;
    release?.();
    channel.close();
  }

  // the lock at once if no one holds it; else ask its owner, and wait in line for it
  navigator.locks
    .request(name, { ifAvailable: true }, (lock) => (lock ? own() : null))
    .then((free) => {
      if (free !== null || leaving.signal.aborted) return;
      broadcast({ type: "hello", from: me });
      return navigator.locks.request(name, { signal: leaving.signal }, () => own());
    })
    .catch(() => {});
  return port;
}
