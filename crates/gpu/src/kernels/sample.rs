//! Wrapper of sample_prep.wgsl, sample_select.wgsl and sample.wgsl: sampling on the GPU,
//! the same pick as [`hearth_model::sampler::Sampler`] for the same settings, seed and step,
//! so that decoding reads back only the 4-byte token id.
//!
//! # Passes (one command buffer, `4 + id_digits + 2` dispatches)
//!
//! 1. **prep** (one workgroup per 2048 ids): checks the logits, applies the repetition
//!    penalty from the history ring the GPU itself appends to, and writes each penalized
//!    logit's *key*, a u32 whose unsigned order is the logits' order (-0 and +0 alike);
//!    per workgroup the argmax (lowest id on ties), the candidate count and a histogram of
//!    the keys' top byte.
//! 2. **select**, once per 8-bit digit: a radix search for the *head*, the best
//!    `min(pool, SAMPLE_CAP)` candidates in the CPU's order (logit descending, then id
//!    ascending), where the pool is the top-k (every candidate when top_k is 0). It walks
//!    the composite `(key, n_vocab - 1 - id)` from the top, 4 digits of key then the id's,
//!    so ties at the cut go to the lower ids as on the CPU; a pass whose search is already
//!    decided does nothing. The last pass gathers the head and sums, per workgroup, the
//!    weights `exp(l - L)` and `exp((l - L) / T)` of every other candidate (the *tail*).
//! 3. **sample** (one workgroup): greedy reduces the argmaxes. Otherwise it sorts the head
//!    in workgroup memory (rank = how many come first), then runs top-p, min-p, temperature
//!    and the inverse-CDF draw exactly as the CPU does, summing in the same order; writes
//!    the id into the token slot, appends it to the history, and zeroes the scratch.
//!
//! # Limits and policy
//!
//! * **Exact:** greedy, always (keys are compared as integers; the penalty's division is
//!   rounded exactly like the CPU's even where WGSL's `/` is not). Every setting whose pool
//!   fits the head (`1 <= top_k <= SAMPLE_CAP`, or at most `SAMPLE_CAP` candidates).
//! * **Larger pools** (top_k 0 or above `SAMPLE_CAP` over a bigger vocabulary): the head is
//!   the first `SAMPLE_CAP` candidates in order and the tail is known only by its sums. Each
//!   quantity the CPU would sum over candidates past the head (top-p's total, the draw's
//!   total) lies between two bounds (equal when the pool is every candidate); both the
//!   top-p cut and the draw are monotonic in it. If both bounds give the same pick inside
//!   the head, it is the CPU's pick. Otherwise (e.g. top_k 0, top_p 1, min_p 0 and the draw
//!   lands past the 1024th candidate) the id written is [`SAMPLE_ON_CPU`]: the engine reads
//!   back the logits and calls [`GpuSampler::resolve_on_cpu`], which samples them with the
//!   CPU sampler at the same step and writes the id and the history back.
//! * **Rounding:** the GPU's `exp` may differ from the CPU's in its last bits (and tail
//!   sums add in another order), so a draw within float rounding of a cumulative weight
//!   boundary, or a top-p mass within rounding of `top_p`, can pick the neighbouring
//!   token. That is the one allowed difference; the RNG itself is bit-exact.
//! * **Bad logits** (NaN, +inf, every logit -inf) give [`SAMPLE_ERROR`], like the CPU's
//!   error. Neither sentinel is appended to the history, and the embedding kernel skips an
//!   id outside the vocabulary, so a pipelined next step is harmless and must be discarded.
//! * The history ring holds `history_capacity` ids, fixed at creation; a penalty window
//!   longer than that is refused. Subnormal logits may be flushed by a GPU's arithmetic.

use bytemuck::Zeroable;
use hearth_model::constraint::TokenMask;
use hearth_model::sampler::{Sampler, SamplerConfig};

use super::{Op, bind, uniform};
use crate::{Gpu, GpuError, GpuTensor, Kernel, Result};

