//! Criterion benches of the decode and prefill kernels on SmolLM2-135M's shapes, on the
//! first adapter (`cargo bench -p hearth-gpu`). Each iteration is one submit waited for,
//! so the figures include the dispatch cost a decode step pays. Speeds are measured here
//! and by `hearth bench`, never asserted in tests.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hearth_gguf::GgmlType;
use hearth_gpu::kernels::{self, AttnHeads, AttnPartials, Op, Step};
use hearth_gpu::{Gpu, GpuTensor, GpuWeights};

/// Runs `ops` `iters` times, each submit waited for, and returns the total time.
fn time(g: &Gpu, ops: &[Op], iters: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        kernels::submit(g, ops);
        g.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
    }
    t.elapsed()
}

fn weights(g: &Gpu, ty: GgmlType, rows: usize, cols: usize) -> GpuWeights {
    // a constant byte pattern: the kernels' speed does not depend on the values
    let bytes = vec![0x31u8; rows * ty.row_bytes(cols as u64).expect("whole blocks") as usize];
    GpuWeights::upload(g, "w", ty, rows, cols, &bytes).expect("upload")
}

fn matvec(c: &mut Criterion) {
    let g = Gpu::new_blocking().expect("a GPU adapter");
    let mut group = c.benchmark_group("matvec");
    for (ty, rows, cols) in [
        (GgmlType::Q4_1, 576, 576),
        (GgmlType::Q4_1, 1536, 576),
        (GgmlType::Q4_1, 576, 1536),
        (GgmlType::Q8_0, 49152, 576),
        (GgmlType::Q4_K, 1536, 768),
        (GgmlType::Q6_K, 1536, 768),
    ] {
        let w = weights(&g, ty, rows, cols);
        let x = GpuTensor::zeros(&g, cols, "x");
        let y = GpuTensor::zeros(&g, rows, "y");
        let ops = kernels::matvec(&g, &w, &x, &y, false).expect("matvec");
        group.throughput(Throughput::Bytes((rows * w.row_words * 4) as u64));
        group.bench_function(format!("{ty:?} {rows}x{cols}"), |b| {
            b.iter_custom(|n| time(&g, &ops, n))
        });
    }
}

fn matmul(c: &mut Criterion) {
    let g = Gpu::new_blocking().expect("a GPU adapter");
    let mut group = c.benchmark_group("matmul");
    group.sample_size(10);
    let (ty, rows, cols, n) = (GgmlType::Q4_1, 1536, 576, 64);
    let w = weights(&g, ty, rows, cols);
    let x = GpuTensor::zeros(&g, n * cols, "x");
    let y = GpuTensor::zeros(&g, n * rows, "y");
    let ops = kernels::matmul(&g, &w, &x, n, &y, false).expect("matmul");
    group.throughput(Throughput::Elements((2 * n * rows * cols) as u64));
    group.bench_function(format!("{ty:?} {rows}x{cols} x {n} tokens"), |b| {
        b.iter_custom(|k| time(&g, &ops, k))
    });
}

fn attention(c: &mut Criterion) {
    let g = Gpu::new_blocking().expect("a GPU adapter");
    let mut group = c.benchmark_group("attention");
    let heads = AttnHeads {
        n_head: 9,
        n_head_kv: 3,
        head_dim: 64,
    };
    let n_ctx = 2048;
    let q = GpuTensor::zeros(&g, heads.q_dim() * 64, "q");
    // the cache type a session on this adapter would use
    let kv = g.kv_type;
    let k = GpuTensor::zeros(&g, kv.words(n_ctx * heads.kv_dim()), "k_cache");
    let v = GpuTensor::zeros(&g, kv.words(n_ctx * heads.kv_dim()), "v_cache");
    let out = GpuTensor::zeros(&g, heads.q_dim() * 64, "out");
    let partials = AttnPartials::new(&g, heads, n_ctx);
    let step_buf = Step::default().buffer(&g);
    let mut decode =
        kernels::attn_decode(&g, &q, &k, &v, kv, &partials, &step_buf, None).expect("decode");
    decode.extend(kernels::attn_combine(&g, &partials, &out, &step_buf, None).expect("combine"));
    for kv_len in [64u32, 1024, 2048] {
        Step {
            pos: kv_len - 1,
            n_tokens: 1,
            kv_len,
            sample: 0,
        }
        .write(&g, &step_buf);
        group.bench_function(format!("decode kv_len {kv_len}"), |b| {
            b.iter_custom(|n| time(&g, &decode, n))
        });
    }
    let prefill = kernels::attn_prefill(&g, heads, &q, &k, &v, kv, &out, &step_buf, 64, None)
        .expect("prefill");
    Step {
        pos: 0,
        n_tokens: 64,
        kv_len: 64,
        sample: 0,
    }
    .write(&g, &step_buf);
    group.sample_size(10);
    group.bench_function("prefill 64 tokens", |b| {
        b.iter_custom(|n| time(&g, &prefill, n))
    });
}

/// The fixed cost of a dispatch: one tiny kernel, then 100 of them in one submit (a decode
/// step of SmolLM2 records about 400 dispatches).
fn dispatch(c: &mut Criterion) {
    let g = Gpu::new_blocking().expect("a GPU adapter");
    let mut group = c.benchmark_group("dispatch");
    let gate = GpuTensor::zeros(&g, 1536, "gate");
    let up = GpuTensor::zeros(&g, 1536, "up");
    let out = GpuTensor::zeros(&g, 1536, "out");
    let one = kernels::silu_mul(&g, &gate, &up, &out, 1536).expect("silu_mul");
    let mut hundred = Vec::new();
    for _ in 0..100 {
        hundred.extend(kernels::silu_mul(&g, &gate, &up, &out, 1536).expect("silu_mul"));
    }
    group.bench_function("silu_mul 1536 x1", |b| b.iter_custom(|n| time(&g, &one, n)));
    group.bench_function("silu_mul 1536 x100", |b| {
        b.iter_custom(|n| time(&g, &hundred, n))
    });
}

criterion_group!(benches, matvec, matmul, attention, dispatch);
criterion_main!(benches);
