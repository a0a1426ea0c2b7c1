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

/// Opens the GPU and plans the load of the model whose file headers are in `prefixes`
/// (one Uint8Array per file: one, or each part of a split GGUF in order; file `i` is
/// `file_lens[i]` bytes): architecture, tensor shapes and GPU limits are checked here,
/// before the weights are fetched, and so is a KV cache of `n_ctx` positions. `kv` is
/// "auto", "f32" or "f16". `cpu_driver` says the adapter is a CPU rasteriser
/// (SwiftShader): WebGPU does not tell wgpu, and such drivers want matvec_rowwise.wgsl,
/// whose invocations share no workgroup memory (the browser zeroes that memory and
/// waits on a barrier in every workgroup, costly on a CPU).
#[wasm_bindgen]
pub async fn create_loader(
    prefixes: js_sys::Array,
    file_lens: Vec<f64>,
    kv: &str,
    n_ctx: usize,
    cpu_driver: bool,
) -> Result<WebLoader, JsError> {
    if prefixes.length() as usize != file_lens.len() || file_lens.is_empty() {
        return Err(JsError::new("one header prefix and one length per file"));
    }
    let headers = prefixes
        .iter()
        .zip(&file_lens)
        .map(|(p, &len)| {
            let bytes = js_sys::Uint8Array::new(&p).to_vec();
            Gguf::read_header(&bytes, len as u64).map_err(js)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let gguf = &headers[0];
    let tokenizer = Tokenizer::from_gguf(&gguf.metadata).map_err(js)?;
    let template = ChatTemplate::from_gguf(&gguf.metadata).map_err(js)?;
    let mut gpu = Gpu::new().await.map_err(js)?;
    if cpu_driver {
        gpu.matvec_row_threads = 1;
    }
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
    let loader = StreamLoader::new_split(gpu, headers).map_err(js)?;
    loader.check_context(n_ctx).map_err(js)?;
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
    /// How many files the model comes in (the parts of a split GGUF).
    pub fn file_count(&self) -> usize {
        self.loader.as_ref().map_or(0, |l| l.file_count())
    }

    /// First byte of file `file` that the model needs.
    pub fn needed_start(&self, file: usize) -> f64 {
        self.loader.as_ref().map_or(0, |l| l.needed(file).start) as f64
    }

    /// End of the bytes of file `file` that the model needs.
    pub fn needed_end(&self, file: usize) -> f64 {
        self.loader.as_ref().map_or(0, |l| l.needed(file).end) as f64
    }

    /// Takes file `file`'s bytes from `offset` on (bytes already taken are skipped).
    pub fn push(&mut self, file: usize, offset: f64, bytes: &[u8]) -> Result<(), JsError> {
        let loader = self
            .loader
            .as_mut()
            .ok_or_else(|| JsError::new("the loader is finished"))?;
        loader.push(file, offset as u64, bytes).map_err(js)
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
