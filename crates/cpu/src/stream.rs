//! Loading a model onto the CPU engine from its GGUF bytes as they arrive, in file order,
//! a piece at a time (the browser feeds it chunk by chunk from IndexedDB): each tensor's
//! bytes are copied into its own buffer, so memory holds the model plus the piece.

use std::collections::HashMap;
use std::ops::Range;

use hearth_gguf::Gguf;
use hearth_model::Config;

use crate::{CpuError, CpuModel, Result};

/// One file of the model: the tensors it holds for the model, in file order.
struct FileState {
    tensors: Vec<(String, Range<u64>)>,
}

/// Builds a [`CpuModel`] from the bytes of its GGUF file (or of each part of a split
/// GGUF), pushed in file order.
pub struct CpuLoader {
    gguf: Gguf,
    config: Config,
    files: Vec<FileState>,
    bytes: HashMap<String, Vec<u8>>,
    threads: usize,
}

impl CpuLoader {
    /// Plans the load of the model in `headers` (the parts of a split GGUF in order, or
    /// one file), checking the architecture and shapes, and that the weights plus a KV
    /// cache of `n_ctx` positions fit in `max_bytes` of memory, before any byte comes.
    pub fn new_split(
        headers: Vec<Gguf>,
        n_ctx: usize,
        max_bytes: u64,
        threads: usize,
    ) -> Result<CpuLoader> {
        let gguf = hearth_gguf::split::merge_headers(&headers)?;
        let config = Config::from_gguf(&gguf)?;
        let mut files: Vec<FileState> = headers
            .iter()
            .map(|_| FileState { tensors: vec![] })
            .collect();
        let mut total = 0u64;
        for w in hearth_model::arch::Arch::wanted_tensors(&gguf, &config)? {
            let t = w.info;
            let (f, h) = headers
                .iter()
                .enumerate()
                .find(|(_, h)| h.tensor(&t.name).is_some())
                .ok_or_else(|| CpuError::Shape(format!("no part holds {:?}", t.name)))?;
            let range = h.tensor_range(h.tensor(&t.name).expect("found above"));
            if range.end > h.file_len {
                return Err(CpuError::Shape(format!(
                    "tensor {:?} ends at byte {}, past the file's {}",
                    t.name, range.end, h.file_len
                )));
            }
            total = total.saturating_add(range.end - range.start);
            files[f].tensors.push((t.name.clone(), range));
        }
        let need = total.saturating_add(kv_bytes(&config, n_ctx));
        if need > max_bytes {
            return Err(CpuError::TooLarge(format!(
                "the model needs {} MB of memory (weights and a {}-position context), and \
                 the CPU engine here has {} MB",
                need >> 20,
                n_ctx.min(config.n_ctx_train),
                max_bytes >> 20
            )));
        }
        for f in &mut files {
            f.tensors.sort_by_key(|(_, r)| r.start);
            if let Some(w) = f.tensors.windows(2).find(|w| w[0].1.end > w[1].1.start) {
                return Err(CpuError::Shape(format!(
                    "tensors {:?} and {:?} overlap in the file",
                    w[0].0, w[1].0
                )));
            }
        }
        Ok(CpuLoader {
            gguf,
            config,
            files,
            bytes: HashMap::new(),
            threads,
        })
    }

    /// The model's config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many files the model comes in.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The bytes of file `file` that the model needs.
    pub fn needed(&self, file: usize) -> Range<u64> {
        let t = self.files.get(file).map_or(&[][..], |f| &f.tensors[..]);
        t.first().map_or(0, |p| p.1.start)..t.last().map_or(0, |p| p.1.end)
    }

    /// Takes `bytes`, file `file`'s bytes from `offset` on (any order; overlaps with what
    /// came before are copied again, identically).
    pub fn push(&mut self, file: usize, offset: u64, bytes: &[u8]) -> Result<()> {
        let f = self
            .files
            .get(file)
            .ok_or_else(|| CpuError::Shape(format!("the model has no file {file}")))?;
        let end = offset.saturating_add(bytes.len() as u64);
        // the tensors that overlap [offset, end)
        let first = f.tensors.partition_point(|(_, r)| r.end <= offset);
        for (name, r) in f.tensors[first..].iter().take_while(|(_, r)| r.start < end) {
            let len = (r.end - r.start) as usize;
            let buf = match self.bytes.get_mut(name) {
                Some(b) => b,
                None => {
                    let mut b = Vec::new();
                    b.try_reserve_exact(len).map_err(|_| {
                        CpuError::TooLarge(format!("no memory for tensor {name:?} ({len} bytes)"))
                    })?;
                    self.bytes.entry(name.clone()).or_insert(b)
                }
            };
            let (lo, hi) = (r.start.max(offset), r.end.min(end));
            let at = (lo - r.start) as usize;
            // bytes arrive in order: a tensor grows at its end (or a repeat is skipped)
            if at <= buf.len() && (hi - r.start) as usize > buf.len() {
                let from = (r.start + buf.len() as u64 - offset) as usize;
                buf.extend_from_slice(&bytes[from..(hi - offset) as usize]);
            } else if at > buf.len() {
                return Err(CpuError::Shape(format!(
                    "bytes of {name:?} from {lo} arrived before those from {}",
                    r.start + buf.len() as u64
                )));
            }
        }
        Ok(())
    }

    /// Whether every needed byte has arrived.
    pub fn is_complete(&self) -> bool {
        self.files.iter().flat_map(|f| &f.tensors).all(|(name, r)| {
            self.bytes
                .get(name)
                .is_some_and(|b| b.len() as u64 == r.end - r.start)
        })
    }

    /// The model, once every needed byte has arrived.
    pub fn finish(mut self) -> Result<CpuModel> {
        if !self.is_complete() {
            return Err(CpuError::Shape(
                "the model's bytes have not all arrived".into(),
            ));
        }
        let bytes = &mut self.bytes;
        CpuModel::from_tensors(&self.gguf, self.threads, |t| {
            bytes
                .remove(&t.name)
                .ok_or_else(|| CpuError::Shape(format!("tensor {:?} was not loaded", t.name)))
        })
    }
}

/// Bytes of an f32 KV cache of `n_ctx` positions (at most the trained context).
pub fn kv_bytes(c: &Config, n_ctx: usize) -> u64 {
    let n = n_ctx.clamp(1, c.n_ctx_train.max(1)) as u64;
    2 * 4 * n * c.kv_dim() as u64 * c.n_layer as u64
}
