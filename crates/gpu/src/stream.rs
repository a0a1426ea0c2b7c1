//! Loading a model from its GGUF bytes as they arrive, in file order, a piece at a time:
//! each matrix goes to the GPU row by row, so memory holds one piece and one partial row,
//! never the model (the browser feeds it chunk by chunk from IndexedDB).

use std::collections::HashMap;
use std::ops::Range;

use hearth_gguf::{Gguf, TensorInfo, dequantize_vec};
use hearth_model::Config;

use crate::weights::{WeightParts, assemble};
use crate::{Gpu, GpuError, GpuModel, GpuWeights, Result};

/// A tensor the model needs: where its bytes are in the file, and what it becomes.
struct Planned {
    name: String,
    ty: hearth_gguf::GgmlType,
    range: Range<u64>,
    /// Rows × cols of a matrix; None for a 1-D tensor (kept on the CPU until assembly).
    matrix: Option<(usize, usize)>,
}

/// A weight that has arrived whole.
enum Arrived {
    Matrix(GpuWeights),
    Vector(Vec<f32>),
}

/// The tensor being received.
struct Receiving {
    /// The matrix's buffers, for a matrix.
    weights: Option<GpuWeights>,
    /// Bytes not yet written: a partial row of a matrix, or a whole 1-D tensor so far.
    pending: Vec<u8>,
    /// Rows written so far.
    rows_done: usize,
}

/// One file of the model (a split GGUF has several): what it holds and how far it came.
struct FileState {
    /// The tensors the model uses from this file, in file order.
    plan: Vec<Planned>,
    /// Index in `plan` of the tensor that the next bytes belong to (or come before).
    next: usize,
    /// File offset of the next byte expected.
    pos: u64,
    receiving: Option<Receiving>,
}

/// Builds a [`GpuModel`] from the bytes of its GGUF file (or of each file of a split
/// GGUF), pushed in file order.
pub struct StreamLoader {
    gpu: Gpu,
    /// The model's header: the first file's, with the tensors of every file.
    gguf: Gguf,
    config: Config,
    files: Vec<FileState>,
    arrived: HashMap<String, Arrived>,
}

impl StreamLoader {
    /// Plans the load of the model that `gguf` (its header) describes, checking the
    /// architecture, the tensors' shapes and types, and that every matrix row fits the
    /// adapter's binding limit, before any byte is fetched; natively it also compiles the
    /// pipelines its sessions will use ([`crate::warm_pipelines`]; in the browser
    /// [`StreamLoader::finish`] does).
    pub fn new(gpu: Gpu, gguf: Gguf) -> Result<StreamLoader> {
        StreamLoader::new_split(gpu, vec![gguf])
    }

    /// [`StreamLoader::new`] for a model in several files (`headers` of the parts of a
    /// split GGUF, in order; the first holds the metadata).
    pub fn new_split(gpu: Gpu, headers: Vec<Gguf>) -> Result<StreamLoader> {
        let gguf = hearth_gguf::split::merge_headers(&headers)?;
        let config = Config::from_gguf(&gguf)?;
        let mut files: Vec<FileState> = headers
            .iter()
            .map(|_| FileState {
                plan: Vec::new(),
                next: 0,
                pos: 0,
                receiving: None,
            })
            .collect();
        for w in hearth_model::arch::Arch::wanted_tensors(&gguf, &config)? {
            let (t, name) = (w.info, w.info.name.clone());
            let matrix = w.cols.map(|cols| (w.rows, cols));
            if let Some(cols) = w.cols {
                check_matrix(&gpu, t, cols)?;
            }
            let (f, h) = headers
                .iter()
                .enumerate()
                .find(|(_, h)| h.tensor(&name).is_some())
                .expect("merged from these headers");
            let range = h.tensor_range(h.tensor(&name).expect("found above"));
            if range.end > h.file_len {
                return Err(GpuError::Shape(format!(
                    "tensor {name:?} ends at byte {}, past the file's {}",
                    range.end, h.file_len
                )));
            }
            files[f].plan.push(Planned {
                name,
                ty: t.ty,
                range,
                matrix,
            });
        }
        for (file, h) in files.iter_mut().zip(&headers) {
            file.plan.sort_by_key(|p| p.range.start);
            if let Some(w) = file
                .plan
                .windows(2)
                .find(|w| w[0].range.end > w[1].range.start)
            {
                return Err(GpuError::Shape(format!(
                    "tensors {:?} and {:?} overlap in the file",
                    w[0].name, w[1].name
                )));
            }
            file.pos = file.plan.first().map_or(h.data_start, |p| p.range.start);
        }
        // natively the pipelines compile now; in the browser once the weights are in
        // (crate::warm says why)
        #[cfg(not(target_arch = "wasm32"))]
        crate::warm_pipelines(&gpu, &gguf, &config)?;
        Ok(StreamLoader {
            gpu,
            gguf,
            config,
            files,
            arrived: HashMap::new(),
        })
    }

