//! The GGUF header from a prefix of the file, then the file's bytes streamed to the GPU.

use hearth_gguf::{Gguf, GgufError};
use hearth_gpu::kernels::KvType;
use hearth_gpu::{Gpu, StreamLoader};
use hearth_model::chat_template::ChatTemplate;
use hearth_model::tokenizer::Tokenizer;
use wasm_bindgen::prelude::*;

use crate::WebEngine;

/// How many bytes of the file the header needs: 0 when `prefix` holds all of it, else the
/// length of the prefix to fetch (an error when the file is not a GGUF or is corrupt).
#[wasm_bindgen]
pub fn header_needed(prefix: &[u8], file_len: f64) -> Result<f64, JsError> {
    match Gguf::read_header(prefix, file_len as u64) {
        Ok(_) => Ok(0.0),
        Err(GgufError::Truncated { needed, .. }) if needed <= file_len as u64 => Ok(needed as f64),
        Err(e) => Err(JsError::new(&e.to_string())),
    }
}

/// Opens the GPU and plans the load of the model whose header is in `prefix` (the file
/// is `file_len` bytes): architecture, tensor shapes and GPU limits are checked here,
/// before the weights are fetched. `kv` is "auto", "f32" or "f16".
#[wasm_bindgen]
pub async fn create_loader(prefix: &[u8], file_len: f64, kv: &str) -> Result<WebLoader, JsError> {
    let gguf = Gguf::read_header(prefix, file_len as u64).map_err(js)?;
    let tokenizer = Tokenizer::from_gguf(&gguf.metadata).map_err(js)?;
    let template = ChatTemplate::from_gguf(&gguf.metadata).map_err(js)?;
    let mut gpu = Gpu::new().await.map_err(js)?;
    match kv {
        "auto" => {}
        "f32" => gpu.kv_type = KvType::F32,
        "f16" => gpu.kv_type = KvType::F16,
        other => {
            return Err(JsError::new(&format!(
                "kv must be auto, f32 or f16, not {other:?}"
            )));
        }
    }
    let name = gguf
        .metadata
        .str("general.name")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_string();
    let loader = StreamLoader::new(gpu, gguf).map_err(js)?;
    Ok(WebLoader {
        loader: Some(loader),
        tokenizer: Some(tokenizer),
        template: Some(template),
        name,
    })
}

/// A model being loaded: push the file's bytes in order, then [`WebLoader::finish`].
#[wasm_bindgen]
pub struct WebLoader {
    loader: Option<StreamLoader>,
    tokenizer: Option<Tokenizer>,
    template: Option<ChatTemplate>,
    name: String,
}

#[wasm_bindgen]
impl WebLoader {
    /// First byte of the file the model needs.
    pub fn needed_start(&self) -> f64 {
        self.loader.as_ref().map_or(0, |l| l.needed().start) as f64
    }

    /// End of the bytes the model needs.
    pub fn needed_end(&self) -> f64 {
        self.loader.as_ref().map_or(0, |l| l.needed().end) as f64
    }

    /// Takes the file's bytes from `offset` on (bytes already taken are skipped).
    pub fn push(&mut self, offset: f64, bytes: &[u8]) -> Result<(), JsError> {
        let loader = self
            .loader
            .as_mut()
            .ok_or_else(|| JsError::new("the loader is finished"))?;
        loader.push(offset as u64, bytes).map_err(js)
    }

    /// Whether every needed byte has arrived.
    pub fn is_complete(&self) -> bool {
        self.loader.as_ref().is_some_and(|l| l.is_complete())
    }

    /// The loaded engine, with a context of `n_ctx` positions (at most the model's own).
    pub fn finish(&mut self, n_ctx: usize) -> Result<WebEngine, JsError> {
        let (Some(loader), Some(tok), Some(template)) = (
            self.loader.take(),
            self.tokenizer.take(),
            self.template.take(),
        ) else {
            return Err(JsError::new("the loader is finished"));
        };
        let model = loader.finish().map_err(js)?;
        WebEngine::new(model, tok, template, std::mem::take(&mut self.name), n_ctx).map_err(js)
    }
}

/// Any displayable error as a JS `Error`.
pub(crate) fn js(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}
