//! hearth-web: hearth in the browser, one wasm module with two entry points. In the
//! engine's Worker (`web/src/worker.js`), it parses the untrusted GGUF header, streams the
//! model's bytes to the GPU without holding the model ([`WebLoader`]), and runs chats and
//! completions ([`WebEngine`]); requests and answers cross as JSON strings. On the page,
//! it renders the chat UI of `<hearth-chat>` ([`ChatUi`], Markdown through [`markdown`]).

mod engine;
mod loader;
pub mod markdown;
pub mod ui;

pub use engine::WebEngine;
pub use loader::{WebLoader, choose_backend, create_loader, header_needed};
pub use ui::ChatUi;
pub use ui::stream_render::stream_render;
/// The threaded build's `initThreadPool(n)`: starts n Web Workers for the CPU engine's
/// pool (call it once, in the engine's Worker, before loading a model).
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;
