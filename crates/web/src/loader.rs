//! The GGUF header from a prefix of the file, the choice of backend, then the file's bytes
//! streamed to the GPU, or into the wasm heap for the CPU engine.

use hearth_cpu::CpuLoader;
use hearth_gguf::{Gguf, GgufError};
use hearth_gpu::kernels::KvType;
use hearth_gpu::{Gpu, StreamLoader};
use hearth_model::Config;
use hearth_model::arch::Arch;
use hearth_model::chat_template::ChatTemplate;
use hearth_model::tokenizer::Tokenizer;
use wasm_bindgen::prelude::*;

use crate::WebEngine;
use crate::engine::Runner;

/// Memory the CPU engine may fill in wasm32's 4 GiB: the address space less room for the
/// module, the tokenizer and the scratch of a forward pass.
const CPU_MEMORY: u64 = (4 << 30) - (256 << 20);

/// Which backend runs a model: `wanted` is "auto", "gpu" or "cpu"; `found` says the browser
/// gave a WebGPU adapter, `names` its info strings (vendor, architecture, device,
/// description) and `fallback` its isFallbackAdapter. Auto runs the GPU on a hardware
/// adapter and the CPU engine on none or a software one. Returns JSON {backend, why,
/// software}: `software` says the adapter is a CPU rasteriser (for `create_loader`).
#[wasm_bindgen]
pub fn choose_backend(
    wanted: &str,
    found: bool,
    names: &str,
    fallback: bool,
) -> Result<String, JsError> {
    let software = fallback || hearth_gpu::is_software_adapter(names, false);
    let (backend, why) = match (wanted, found) {
        ("gpu", false) => {
            return Err(JsError::new(
                "this browser offers no WebGPU adapter (WebGPU is switched off, or this GPU \
                 is not supported): ask for backend \"cpu\" or \"auto\"",
            ));
        }
        ("gpu", true) => ("gpu", "asked for".to_string()),
        ("cpu", _) => ("cpu", "asked for".to_string()),
        ("auto", false) => ("cpu", "this browser offers no WebGPU adapter".to_string()),
        ("auto", true) if software => (
            "cpu",
            format!(
                "the WebGPU adapter is a software rasteriser ({})",
                names.trim()
            ),
        ),
        ("auto", true) => ("gpu", "a hardware WebGPU adapter".to_string()),
        (other, _) => {
            return Err(JsError::new(&format!(
                "backend must be auto, gpu or cpu, not {other:?}"
            )));
        }
    };
    Ok(
        serde_json::json!({ "backend": backend, "why": why, "software": found && software })
            .to_string(),
    )
}

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
/// "auto", "f32" or "f16". `choice` is [`choose_backend`]'s JSON: its `backend` ("gpu" or
/// "cpu") picks the engine, `why` is kept for the engine's info, and `software` says the
/// adapter is a CPU rasteriser (SwiftShader): WebGPU does not tell wgpu, and such drivers
/// want matvec_rowwise.wgsl, whose invocations share no workgroup memory (the browser
/// zeroes that memory and waits on a barrier in every workgroup, costly on a CPU). `threads` is the CPU engine's (the threaded build's pool size, 1
/// otherwise). The CPU engine's memory (weights and KV cache) is checked against
/// what wasm32 can hold before the weights are fetched.
#[wasm_bindgen]
pub async fn create_loader(
    prefixes: js_sys::Array,
    file_lens: Vec<f64>,
    kv: &str,
    n_ctx: usize,
    choice: &str,
    threads: usize,
) -> Result<WebLoader, JsError> {
    let choice: serde_json::Value =
        serde_json::from_str(choice).map_err(|e| JsError::new(&format!("bad choice: {e}")))?;
    let backend = choice["backend"].as_str().unwrap_or("gpu");
    let why = choice["why"].as_str().unwrap_or("").to_string();
    let cpu_driver = choice["software"].as_bool().unwrap_or(false);
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
    let arch = Config::from_gguf(gguf).map_err(js)?.arch;
    let tokenizer = Tokenizer::from_gguf(&gguf.metadata).map_err(js)?;
    let template = ChatTemplate::from_gguf(&gguf.metadata).map_err(js)?;
    let name = gguf
        .metadata
        .str("general.name")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_string();
    if backend == "cpu" {
        // threads: what the Worker started (1 in the build without wasm threads)
        let threads = if cfg!(feature = "threads") {
            threads.max(1)
        } else {
            1
        };
        let loader = CpuLoader::new_split(headers, n_ctx, CPU_MEMORY, threads).map_err(js)?;
        return Ok(WebLoader {
            loader: Some(Loading::Cpu(Box::new(loader))),
            tokenizer: Some(tokenizer),
            template: Some(template),
            name,
            arch,
            why,
        });
    }
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
    let loader = StreamLoader::new_split(gpu, headers).map_err(js)?;
    loader.check_context(n_ctx).map_err(js)?;
    Ok(WebLoader {
        loader: Some(Loading::Gpu(Box::new(loader))),
        tokenizer: Some(tokenizer),
        template: Some(template),
        name,
        arch,
        why,
    })
}

