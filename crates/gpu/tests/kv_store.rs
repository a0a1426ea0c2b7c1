//! kv_store.wgsl against the expected caches (its twin is a copy, rounded to f16 for an f16
//! cache), for both cache types: a prefill and a decode step into caches that already hold
//! other rows, a call running past n_ctx, and the check that the Rust and WGSL `Step`
//! structs have the same size. f32 caches must match bit for bit; an f16 value must be one
//! of the two f16 neighbours of the f32 (WGSL lets pack2x16float round either way).

mod common;

use common::{Rng, gpu};
use half::f16;
use hearth_gpu::kernels::{self, KvType, Step};
use hearth_gpu::{Gpu, GpuTensor};

const TYPES: [KvType; 2] = [KvType::F32, KvType::F16];

/// Cache values as the buffer's words.
fn to_words(kv: KvType, values: &[f32]) -> Vec<u32> {
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
fn from_words(kv: KvType, words: &[u32]) -> Vec<f32> {
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
fn stored_ok(kv: KvType, got: f32, want: f32) -> bool {
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
const N_CTX: usize = 50;
/// Floats per cache row: not a multiple of the workgroup.
const KV_DIM: usize = 100;
/// Rows past n_ctx in the caches' buffers, which the kernel must leave alone (a write
/// past the end of a buffer would be dropped by robust buffer access, and go unseen).
const SPARE: usize = 4;

/// Caches filled with earlier rows, prepared ops for `n_tokens` new rows, and the buffers.
struct Setup {
    k: GpuTensor,
    v: GpuTensor,
    /// The caches' whole buffers, spare rows included.
    k_buffer: GpuTensor,
    v_buffer: GpuTensor,
    step: wgpu::Buffer,
    ops: Vec<kernels::Op>,
    want_k: Vec<f32>,
    want_v: Vec<f32>,
    kv: KvType,
}

fn setup(g: &Gpu, rng: &mut Rng, n_tokens: usize, kv: KvType) -> Setup {
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
    fn store_and_check(&mut self, g: &Gpu, rng: &mut Rng, pos: usize, n_tokens: usize) {
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
            let got = from_words(self.kv, &cache.read_blocking::<u32>(g).unwrap());
            assert_eq!(got.len(), want.len());
            for (i, (a, b)) in got.iter().zip(want.iter()).enumerate() {
                assert!(
                    stored_ok(self.kv, *a, *b),
                    "{:?}: {n_tokens} rows at {pos}: {name} row {} col {}: got {a:e} want {b:e}",
                    self.kv,
                    i / KV_DIM,
                    i % KV_DIM
                );
            }
        }
    }
}

#[test]
fn prefill_then_decode_land_in_their_rows() {
    let g = gpu();
    let mut rng = Rng::new(1);
    for kv in TYPES {
        let mut prefill = setup(&g, &mut rng, 7, kv);
        prefill.store_and_check(&g, &mut rng, 0, 7);
        prefill.store_and_check(&g, &mut rng, 20, 7);
        let mut decode = setup(&g, &mut rng, 1, kv);
        for pos in [0, 1, 27, N_CTX - 1] {
            decode.store_and_check(&g, &mut rng, pos, 1);
        }
    }
}

#[test]
fn rows_past_n_ctx_are_not_written() {
    let g = gpu();
    let mut rng = Rng::new(2);
    for kv in TYPES {
        let mut s = setup(&g, &mut rng, 5, kv);
        s.store_and_check(&g, &mut rng, N_CTX - 3, 5);
        s.store_and_check(&g, &mut rng, N_CTX, 5);
    }
}

/// Binding a `Step` buffer succeeds, and one 4 bytes shorter fails: the WGSL struct (whose
/// size wgpu takes as the binding's minimum) is exactly `size_of::<Step>()` bytes. Field
/// order is checked by the other tests, which read `pos` at its place among nonzero fields.
#[test]
fn rust_and_wgsl_step_have_the_same_size() {
    let g = gpu();
    let k = GpuTensor::zeros(&g, KV_DIM, "k");
    let k_cache = GpuTensor::zeros(&g, N_CTX * KV_DIM, "k_cache");
    let v_cache = GpuTensor::zeros(&g, N_CTX * KV_DIM, "v_cache");
    let bind_with = |bytes: usize| {
        let step = g.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step"),
            size: bytes as u64,
            usage: wgpu::BufferUsages::UNIFORM,
            mapped_at_creation: false,
        });
        let scope = g.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let ops = kernels::kv_store(
            &g,
            &k,
            &k,
            &k_cache,
            &v_cache,
            KvType::F32,
            &step,
            1,
            KV_DIM,
        );
        let error = pollster::block_on(scope.pop());
        assert!(ops.is_ok());
        error
    };
    let size = size_of::<Step>();
    assert_eq!(size, 16);
    assert!(bind_with(size).is_none());
    let short = bind_with(size - 4).expect("a short Step buffer must not bind");
    assert!(short.to_string().contains("ind"), "{short}");
}

#[test]
fn bad_shapes_are_errors() {
    let g = gpu();
    let step = Step::default().buffer(&g);
    let k = GpuTensor::zeros(&g, 2 * KV_DIM, "k");
    let short = GpuTensor::zeros(&g, 2 * KV_DIM - 1, "short");
    let kc = GpuTensor::zeros(&g, N_CTX * KV_DIM, "k_cache");
    let vc = GpuTensor::zeros(&g, N_CTX * KV_DIM, "v_cache");
    let small = GpuTensor::zeros(&g, N_CTX * KV_DIM - KV_DIM, "small cache");
    let store = |k: &GpuTensor, v: &GpuTensor, kc: &GpuTensor, vc: &GpuTensor, kv_dim| {
        kernels::kv_store(&g, k, v, kc, vc, KvType::F32, &step, 2, kv_dim)
    };
    assert!(store(&k, &k, &kc, &vc, KV_DIM).is_ok());
    assert!(store(&k, &short, &kc, &vc, KV_DIM).is_err());
    assert!(store(&k, &k, &kc, &small, KV_DIM).is_err());
    assert!(store(&k, &k, &kc, &vc, 0).is_err());
    // rows that are not whole vec4s
    assert!(store(&k, &k, &kc, &vc, 50).is_err());
    // one buffer for both caches, or a cache that is also a source
    assert!(store(&k, &k, &kc, &kc, KV_DIM).is_err());
    assert!(store(&k, &k, &kc, &k, KV_DIM).is_err());
    // an f16 cache holds two values a word: half the words of f32 suffice
    let half_c = GpuTensor::zeros(&g, N_CTX * KV_DIM / 2, "f16 k_cache");
    let half_v = GpuTensor::zeros(&g, N_CTX * KV_DIM / 2, "f16 v_cache");
    let f16_store = kernels::kv_store(&g, &k, &k, &half_c, &half_v, KvType::F16, &step, 2, KV_DIM);
    assert!(f16_store.is_ok());
}
