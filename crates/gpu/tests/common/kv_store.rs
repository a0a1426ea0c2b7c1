//! kv_store.wgsl against the expected caches (a copy, rounded to f16 for an f16 cache).

use half::f16;
use hearth_gpu::kernels::{self, KvType, Step};
use hearth_gpu::{Gpu, GpuTensor};

use super::Rng;

/// Both cache types.
pub const TYPES: [KvType; 2] = [KvType::F32, KvType::F16];

/// Cache values as the buffer's words.
pub fn to_words(kv: KvType, values: &[f32]) -> Vec<u32> {
    match kv {
        KvType::F32 => values.iter().map(|v| v.to_bits()).collect(),
        KvType::F16 => values
            .chunks(2)
            .map(|p| {
                let lo = f16::from_f32(p[0]).to_bits() as u32;
                let hi = p.get(1).map_or(0, |v| f16::from_f32(*v).to_bits() as u32);
                lo | hi << 16
            })
            .collect(),
    }
}

/// The buffer's words as cache values.
pub fn from_words(kv: KvType, words: &[u32]) -> Vec<f32> {
    match kv {
        KvType::F32 => words.iter().map(|w| f32::from_bits(*w)).collect(),
        KvType::F16 => words
            .iter()
            .flat_map(|w| [*w as u16, (*w >> 16) as u16])
            .map(|b| f16::from_bits(b).to_f32())
            .collect(),
    }
}

/// Whether `got` is what the cache may hold for `want`: the same bits (f32), or an f16
/// neighbour of it (f16).
pub fn stored_ok(kv: KvType, got: f32, want: f32) -> bool {
    match kv {
        KvType::F32 => got.to_bits() == want.to_bits(),
        KvType::F16 => {
            let n = f16::from_f32(want);
            let step = (f16::from_bits(n.to_bits() + 1).to_f32() - n.to_f32()).abs();
            f16::from_f32(got).to_f32() == got && (got - want).abs() <= step
        }
    }
}

/// Rows of the caches in these tests.
pub const N_CTX: usize = 50;
/// Floats per cache row: not a multiple of the workgroup.
pub const KV_DIM: usize = 100;
/// Rows past n_ctx in the caches' buffers, which the kernel must leave alone (a write
/// past the end of a buffer would be dropped by robust buffer access, and go unseen).
pub const SPARE: usize = 4;

/// Caches filled with earlier rows, prepared ops for `n_tokens` new rows, and the buffers.
pub struct Setup {
    pub k: GpuTensor,
    pub v: GpuTensor,
    /// The caches' whole buffers, spare rows included.
    pub k_buffer: GpuTensor,
    pub v_buffer: GpuTensor,
    pub step: wgpu::Buffer,
    pub ops: Vec<kernels::Op>,
    pub want_k: Vec<f32>,
    pub want_v: Vec<f32>,
    pub kv: KvType,
}

/// [`Setup`] for `n_tokens` rows per call into caches of type `kv`.
pub fn setup(g: &Gpu, rng: &mut Rng, n_tokens: usize, kv: KvType) -> Setup {
    // values the cache can hold exactly
    let mut cache_values = || from_words(kv, &to_words(kv, &rng.vec((N_CTX + SPARE) * KV_DIM)));
    let want_k = cache_values();
    let want_v = cache_values();
    let k = GpuTensor::zeros(g, n_tokens * KV_DIM, "k");
    let v = GpuTensor::zeros(g, n_tokens * KV_DIM, "v");
    let k_buffer = GpuTensor::from_slice(g, &to_words(kv, &want_k), "k_cache");
    let v_buffer = GpuTensor::from_slice(g, &to_words(kv, &want_v), "v_cache");
    // the caches as the kernel sees them: N_CTX rows
    let cache = |t: &GpuTensor| GpuTensor {
        buffer: t.buffer.clone(),
        len: kv.words(N_CTX * KV_DIM),
    };
    let (k_cache, v_cache) = (cache(&k_buffer), cache(&v_buffer));
    let step = Step::default().buffer(g);
    let ops =
        kernels::kv_store(g, &k, &v, &k_cache, &v_cache, kv, &step, n_tokens, KV_DIM).unwrap();
    Setup {
        k,
        v,
        k_buffer,
        v_buffer,
        step,
        ops,
        want_k,
        want_v,
        kv,
    }
}

impl Setup {
    /// Stores fresh random rows at `pos`, applies the same copy to the expected caches
    /// (rows from n_ctx on are dropped) and compares both buffers (see [`stored_ok`]).
    pub async fn store_and_check(&mut self, g: &Gpu, rng: &mut Rng, pos: usize, n_tokens: usize) {
        let (k, v) = (rng.vec(n_tokens * KV_DIM), rng.vec(n_tokens * KV_DIM));
        g.queue
            .write_buffer(&self.k.buffer, 0, bytemuck::cast_slice(&k));
        g.queue
            .write_buffer(&self.v.buffer, 0, bytemuck::cast_slice(&v));
        let step = Step {
            pos: pos as u32,
            n_tokens: n_tokens as u32,
            kv_len: (pos + n_tokens) as u32,
            sample: 7,
        };
        step.write(g, &self.step);
        kernels::submit(g, &self.ops);
        let rows = n_tokens.min(N_CTX - pos);
        self.want_k[pos * KV_DIM..][..rows * KV_DIM].copy_from_slice(&k[..rows * KV_DIM]);
        self.want_v[pos * KV_DIM..][..rows * KV_DIM].copy_from_slice(&v[..rows * KV_DIM]);
        for (name, cache, want) in [
            ("k_cache", &self.k_buffer, &self.want_k),
            ("v_cache", &self.v_buffer, &self.want_v),
        ] {
            let got = from_words(self.kv, &cache.read::<u32>(g).await.unwrap());
            assert_eq!(got.len(), want.len());
            for (i, (a, b)) in got.iter().zip(want.iter()).enumerate() {
                assert!(
                    stored_ok(self.kv, *a, *b),
                    "kv_store {:?}: {n_tokens} rows at {pos}: {name} row {} col {}: \
                     got {a:e} want {b:e}",
                    self.kv,
                    i / KV_DIM,
                    i % KV_DIM
                );
            }
        }
    }
}

/// A prefill and decode steps into caches that hold other rows.
pub async fn prefill_then_decode(g: &Gpu) {
    let mut rng = Rng::new(1);
    for kv in TYPES {
        let mut prefill = setup(g, &mut rng, 7, kv);
        prefill.store_and_check(g, &mut rng, 0, 7).await;
        prefill.store_and_check(g, &mut rng, 20, 7).await;
        let mut decode = setup(g, &mut rng, 1, kv);
        for pos in [0, 1, 27, N_CTX - 1] {
            decode.store_and_check(g, &mut rng, pos, 1).await;
        }
    }
}

/// A call running past n_ctx writes only the rows below it.
pub async fn rows_past_n_ctx(g: &Gpu) {
    let mut rng = Rng::new(2);
    for kv in TYPES {
        let mut s = setup(g, &mut rng, 5, kv);
        s.store_and_check(g, &mut rng, N_CTX - 3, 5).await;
        s.store_and_check(g, &mut rng, N_CTX, 5).await;
    }
}