/// Most candidates the GPU sorts (`CAP` in sample_common.wgsl): 3 arrays of 1024 in
/// workgroup memory use 12 of WebGPU's 16 KiB.
pub const SAMPLE_CAP: usize = 1024;
/// The id written when the logits hold a NaN or +inf, or no value above -inf.
pub const SAMPLE_ERROR: u32 = u32::MAX;
/// The id written when the pick depends on candidates past the sorted head: sample the
/// read-back logits on the CPU ([`GpuSampler::resolve_on_cpu`]).
pub const SAMPLE_ON_CPU: u32 = u32::MAX - 1;

/// Vocab ids per workgroup of the prep and select passes (`CHUNK`).
const CHUNK: usize = 2048;
/// Bytes of `Scratch` before its per-workgroup array: 4 counters, 8 histograms of 256,
/// 9 `SelectState`s of 5 u32.
const SCRATCH_HEADER: usize = 16 + 8 * 256 * 4 + 9 * 20;
/// Bytes of one `GroupPartial`.
const GROUP_PARTIAL: usize = 16;

/// The `Settings` uniform of sample_common.wgsl (same field order).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct SampleSettings {
    n_vocab: u32,
    n_groups: u32,
    id_digits: u32,
    greedy: u32,
    temperature: f32,
    top_k: u32,
    top_p: f32,
    min_p: f32,
    ln_min_p: f32,
    penalty: u32,
    repeat_penalty: f32,
    repeat_last_n: u32,
    history_cap: u32,
    seed_lo: u32,
    seed_hi: u32,
    _pad: u32,
}

/// The `OpInfo` uniform of sample_common.wgsl: per-dispatch values.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct OpInfo {
    pass_index: u32,
    token_slot: u32,
    _pad: [u32; 2],
}

/// The GPU sampler of one vocabulary: its settings uniform, the history ring of recent ids
/// for the repetition penalty (on the GPU, appended to by each pick), and its working
/// buffers. Made once per model; [`GpuSampler::ops`] gives the dispatches to record after
/// the lm-head in each decode step.
pub struct GpuSampler {
    cfg: SamplerConfig,
    n_vocab: usize,
    history_cap: usize,
    settings: wgpu::Buffer,
    /// `[length, next slot, ring of history_cap ids]`.
    history: GpuTensor,
    /// Each id's key (sample_prep → sample_select).
    keys: GpuTensor,
    /// `Scratch` of sample_common.wgsl.
    scratch: GpuTensor,
    /// The head: SAMPLE_CAP × (key, id).
    head: GpuTensor,
    /// The ids a pick may choose: one bit each (all set unless constrained).
    mask: GpuTensor,
}

impl GpuSampler {
    /// A sampler over `n_vocab` logits with settings `cfg` and room for the last
    /// `history_capacity` ids (at least the longest `repeat_last_n` to be used, e.g. the
    /// context length). The history starts empty.
    pub fn new(
        gpu: &Gpu,
        cfg: &SamplerConfig,
        n_vocab: usize,
        history_capacity: usize,
    ) -> Result<GpuSampler> {
        let n_groups = n_vocab.div_ceil(CHUNK);
        if n_vocab == 0
            || n_vocab >= SAMPLE_ON_CPU as usize
            || n_groups > super::MAX_GROUPS as usize
            || history_capacity == 0
            || history_capacity > u32::MAX as usize - 2
        {
            return Err(GpuError::Shape(format!(
                "sampler over {n_vocab} logits with a history of {history_capacity} ids"
            )));
        }
        let mut sampler = GpuSampler {
            cfg: cfg.clone(),
            n_vocab,
            history_cap: history_capacity,
            settings: uniform(gpu, "sample settings", &SampleSettings::zeroed()),
            history: GpuTensor::zeros(gpu, 2 + history_capacity, "sample history"),
            keys: GpuTensor::zeros(gpu, n_vocab, "sample keys"),
            scratch: GpuTensor::zeros(
                gpu,
                (SCRATCH_HEADER + n_groups * GROUP_PARTIAL) / 4,
                "sample scratch",
            ),
            head: GpuTensor::zeros(gpu, 2 * SAMPLE_CAP, "sample head"),
            mask: GpuTensor::zeros(gpu, n_vocab.div_ceil(32), "sample mask"),
        };
        sampler.set_config(gpu, cfg)?;
        sampler.set_mask(gpu, None);
        Ok(sampler)
    }

