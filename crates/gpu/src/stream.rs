//! Loading a model from its GGUF bytes as they arrive, in file order, a piece at a time:
//! each matrix goes to the GPU row by row, so memory holds one piece and one partial row,
//! never the model (the browser feeds it chunk by chunk from IndexedDB).

use std::collections::HashMap;
use std::ops::Range;

use hearth_gguf::{Gguf, TensorInfo, dequantize_vec};
use hearth_model::Config;

use crate::weights::{GpuModelWeights, WeightParts};
use crate::{Gpu, GpuError, GpuModel, GpuWeights, Result};

/// A tensor the model needs: where its bytes are in the file, and what it becomes.
struct Planned {
    name: String,
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

/// Builds a [`GpuModel`] from the bytes of its GGUF file, pushed in file order.
pub struct StreamLoader {
    gpu: Gpu,
    gguf: Gguf,
    config: Config,
    /// The tensors the model uses, in file order.
    plan: Vec<Planned>,
    /// Index in `plan` of the tensor that the next bytes belong to (or come before).
    next: usize,
    /// File offset of the next byte expected.
    pos: u64,
    receiving: Option<Receiving>,
    arrived: HashMap<String, Arrived>,
}

impl StreamLoader {
    /// Plans the load of the model that `gguf` (its header) describes, checking the
    /// architecture, the tensors' shapes and types, and that every matrix row fits the
    /// adapter's binding limit, before any byte is fetched.
    pub fn new(gpu: Gpu, gguf: Gguf) -> Result<StreamLoader> {
        let config = Config::from_gguf(&gguf)?;
        let mut plan = Vec::new();
        // the shapes the model wants, by name, as the assembly will ask for them: (name,
        // rows × cols of a matrix, or the length of a 1-D tensor)
        type Want = (String, Option<(usize, usize)>, usize);
        let mut want: Vec<Want> = Vec::new();
        let e = config.n_embd;
        want.push(("token_embd.weight".into(), Some((config.n_vocab, e)), 0));
        if !config.tied_embeddings {
            want.push(("output.weight".into(), Some((config.n_vocab, e)), 0));
        }
        want.push(("output_norm.weight".into(), None, e));
        if config.has_rope_freqs {
            want.push(("rope_freqs.weight".into(), None, config.rope_dim / 2));
        }
        let want = std::cell::RefCell::new(want);
        for i in 0..config.n_layer {
            hearth_model::LayerWeights::<(), ()>::load(
                &config,
                i,
                |name, rows, cols| {
                    let m = Some((rows, cols));
                    want.borrow_mut().push((name.to_string(), m, 0));
                    Ok::<_, GpuError>(())
                },
                |name, len| {
                    want.borrow_mut().push((name.to_string(), None, len));
                    Ok(())
                },
            )?;
        }
        hearth_model::check_supported(&gguf)?;
        for (name, matrix, len) in want.into_inner() {
            let dims: Vec<usize> = match matrix {
                Some((rows, cols)) => vec![cols, rows],
                None => vec![len],
            };
            let t = hearth_model::tensor_info(&gguf, &name, &dims)?;
            if let Some((_, cols)) = matrix {
                check_matrix(&gpu, t, cols)?;
            }
            plan.push(Planned {
                name,
                range: gguf.tensor_range(t),
                matrix,
            });
        }
        plan.sort_by_key(|p| p.range.start);
        if let Some(w) = plan.windows(2).find(|w| w[0].range.end > w[1].range.start) {
            return Err(GpuError::Shape(format!(
                "tensors {:?} and {:?} overlap in the file",
                w[0].name, w[1].name
            )));
        }
        if let Some(p) = plan.iter().find(|p| p.range.end > gguf.file_len) {
            return Err(GpuError::Shape(format!(
                "tensor {:?} ends at byte {}, past the file's {}",
                p.name, p.range.end, gguf.file_len
            )));
        }
        let pos = plan.first().map_or(gguf.data_start, |p| p.range.start);
        Ok(StreamLoader {
            gpu,
            gguf,
            config,
            plan,
            next: 0,
            pos,
            receiving: None,
            arrived: HashMap::new(),
        })
    }

