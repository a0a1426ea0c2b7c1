// hearth-chat.js: the <hearth-chat> custom element. An embedding page needs only
//   <script type="module" src=".../hearth-chat.js"></script>
//   <hearth-chat model="URL of a GGUF"></hearth-chat>
// Attributes: model, system-prompt, theme (light | dark | auto), catalog (the URL of a
// JSON list of recommended models, shown in Models: docs/web.md), backend. Events (bubbling,
// composed): ready {info}, progress {phase, loaded, total, rate}, message {role, content},
// error {message}. The UI is rendered by hearth-ui's ChatUi (Rust, a small wasm module) into the
// element's shadow root, so page styles and the chat's styles stay apart; the engine runs
// in a Worker through hearth.js. Types: hearth.d.ts.
import { adapterFacts } from "./adapter.js";
import { createEngine } from "./hearth.js";
import * as store from "./store.js";
import init, { ChatUi, set_highlighter } from "./pkg-ui/hearth_ui.js";

let wasm = null;
let highlighter = null;

/** Loads the code blocks' syntax highlighter (syntax.js, Prism) once, after the first
 * paint: the chat is drawn without it, and code shows plain until it is there. */
function loadHighlighter() {
  highlighter ??= new Promise((painted) => requestAnimationFrame(() => setTimeout(painted)))
    .then(() => import("./syntax.js"))
    .then((m) => set_highlighter(m.tokenize, m.languages()));
  return highlighter;
}

/** The most of a catalog file read (hearth-ui's catalog::MAX_BYTES, which says it is too
 * long beyond). */
const CATALOG_BYTES = 256 * 1024;

/** A response's text, read up to `limit` bytes. */
async function boundedText(response, limit) {
  const reader = response.body.getReader();
  const parts = [];
  let n = 0;
  while (n < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value.subarray(0, limit - n));
    n += value.length;
  }
  reader.cancel().catch(() => {});
  return new TextDecoder().decode(await new Blob(parts).arrayBuffer());
}

/** What the browser says of this device, for the catalog's fit marks (hearth-ui decides):
 * the WebGPU adapter and the device's memory. */
async function deviceFacts() {
  const a = await adapterFacts();
  return { adapter: a.found, adapter_names: a.names, fallback: a.fallback, memory_gib: navigator.deviceMemory ?? null };
}

class HearthChat extends HTMLElement {
  static observedAttributes = ["model", "system-prompt", "theme"];

  #ui = null;
  #engine = null;
  #abort = null;
  #loading = null;
  #loadAbort = null;
  #unloaded = false;
  #catalogRead = null;

  connectedCallback() {
    if (!this.shadowRoot) {
      this.#start(this.attachShadow({ mode: "open" }));
    } else if (this.#unloaded) {
      // back in a page after a removal: the model comes back from IndexedDB
      this.#unloaded = false;
      this.#load();
    }
  }