    /// The settings.
    pub fn config(&self) -> &SamplerConfig {
        &self.cfg
    }

    /// Logits per pick.
    pub fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    /// Changes the settings (written to the GPU once, here). They are checked like the CPU
    /// sampler's; a penalty window longer than the history ring is an error too.
    pub fn set_config(&mut self, gpu: &Gpu, cfg: &SamplerConfig) -> Result<()> {
        Sampler::new(cfg.clone())?;
        let penalty = cfg.repeat_penalty != 1.0 && cfg.repeat_last_n > 0;
        if penalty && cfg.repeat_last_n > self.history_cap {
            return Err(GpuError::Shape(format!(
                "repeat_last_n {} is longer than the GPU sampler's history of {} ids",
                cfg.repeat_last_n, self.history_cap
            )));
        }
        let settings = SampleSettings {
            n_vocab: self.n_vocab as u32,
            n_groups: self.n_vocab.div_ceil(CHUNK) as u32,
            id_digits: (usize::BITS - (self.n_vocab - 1).leading_zeros()).div_ceil(8),
            greedy: (cfg.temperature == 0.0) as u32,
            temperature: cfg.temperature,
            top_k: cfg.top_k.min(u32::MAX as usize) as u32,
            top_p: cfg.top_p,
            min_p: cfg.min_p,
            ln_min_p: if cfg.min_p > 0.0 { cfg.min_p.ln() } else { 0.0 },
            penalty: penalty as u32,
            repeat_penalty: cfg.repeat_penalty,
            repeat_last_n: cfg.repeat_last_n.min(self.history_cap) as u32,
            history_cap: self.history_cap as u32,
            seed_lo: cfg.seed as u32,
            seed_hi: (cfg.seed >> 32) as u32,
            _pad: 0,
        };
        gpu.queue
            .write_buffer(&self.settings, 0, bytemuck::bytes_of(&settings));
        self.cfg = cfg.clone();
        Ok(())
    }

    /// Which ids the next picks may choose: those `mask` allows, or every id (`None`).
    /// Written to the GPU in queue order, so a mask written before a submit holds for the
    /// picks that submit records.
    pub fn set_mask(&self, gpu: &Gpu, mask: Option<&TokenMask>) {
        let words = self.n_vocab.div_ceil(32);
        let all;
        let data = match mask {
            Some(m) if m.words.len() >= words => &m.words[..words],
            _ => {
                all = vec![u32::MAX; words];
                &all[..]
            }
        };
        gpu.queue
            .write_buffer(&self.mask.buffer, 0, bytemuck::cast_slice(data));
    }