    /// The model's config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The GPU the model is loading onto.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Whether one layer's KV cache of `n_ctx` positions (at most the model's own) fits
    /// one storage binding of the adapter: checked before the weights come.
    pub fn check_context(&self, n_ctx: usize) -> Result<()> {
        let n_ctx = n_ctx.clamp(1, self.config.n_ctx_train.max(1));
        let bytes = self.gpu.kv_type.words(n_ctx * self.config.kv_dim()) as u64 * 4;
        if bytes > self.gpu.max_binding_bytes {
            return Err(GpuError::TooLarge(format!(
                "a context of {n_ctx} positions needs {bytes} bytes of KV cache per layer, \
                 above this GPU's binding limit of {} bytes: ask for a smaller context",
                self.gpu.max_binding_bytes
            )));
        }
        Ok(())
    }

    /// How many files the model's bytes come in.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// The bytes of file `file` that the model needs: push them in order, from the start.
    pub fn needed(&self, file: usize) -> Range<u64> {
        let plan = self.files.get(file).map_or(&[][..], |f| &f.plan[..]);
        let start = plan.first().map_or(0, |p| p.range.start);
        let end = plan.last().map_or(0, |p| p.range.end);
        start..end
    }

    /// File offset of the next byte wanted from `file` (pushes may start earlier; the
    /// overlap is skipped).
    pub fn position(&self, file: usize) -> u64 {
        self.files.get(file).map_or(0, |f| f.pos)
    }

    /// Whether every needed byte of every file has arrived.
    pub fn is_complete(&self) -> bool {
        self.files.iter().all(|f| f.next == f.plan.len())
    }

    /// Takes `bytes`, file `file`'s bytes from `offset` on. Bytes before
    /// [`position`](StreamLoader::position) are skipped, so chunks may overlap what came
    /// before; a gap is an error.
    pub fn push(&mut self, file: usize, offset: u64, bytes: &[u8]) -> Result<()> {
        let needed_end = self.needed(file).end;
        let gpu = &self.gpu;
        let arrived = &mut self.arrived;
        let f = self
            .files
            .get_mut(file)
            .ok_or_else(|| GpuError::Shape(format!("the model has no file {file}")))?;
        let end = offset.saturating_add(bytes.len() as u64);
        if offset > f.pos {
            return Err(GpuError::Shape(format!(
                "bytes from {offset} arrived before those from {}",
                f.pos
            )));
        }
        if end <= f.pos {
            return Ok(());
        }
        let mut rest = &bytes[(f.pos - offset) as usize..];
        while !rest.is_empty() && f.next < f.plan.len() {
            let range = f.plan[f.next].range.clone();
            if f.pos < range.start {
                // padding or a tensor the model does not use
                let skip = (range.start - f.pos).min(rest.len() as u64);
                f.pos += skip;
                rest = &rest[skip as usize..];
                continue;
            }
            let take = (range.end - f.pos).min(rest.len() as u64) as usize;
            f.receive(gpu, &rest[..take])?;
            f.pos += take as u64;
            rest = &rest[take..];
            if f.pos == range.end {
                f.finish_tensor(arrived)?;
            }
        }
        f.pos = f.pos.max(end.min(needed_end));
        Ok(())
    }