/// What a model loads into: the GPU, or the wasm heap for the CPU engine.
enum Loading {
    Gpu(Box<StreamLoader>),
    Cpu(Box<CpuLoader>),
}

/// A model being loaded: push the file's bytes in order, then [`WebLoader::finish`].
#[wasm_bindgen]
pub struct WebLoader {
    loader: Option<Loading>,
    tokenizer: Option<Tokenizer>,
    template: Option<ChatTemplate>,
    name: String,
    arch: Arch,
    why: String,
}

#[wasm_bindgen]
impl WebLoader {
    /// JSON facts the header gives, for the model manager: `name` (`general.name`, may
    /// be empty), `architecture` (`general.architecture`) and `family` ("Gemma 3").
    pub fn facts(&self) -> String {
        serde_json::json!({
            "name": self.name,
            "architecture": self.arch.name(),
            "family": self.arch.family(),
        })
        .to_string()
    }

    /// How many files the model comes in (the parts of a split GGUF).
    pub fn file_count(&self) -> usize {
        match &self.loader {
            Some(Loading::Gpu(l)) => l.file_count(),
            Some(Loading::Cpu(l)) => l.file_count(),
            None => 0,
        }
    }

    fn needed(&self, file: usize) -> std::ops::Range<u64> {
        match &self.loader {
            Some(Loading::Gpu(l)) => l.needed(file),
            Some(Loading::Cpu(l)) => l.needed(file),
            None => 0..0,
        }
    }

    /// First byte of file `file` that the model needs.
    pub fn needed_start(&self, file: usize) -> f64 {
        self.needed(file).start as f64
    }

    /// End of the bytes of file `file` that the model needs.
    pub fn needed_end(&self, file: usize) -> f64 {
        self.needed(file).end as f64
    }

    /// Takes file `file`'s bytes from `offset` on (bytes already taken are skipped).
    pub fn push(&mut self, file: usize, offset: f64, bytes: &[u8]) -> Result<(), JsError> {
        match self.loader.as_mut() {
            Some(Loading::Gpu(l)) => l.push(file, offset as u64, bytes).map_err(js),
            Some(Loading::Cpu(l)) => l.push(file, offset as u64, bytes).map_err(js),
            None => Err(JsError::new("the loader is finished")),
        }
    }

    /// Whether every needed byte has arrived.
    pub fn is_complete(&self) -> bool {
        match &self.loader {
            Some(Loading::Gpu(l)) => l.is_complete(),
            Some(Loading::Cpu(l)) => l.is_complete(),
            None => false,
        }
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
        let runner = match loader {
            Loading::Gpu(l) => Runner::gpu(l.finish().map_err(js)?, n_ctx).map_err(js)?,
            Loading::Cpu(l) => Runner::cpu((*l).finish().map_err(js)?, n_ctx),
        };
        let name = std::mem::take(&mut self.name);
        Ok(WebEngine::new(
            runner,
            tok,
            template,
            name,
            std::mem::take(&mut self.why),
        ))
    }
}

/// Any displayable error as a JS `Error`.
pub(crate) fn js(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}
