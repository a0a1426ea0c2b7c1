//! The messages between the page (`web/src/hearth.js`) and the engine's Worker
//! (`web/src/worker.js`, which runs hearth-web's wasm): requests by id, and what comes back
//! for them. Both ends are JavaScript glue; this is their one declaration, generated into
//! `web/src/protocol.d.ts`, which both check against (`// @ts-check`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Request;

/// How `load` fetches and runs a model (createEngine's options, defaults in hearth.js).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LoadOptions {
    /// Context positions (at most the model's own).
    pub context_length: u32,
    /// Bytes per downloaded chunk.
    pub chunk_size: u32,
    /// Chunks fetched at once.
    pub parallel: u32,
    /// KV cache type on the GPU.
    #[cfg_attr(test, ts(type = "\"auto\" | \"f32\" | \"f16\""))]
    pub kv: String,
    /// Which engine runs the model.
    #[cfg_attr(test, ts(type = "\"auto\" | \"gpu\" | \"cpu\""))]
    pub backend: String,
    /// Bytes the conversations' KV snapshots may take in IndexedDB (snapshots.js; 0:
    /// none kept; absent: its default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub snapshot_budget: Option<u64>,
}

/// A message to the Worker. Each has an `id`; its answer carries the same one. The
/// Worker runs the ones that use the engine one at a time, in turn by `tab` (see
/// [`FromWorker::Waiting`]).
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToWorker {
    /// Download (resumably, into IndexedDB) and load the GGUF at `url`; answered with the
    /// [`EngineInfo`].
    Load {
        id: u32,
        url: String,
        options: LoadOptions,
    },
    /// A chat turn: `chunk` messages when `request.stream`, then its `answer`. `tab`:
    /// the engine instance it comes from, when several share this Worker (tabs.js).
    Chat {
        id: u32,
        request: Request,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        tab: Option<String>,
    },
    /// A text completion, streamed as a chat is.
    Complete {
        id: u32,
        request: Request,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        tab: Option<String>,
    },
    /// Stops request `target` (it answers with finish_reason "abort").
    Abort { id: u32, target: u32 },
    /// The token ids of `text`.
    Tokenize { id: u32, text: String },
    /// The logits after `ids` in a fresh context.
    Logits { id: u32, ids: Vec<u32> },
    /// The models stored in this browser.
    List { id: u32 },
    /// Deletes a stored model (unloading it if it is the one loaded).
    Delete { id: u32, url: String },
    /// Frees the engine.
    Unload { id: u32 },
    /// Tests only: destroys the GPU device, as a driver reset would.
    LoseDevice { id: u32 },
}

/// A message from the Worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromWorker {
    /// How far a load is (not tied to a request).
    Progress(Progress),
    /// A streamed piece of request `id`: the JSON text of a `ChatCompletionChunk` or a
    /// `TextCompletion` (parsed once, on the page).
    Chunk { id: u32, json: String },
    /// The end of a chat or completion: the JSON text of its `ChatCompletion` or
    /// `TextCompletion` (a stream's last chunk when it streamed).
    Answer { id: u32, json: String },
    /// Request `id` waits its turn behind another (the engine answers one at a time,
    /// taking the waiting requests in turn from each tab); `other_tab`: the one running
    /// now is another tab's (or another engine instance's).
    Waiting { id: u32, other_tab: bool },
    /// Request `id` has its turn (after `waiting`).
    Started { id: u32 },
    /// The Worker holds the Web Lock `hearth-worker <its name>` while it lives (sent
    /// once, at its start): whoever waits for that lock learns of its end.
    Alive,
    /// Not from the Worker but from tabs.js's port to it: the Worker ended unexpectedly
    /// and a new one took over with the model from IndexedDB.
    Restarted { message: String },
    /// The result of any other request.
    Result {
        id: u32,
        #[cfg_attr(test, ts(type = "unknown"))]
        value: Value,
    },
    /// Request `id` failed; `name` is the error's (e.g. "QuotaExceededError").
    Error {
        id: u32,
        message: String,
        #[cfg_attr(test, ts(optional))]
        name: Option<String>,
    },
}

/// A load's progress.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Progress {
    /// "download": bytes fetched into IndexedDB; "load": bytes streamed into the engine.
    #[cfg_attr(test, ts(type = "\"download\" | \"load\""))]
    pub phase: String,
    pub loaded: f64,
    pub total: f64,
    /// Bytes per second since the phase began.
    pub rate: f64,
}

/// Facts about a loaded model and the engine that runs it (`engine.info`).
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct EngineInfo {
    pub name: String,
    /// `general.architecture` ("gemma3").
    pub architecture: String,
    /// Its family ("Gemma 3").
    pub family: String,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_vocab: usize,
    pub n_ctx: usize,
    /// The engine that runs the model.
    #[cfg_attr(test, ts(type = "\"gpu\" | \"cpu\""))]
    pub backend: &'static str,
    /// Why that engine: "a hardware WebGPU adapter", "this browser offers no WebGPU
    /// adapter", "the WebGPU adapter is a software rasteriser (…)", "asked for".
    pub backend_reason: String,
    #[cfg_attr(test, ts(type = "\"F32\" | \"F16\""))]
    pub kv_cache: String,
    /// Weight bytes read per token.
    pub weight_bytes: u64,
    /// GPU: the adapter.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub adapter: Option<String>,
    /// GPU: the decode matvec: "rowwise" on CPU rasterisers such as SwiftShader,
    /// "subgroup" where the adapter has subgroups, else "shared".
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "\"rowwise\" | \"subgroup\" | \"shared\""))]
    pub matvec: Option<&'static str>,
    /// GPU: pipelines created at load: every one a chat uses, compiled by the GPU from the
    /// load's end on (while the first message is written).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub pipelines: Option<usize>,
    /// CPU: threads the engine runs on, and why not more.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub threads: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub threads_note: Option<&'static str>,
    /// CPU: the kernels' instruction set ("simd128" in browsers).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub isa: Option<&'static str>,
    /// Added by the Worker: wasm memory after loading (its peak: it only grows).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub wasm_memory_bytes: Option<u64>,
    /// Added by the Worker: where loading took its time, in ms: the wasm module (and its
    /// threads), the plan and headers (a download included, on a first visit), the
    /// weights from storage into the engine (of which `push`: the engine taking the
    /// bytes), and the engine's set-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        test,
        ts(
            optional,
            type = "{ wasm: number; headers: number; weights: number; push: number; finish: number }"
        )
    )]
    pub load_ms: Option<Value>,
}