    /// The model's config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bytes of the file the model needs: push them in order, from the start.
    pub fn needed(&self) -> Range<u64> {
        let start = self.plan.first().map_or(0, |p| p.range.start);
        let end = self.plan.last().map_or(0, |p| p.range.end);
        start..end
    }

    /// File offset of the next byte wanted (pushes may start earlier; the overlap is
    /// skipped).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Whether every needed byte has arrived.
    pub fn is_complete(&self) -> bool {
        self.next == self.plan.len()
    }

    /// Takes `bytes`, the file's bytes from `offset` on. Bytes before [`position`] are
    /// skipped, so chunks may overlap what came before; a gap is an error.
    ///
    /// [`position`]: StreamLoader::position
    pub fn push(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        let end = offset.saturating_add(bytes.len() as u64);
        if offset > self.pos {
            return Err(GpuError::Shape(format!(
                "bytes from {offset} arrived before those from {}",
                self.pos
            )));
        }
        if end <= self.pos {
            return Ok(());
        }
        let mut rest = &bytes[(self.pos - offset) as usize..];
        while !rest.is_empty() && self.next < self.plan.len() {
            let range = self.plan[self.next].range.clone();
            if self.pos < range.start {
                // padding or a tensor the model does not use
                let skip = (range.start - self.pos).min(rest.len() as u64);
                self.pos += skip;
                rest = &rest[skip as usize..];
                continue;
            }
            let take = (range.end - self.pos).min(rest.len() as u64) as usize;
            self.receive(&rest[..take])?;
            self.pos += take as u64;
            rest = &rest[take..];
            if self.pos == range.end {
                self.finish_tensor()?;
            }
        }
        self.pos = self.pos.max(end.min(self.needed().end));
        Ok(())
    }

    /// Bytes of the current tensor: whole matrix rows go to the GPU at once.
    fn receive(&mut self, bytes: &[u8]) -> Result<()> {
        if self.receiving.is_none() {
            let planned = &self.plan[self.next];
            let weights = match planned.matrix {
                Some((rows, cols)) => {
                    let t = self.tensor(&planned.name)?;
                    Some(GpuWeights::alloc(
                        &self.gpu,
                        &planned.name,
                        t.ty,
                        rows,
                        cols,
                    )?)
                }
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
            w.write_rows(&self.gpu, rec.rows_done, &rec.pending)?;
            rec.rows_done += 1;
            rec.pending.clear();
        }
        let whole = bytes.len() / row * row;
        if whole > 0 {
            w.write_rows(&self.gpu, rec.rows_done, &bytes[..whole])?;
            rec.rows_done += whole / row;
        }
        rec.pending.extend_from_slice(&bytes[whole..]);
        Ok(())
    }

    fn finish_tensor(&mut self) -> Result<()> {
        let planned = &self.plan[self.next];
        let rec = self.receiving.take().unwrap_or(Receiving {
            weights: None,
            pending: Vec::new(),
            rows_done: 0,
        });
        let arrived = match rec.weights {
            Some(w) => Arrived::Matrix(w),
            None => {
                let t = self.tensor(&planned.name)?;
                Arrived::Vector(dequantize_vec(t.ty, &rec.pending)?)
            }
        };
        self.arrived.insert(planned.name.clone(), arrived);
        self.next += 1;
        Ok(())
    }

    fn tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.gguf
            .tensor(name)
            .ok_or_else(|| GpuError::Shape(format!("tensor {name:?} is missing")))
    }

    /// The loaded model, once every needed byte has been pushed.
    pub fn finish(mut self) -> Result<GpuModel> {
        if !self.is_complete() {
            return Err(GpuError::Shape(format!(
                "the model is incomplete: bytes from {} on are missing",
                self.pos
            )));
        }
        let weights = GpuModelWeights::assemble(
            &self.gpu,
            &self.gguf,
            &self.config,
            &mut Streamed(&mut self.arrived),
        )?;
        Ok(GpuModel {
            gpu: self.gpu,
            config: self.config,
            weights,
        })
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