    /// The dispatches of one pick: reads `logits` (n_vocab floats, left unchanged) and the
    /// draw index `Step.sample` of the `step` uniform ([`super::Step::buffer`]), writes the
    /// chosen id (or [`SAMPLE_ON_CPU`] / [`SAMPLE_ERROR`]) to `token[slot]` and appends it to
    /// the history. Made once; the same ops serve every step.
    pub fn ops(
        &self,
        gpu: &Gpu,
        logits: &GpuTensor,
        token: &GpuTensor,
        slot: usize,
        step: &wgpu::Buffer,
    ) -> Result<Vec<Op>> {
        if logits.len < self.n_vocab || slot >= token.len {
            return Err(GpuError::Shape(format!(
                "sampling {} logits from a buffer of {} into slot {slot} of {}",
                self.n_vocab, logits.len, token.len
            )));
        }
        let n_groups = self.n_vocab.div_ceil(CHUNK) as u32;
        let n_passes = 4 + (usize::BITS - (self.n_vocab - 1).leading_zeros()).div_ceil(8);
        let op_info = |pass_index: u32| {
            let info = OpInfo {
                pass_index,
                token_slot: slot as u32,
                _pad: [0; 2],
            };
            uniform(gpu, "sample op", &info)
        };

        let prep = gpu.pipeline(Kernel::SamplePrep, None, &[])?;
        let mut ops = vec![Op {
            bind_group: bind(
                gpu,
                &prep,
                "sample_prep",
                &[
                    &logits.buffer,
                    &self.history.buffer,
                    &self.keys.buffer,
                    &self.scratch.buffer,
                    &self.settings,
                    &self.mask.buffer,
                ],
            ),
            pipeline: prep,
            groups: [n_groups, 1, 1],
            indirect: None,
        }];
        let select = gpu.pipeline(Kernel::SampleSelect, None, &[])?;
        for k in 1..=n_passes {
            ops.push(Op {
                bind_group: bind(
                    gpu,
                    &select,
                    "sample_select",
                    &[
                        &self.keys.buffer,
                        &self.scratch.buffer,
                        &self.head.buffer,
                        &self.settings,
                        &op_info(k),
                    ],
                ),
                pipeline: select.clone(),
                groups: [n_groups, 1, 1],
                indirect: None,
            });
        }
        let last = gpu.pipeline(Kernel::Sample, None, &[])?;
        ops.push(Op {
            bind_group: bind(
                gpu,
                &last,
                "sample",
                &[
                    &self.scratch.buffer,
                    &self.head.buffer,
                    &self.history.buffer,
                    &token.buffer,
                    &self.settings,
                    step,
                    &op_info(0),
                ],
            ),
            pipeline: last,
            groups: [1, 1, 1],
            indirect: None,
        });
        Ok(ops)
    }

    /// Replaces the history with the last ids of `ids` (prompt and generated tokens, oldest
    /// first), e.g. at the start of a generation.
    pub fn set_history(&self, gpu: &Gpu, ids: &[u32]) {
        let kept = &ids[ids.len().saturating_sub(self.history_cap)..];
        let mut words = vec![0u32; 2 + self.history_cap];
        words[0] = kept.len() as u32;
        words[1] = (kept.len() % self.history_cap) as u32;
        words[2..2 + kept.len()].copy_from_slice(kept);
        gpu.queue
            .write_buffer(&self.history.buffer, 0, bytemuck::cast_slice(&words));
    }

    /// The ids the history ring holds, oldest first (one readback; not for the decode loop).
    pub async fn history(&self, gpu: &Gpu) -> Result<Vec<u32>> {
        let words: Vec<u32> = self.history.read(gpu).await?;
        let cap = self.history_cap;
        let (len, next) = (words[0] as usize, words[1] as usize);
        if len > cap || next >= cap {
            return Err(GpuError::Readback(format!(
                "sampler history holds {len} ids from slot {next} of {cap}"
            )));
        }
        Ok((0..len)
            .map(|i| words[2 + (next + cap - len + i) % cap])
            .collect())
    }

