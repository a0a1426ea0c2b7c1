//! hearth-web: the GPU engine compiled to WebAssembly, for the browser's Worker
//! (`web/src/worker.js`). The Worker fetches and stores the model's bytes; this crate
//! parses the untrusted GGUF header, streams the bytes to the GPU without holding the
//! model ([`WebLoader`]), and runs chats and completions ([`WebEngine`]). Requests and
//! answers cross the boundary as JSON strings.

mod engine;
mod loader;

pub use engine::WebEngine;
pub use loader::{WebLoader, create_loader, header_needed};