    /// The loaded model, once every needed byte has been pushed (in the browser, with its
    /// pipelines' compiles started: [`crate::warm_pipelines`]).
    pub fn finish(mut self) -> Result<GpuModel> {
        if let Some((i, f)) = self
            .files
            .iter()
            .enumerate()
            .find(|(_, f)| f.next < f.plan.len())
        {
            return Err(GpuError::Shape(format!(
                "the model is incomplete: bytes of file {i} from {} on are missing",
                f.pos
            )));
        }
        let (weights, rope) = assemble(
            &self.gpu,
            &self.gguf,
            &self.config,
            &mut Streamed(&mut self.arrived),
        )?;
        #[cfg(target_arch = "wasm32")]
        crate::warm_pipelines(&self.gpu, &self.gguf, &self.config)?;
        Ok(GpuModel {
            gpu: self.gpu,
            config: self.config,
            weights,
            rope,
        })
    }
}

impl FileState {
    /// Bytes of the current tensor: whole matrix rows go to the GPU at once.
    fn receive(&mut self, gpu: &Gpu, bytes: &[u8]) -> Result<()> {
        if self.receiving.is_none() {
            let planned = &self.plan[self.next];
            let weights = match planned.matrix {
                Some((rows, cols)) => Some(GpuWeights::alloc(
                    gpu,
                    &planned.name,
                    planned.ty,
                    rows,
                    cols,
                )?),
                None => None,
            };
            self.receiving = Some(Receiving {
                weights,
                pending: Vec::new(),
                rows_done: 0,
            });
        }
        let rec = self.receiving.as_mut().expect("set above");
        let Some(w) = &rec.weights else {
            rec.pending.extend_from_slice(bytes);
            return Ok(());
        };
        let row = w.src_row_bytes() as usize;
        let mut bytes = bytes;
        if !rec.pending.is_empty() {
            let k = (row - rec.pending.len()).min(bytes.len());
            rec.pending.extend_from_slice(&bytes[..k]);
            bytes = &bytes[k..];
            if rec.pending.len() < row {
                return Ok(());
            }
            w.write_rows(gpu, rec.rows_done, &rec.pending)?;
            rec.rows_done += 1;
            rec.pending.clear();
        }
        let whole = bytes.len() / row * row;
        if whole > 0 {
            w.write_rows(gpu, rec.rows_done, &bytes[..whole])?;
            rec.rows_done += whole / row;
        }
        rec.pending.extend_from_slice(&bytes[whole..]);
        Ok(())
    }

    fn finish_tensor(&mut self, arrived: &mut HashMap<String, Arrived>) -> Result<()> {
        let planned = &self.plan[self.next];
        let rec = self.receiving.take().unwrap_or(Receiving {
            weights: None,
            pending: Vec::new(),
            rows_done: 0,
        });
        let value = match rec.weights {
            Some(w) => Arrived::Matrix(w),
            None => Arrived::Vector(dequantize_vec(planned.ty, &rec.pending)?),
        };
        arrived.insert(planned.name.clone(), value);
        self.next += 1;
        Ok(())
    }
}

/// The loaded weights handed to the assembly, each once.
struct Streamed<'a>(&'a mut HashMap<String, Arrived>);

impl WeightParts for Streamed<'_> {
    fn matrix(
        &mut self,
        _gpu: &Gpu,
        t: &TensorInfo,
        rows: usize,
        cols: usize,
    ) -> Result<GpuWeights> {
        match self.0.remove(&t.name) {
            Some(Arrived::Matrix(w)) if w.rows == rows && w.cols == cols => Ok(w),
            _ => Err(GpuError::Shape(format!(
                "matrix {:?} did not arrive",
                t.name
            ))),
        }
    }

    fn vector(&mut self, t: &TensorInfo) -> Result<Vec<f32>> {
        match self.0.remove(&t.name) {
            Some(Arrived::Vector(v)) => Ok(v),
            _ => Err(GpuError::Shape(format!(
                "tensor {:?} did not arrive",
                t.name
            ))),
        }
    }
}

/// A matrix the GPU can hold: a known format, whole blocks, a row within one binding (a
/// matrix is split by rows over as many buffers as it needs).
fn check_matrix(gpu: &Gpu, t: &TensorInfo, cols: usize) -> Result<()> {
    let layout = hearth_gguf::GpuLayout::of(t.ty)?;
    let row_bytes = layout.row_words(t.ty, cols)?.next_multiple_of(4) as u64 * 4;
    if row_bytes > gpu.max_binding_bytes {
        return Err(GpuError::TooLarge(format!(
            "{}: one row of {row_bytes} bytes is above this GPU's binding limit of {}",
            t.name, gpu.max_binding_bytes
        )));
    }
    Ok(())
}