    /// [`GpuSampler::history`], blocking (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn history_blocking(&self, gpu: &Gpu) -> Result<Vec<u32>> {
        pollster::block_on(self.history(gpu))
    }

    /// Finishes a pick that came back as [`SAMPLE_ON_CPU`]: samples `logits` (read back from
    /// the GPU; the pick's `mask` applied) with the CPU sampler at draw index `step`, given
    /// every id so far in `history` (oldest first); writes the id to `token[slot]` and the
    /// history with it appended to the GPU, as the kernel would have. Returns the id.
    #[allow(clippy::too_many_arguments)]
    pub fn resolve_on_cpu(
        &self,
        gpu: &Gpu,
        logits: &[f32],
        mask: Option<&TokenMask>,
        history: &[u32],
        step: u32,
        token: &GpuTensor,
        slot: usize,
    ) -> Result<u32> {
        if logits.len() != self.n_vocab || slot >= token.len {
            return Err(GpuError::Shape(format!(
                "resolving {} logits (of {}) into slot {slot} of {}",
                logits.len(),
                self.n_vocab,
                token.len
            )));
        }
        let mut cpu = Sampler::new(self.cfg.clone())?;
        cpu.set_step(step);
        let id = match mask {
            Some(m) => {
                let mut l = logits.to_vec();
                m.apply(&mut l);
                cpu.sample(&l, history)?
            }
            None => cpu.sample(logits, history)?,
        };
        gpu.queue
            .write_buffer(&token.buffer, (slot * 4) as u64, bytemuck::bytes_of(&id));
        let kept = &history[history.len().saturating_sub(self.history_cap)..];
        let mut ids = kept.to_vec();
        ids.push(id);
        self.set_history(gpu, &ids);
        Ok(id)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    //! The Rust mirrors of the WGSL structs and constants against the WGSL itself, read
    //! with naga: sizes, field offsets and the constants both sides use.

    use super::*;
    use crate::kernels::Step;
    use wgpu::naga;

    fn module(kernel: Kernel) -> naga::Module {
        let src = kernel.source(None).unwrap();
        naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{}", e.emit_to_string(&src)))
    }

    fn layouter(m: &naga::Module) -> naga::proc::Layouter {
        let mut l = naga::proc::Layouter::default();
        l.update(m.to_ctx()).unwrap();
        l
    }

    fn type_named<'a>(
        m: &'a naga::Module,
        name: &str,
    ) -> (naga::Handle<naga::Type>, &'a naga::Type) {
        m.types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no WGSL type {name}"))
    }

    fn size_of_type(m: &naga::Module, name: &str) -> usize {
        let (h, _) = type_named(m, name);
        layouter(m)[h].size as usize
    }

    fn const_u32(m: &naga::Module, name: &str) -> u32 {
        let (_, c) = m
            .constants
            .iter()
            .find(|(_, c)| c.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no WGSL const {name}"));
        match m.global_expressions[c.init] {
            naga::Expression::Literal(naga::Literal::U32(v)) => v,
            ref e => panic!("{name} is {e:?}"),
        }
    }

    #[test]
    fn rust_structs_and_constants_match_the_wgsl() {
        let m = module(Kernel::Sample);
        assert_eq!(size_of_type(&m, "Settings"), size_of::<SampleSettings>());
        assert_eq!(size_of_type(&m, "OpInfo"), size_of::<OpInfo>());
        assert_eq!(size_of_type(&m, "Step"), size_of::<Step>());
        assert_eq!(size_of_type(&m, "GroupPartial"), GROUP_PARTIAL);
        // Scratch ends in the per-workgroup array: its size with none is the header
        let (_, scratch) = type_named(&m, "Scratch");
        let naga::TypeInner::Struct { members, .. } = &scratch.inner else {
            panic!("Scratch is not a struct");
        };
        assert_eq!(members.last().unwrap().offset as usize, SCRATCH_HEADER);
        assert_eq!(const_u32(&m, "CAP") as usize, SAMPLE_CAP);
        assert_eq!(const_u32(&m, "CHUNK") as usize, CHUNK);
        assert_eq!(const_u32(&m, "SAMPLE_ERROR"), SAMPLE_ERROR);
        assert_eq!(const_u32(&m, "SAMPLE_ON_CPU"), SAMPLE_ON_CPU);
        assert_eq!(
            const_u32(&m, "PER_INVOCATION") * const_u32(&m, "WG_SIZE"),
            SAMPLE_CAP as u32
        );
        // every sampling kernel parses and validates
        for k in [Kernel::SamplePrep, Kernel::SampleSelect, Kernel::Sample] {
            let m = module(k);
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::default(),
            )
            .validate(&m)
            .unwrap_or_else(|e| panic!("{}: {e:?}", k.name()));
        }
    }
}