  disconnectedCallback() {
    // a move within the page reconnects at once; only a real removal frees the GPU
    queueMicrotask(() => {
      if (this.isConnected || !this.#ui) return;
      this.#unloaded = true;
      this.#loading = null;
      this.#loadAbort?.abort();
      this.#abort?.abort();
      this.#engine?.unload();
      this.#engine = null;
      this.#ui.failed("Unloaded: the element left the page.");
    });
  }

  attributeChangedCallback(name, old, value) {
    if (!this.#ui) return;
    if (name === "theme") this.#ui.set_theme(value || "auto");
    if (name === "system-prompt") this.#ui.set_system_prompt(value || "");
    if (name === "model" && old !== value) this.#load();
  }

  /** The loaded engine (hearth.js's API), for pages that want it too; null until ready. */
  get engine() {
    return this.#engine;
  }

  #emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  async #start(root) {
    await (wasm ??= init({ module_or_path: new URL("./pkg-ui/hearth_ui_bg.wasm", import.meta.url) }));
    const host = {
      chat: (request, onDelta) => this.#chat(request, onDelta),
      stop: () => this.#abort?.abort(),
      emit: (name, detail) => this.#emit(name, JSON.parse(detail)),
      conversations: async () => JSON.stringify(await store.listConversations()),
      save_conversation: (json) => store.putConversation(JSON.parse(json)),
      delete_conversation: (id) => store.deleteConversation(id),
      models: async () => {
        const [models, estimate, catalog, device, snapshots] = await Promise.all([
          store.listStoredModels(),
          navigator.storage?.estimate?.().catch(() => ({})) ?? {},
          this.#catalog(),
          deviceFacts(),
          store.snapshotsWhere().catch(() => []),
        ]);
        const snapshot_bytes = snapshots.reduce((n, s) => n + s.size, 0);
        return JSON.stringify({ models, usage: estimate.usage ?? null, quota: estimate.quota ?? null, current: this.#modelUrl(), ...catalog, device, snapshot_bytes });
      },
      use_model: (url) => (this.getAttribute("model") === url ? this.#load() : this.setAttribute("model", url)),
      delete_model: async (url) => {
        if (url === this.#modelUrl()) {
          this.#loading = null;
          this.#loadAbort?.abort();
          await this.#engine?.unload();
          this.#engine = null;
          this.#ui.failed("The model in use was deleted: pick or add one in Models.");
        }
        await store.deleteStoredModel(url);
      },
      pause: () => this.#loadAbort?.abort(),
      resume: () => this.#load(),
    };
    this.#ui = ChatUi.mount(root, host, new URL("./hearth-chat.css", import.meta.url).href);
    this.#ui.set_theme(this.getAttribute("theme") || "auto");
    this.#ui.set_system_prompt(this.getAttribute("system-prompt") || "");
    loadHighlighter().then(
      () => this.#ui?.redraw_code(),
      (e) => console.warn("hearth: code stays plain, the highlighter did not load:", e),
    );
    await this.#load();
  }

  /** The catalog attribute's file, as text for the UI to parse (hearth-ui's catalog.rs),
   * read once and at most CATALOG_BYTES + 1 bytes of it. */
  #catalog() {
    const attr = this.getAttribute("catalog");
    if (!attr) return Promise.resolve({});
    const base = new URL(attr, document.baseURI).href;
    this.#catalogRead ??= (async () => {
      try {
        const response = await fetch(base);
        if (!response.ok) return { catalog_error: `HTTP ${response.status} from ${base}` };
        return { catalog: await boundedText(response, CATALOG_BYTES + 1), catalog_base: base };
      } catch (e) {
        this.#catalogRead = null;
        return { catalog_error: `${base}: ${e.message}` };
      }
    })();
    return this.#catalogRead;
  }

  /** The absolute URL of the model attribute ("" without one). */
  #modelUrl() {
    const model = this.getAttribute("model");
    return model ? new URL(model, document.baseURI).href : "";
  }

  async #load() {
    const url = this.#modelUrl();
    const fail = (message) => {
      this.#ui.failed(message);
      this.#emit("error", { message });
    };
    if (!url) return fail("No model: set the element's model attribute to a GGUF URL.");
    // one load at a time: a new one (another model, or Resume) stops the one running
    this.#loadAbort?.abort();
    const abort = (this.#loadAbort = new AbortController());
    this.#ui.loading();
    let downloaded = { loaded: 0, total: 0 };
    const previous = this.#loading;
    const loading = (this.#loading = (async () => {
      await previous?.catch(() => {});
      await this.#engine?.unload();
      this.#engine = null;
      const engine = await createEngine({
        model: url,
        backend: this.getAttribute("backend") || "auto",
        signal: abort.signal,
        onProgress: (p) => {
          if (this.#loading !== loading) return;
          if (p.phase === "download") downloaded = p;
          this.#ui.progress(p.phase, p.loaded, p.total, p.rate);
          this.#emit("progress", p);
        },
        // a new Worker took over (the answer under way goes on): the UI says what happened
        onRestart: (message) => {
          this.#ui.ready(JSON.stringify({ ...this.#engine.info, url }));
          this.#ui.restarted(message);
        },
      });
      if (this.#loading !== loading) return engine.unload();
      this.#engine = engine;
      this.#ui.ready(JSON.stringify({ ...engine.info, url }));
      this.#emit("ready", engine.info);
    })());
    try {
      await loading;
    } catch (e) {
      if (this.#loading !== loading) return;
      if (e.name === "AbortError") this.#ui.paused(downloaded.loaded, downloaded.total);
      else fail(`The model could not be loaded: ${e.message}`);
    }
  }

  /** Runs a chat request for the UI, streaming pieces to `onDelta`. */
  async #chat(request, onDelta) {
    if (!this.#engine) throw new Error("no model is loaded");
    const abort = (this.#abort = new AbortController());
    // (the engine may be another tab's, answering that tab first: the UI says so)
    const onWait = (w) => this.#ui.waiting(w.waiting && w.otherTab);
    const stream = await this.#engine.chat.completions.create({ ...JSON.parse(request), stream: true, signal: abort.signal, onWait });
    let final = {};
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c.delta?.content) onDelta(c.delta.content);
      if (c.finish_reason) final = { finish_reason: c.finish_reason, ...chunk.usage, dropped_messages: chunk.dropped_messages };
    }
    return JSON.stringify(final);
  }
}

if (!customElements.get("hearth-chat")) customElements.define("hearth-chat", HearthChat);
