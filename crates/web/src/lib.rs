//! hearth-web: hearth's engine in the browser, the wasm module of the engine's Worker
//! (`web/src/worker.js`): it parses the untrusted GGUF header, streams the model's bytes to
//! the GPU or the CPU engine without holding the model ([`WebLoader`]), and runs chats and
//! completions ([`WebEngine`]), answering in OpenAI's shapes (hearth_protocol::openai).
//! The page never loads it: its UI is hearth-ui, a module of its own.

mod engine;
mod loader;

pub use engine::WebEngine;
pub use loader::{WebLoader, choose_backend, create_loader, header_needed};
/// The threaded build's `initThreadPool(n)`: starts n Web Workers for the CPU engine's
/// pool (call it once, in the engine's Worker, before loading a model).
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;
