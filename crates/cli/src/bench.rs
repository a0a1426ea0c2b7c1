//! `hearth bench`: prefill and decode speed of the GPU engine or the CPU engine on a
//! model, the weight bytes a decoded token reads, and the bandwidth roofline of the same
//! adapter (or of the CPU's memory, read by the same threads).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use hearth_gpu::{FileBytes, GpuModel, Session, roofline};
use hearth_model::StopRule;
use hearth_model::sampler::{Sampler, SamplerConfig};

use crate::engine::{Backend, Kv, N_BATCH, resolve};
use crate::model_file;

/// Options of `hearth bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[arg(long)]
    model: PathBuf,
    /// Prompt length for the prefill measurement.
    #[arg(long, default_value_t = 128)]
    prompt_tokens: usize,
    /// Tokens decoded (greedy, past end-of-generation tokens).
    #[arg(long, default_value_t = 64)]
    gen_tokens: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also time every kernel of a decode step and of the prefill, one at a time.
    #[arg(long)]
    profile: bool,
    /// KV cache type.
    #[arg(long, value_enum, default_value_t = Kv::Auto)]
    kv: Kv,
    /// The engine to measure (`reference` is not benchmarked).
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    /// Threads of the CPU engine (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// GPU: also time decode from this KV length on (0: only after the prompt). The
    /// positions before it are taken as cached without being computed (decode's cost does
    /// not depend on what the cache holds), so a long context costs no prefill here.
    #[arg(long, default_value_t = 0)]
    decode_at: usize,
    /// Measure constrained decoding instead: a chat answer held to the JSON Schema in
    /// FILE against the same tokens unconstrained, the mask's cost per token, compile time.
    #[arg(long, value_name = "FILE")]
    json_schema: Option<PathBuf>,
}

/// A fixed pseudo-random prompt of `n` ids (Knuth's multiplicative hash over the vocabulary).
fn bench_prompt(n: usize, n_vocab: u64) -> Vec<u32> {
    (0..n.max(1) as u64)
        .map(|i| ((i * 2_654_435_761) % n_vocab) as u32)
        .collect()
}

/// Bytes the roofline kernel streams per measurement.
const ROOFLINE_BYTES: u64 = 256 << 20;

/// Runs the benchmark and prints its figures.
pub fn run(a: &BenchArgs) -> Result<(), String> {
    if let Some(schema) = &a.json_schema {
        let backend = resolve(a.backend).0;
        return crate::bench_constraint::run(&a.model, schema, backend, a.kv, a.threads, a.json);
    }
    match resolve(a.backend).0 {
        Backend::Gpu => run_gpu(a),
        Backend::Cpu | Backend::Auto => run_cpu(a),
        Backend::Reference => Err("bench measures the gpu or cpu engine".into()),
    }
}

/// The CPU engine: prefill of the prompt in one call, then greedy decode token by token.
fn run_cpu(a: &BenchArgs) -> Result<(), String> {
    let e = |e: hearth_cpu::CpuError| e.to_string();
    let (gguf, bytes) = model_file::read_model(&a.model)?;
    let model = hearth_cpu::CpuModel::load(&gguf, &bytes, a.threads).map_err(e)?;
    drop(bytes);
    let prompt = bench_prompt(a.prompt_tokens, model.config.n_vocab as u64);
    let n_ctx = prompt.len() + a.gen_tokens + 1;
    // warm-up: touch every weight once
    hearth_cpu::CpuSession::new(&model, n_ctx)
        .forward_last(&prompt[..prompt.len().min(8)])
        .map_err(e)?;
    let mut session = hearth_cpu::CpuSession::new(&model, n_ctx);
    let t0 = Instant::now();
    let mut logits = session.forward_last(&prompt).map_err(e)?;
    let prefill_s = t0.elapsed().as_secs_f64();
    let argmax = |v: &[f32]| (0..v.len()).fold(0, |m, j| if v[j] > v[m] { j } else { m });
    let t1 = Instant::now();
    let n_gen = a.gen_tokens.max(1);
    for _ in 0..n_gen {
        let id = argmax(&logits) as u32;
        logits = session.forward_last(&[id]).map_err(e)?;
    }
    let decode_s = t1.elapsed().as_secs_f64();
    let prefill_tps = prompt.len() as f64 / prefill_s;
    let decode_tps = n_gen as f64 / decode_s;
    let bytes_per_token = model.weight_bytes_per_token();
    let roofline =
        hearth_cpu::roofline::stream_read_bandwidth(model.pool(), ROOFLINE_BYTES as usize, 5);
    let achieved = bytes_per_token as f64 * decode_tps;
    let isa = hearth_cpu::kernel::isa();
    if a.json {
        let obj = serde_json::json!({
            "backend": "cpu",
            "threads": model.threads(),
            "isa": isa,
            "prompt_tokens": prompt.len(),
            "gen_tokens": n_gen,
            "prefill_tokens_per_s": prefill_tps,
            "decode_tokens_per_s": decode_tps,
            "weight_bytes_per_token": bytes_per_token,
            "achieved_bandwidth_bytes_per_s": achieved,
            "roofline_bandwidth_bytes_per_s": roofline,
            "roofline_tokens_per_s": roofline / bytes_per_token as f64,
        });
        println!("{obj}");
    } else {
        println!(
            "backend:            CPU engine, {} threads, {isa}",
            model.threads()
        );
        println!(
            "prefill:            {prefill_tps:.1} tokens/s ({} tokens in {prefill_s:.3} s)",
            prompt.len()
        );
        println!("decode:             {decode_tps:.1} tokens/s ({n_gen} tokens)");
        println!("weights per token:  {:.1} MB", bytes_per_token as f64 / 1e6);
        println!(
            "achieved bandwidth: {:.2} GB/s ({:.0}% of the roofline)",
            achieved / 1e9,
            100.0 * achieved / roofline
        );
        println!(
            "roofline bandwidth: {:.2} GB/s (streaming read of {} MB on {} threads)",
            roofline / 1e9,
            ROOFLINE_BYTES >> 20,
            model.threads()
        );
    }
    Ok(())
}

/// The GPU engine: prefill and decode through `Session::generate` (sampling on the GPU).
fn run_gpu(a: &BenchArgs) -> Result<(), String> {
    let e = |e: hearth_gpu::GpuError| e.to_string();
    let t_start = Instant::now();
    let (gguf, bytes) = model_file::read_model(&a.model)?;
    let model = GpuModel::load(
        a.kv.gpu()?,
        &gguf,
        &FileBytes {
            gguf: &gguf,
            file: &bytes,
        },
    )
    .map_err(e)?;
    let load_s = t_start.elapsed().as_secs_f64();
    // the load compiled every pipeline (crate hearth_gpu::warm_pipelines), alongside the upload
    let at_load = model.gpu.pipeline_stats();
    let prompt = bench_prompt(a.prompt_tokens, model.config.n_vocab as u64);
    let n_ctx = (prompt.len() + a.gen_tokens + 1).max(a.decode_at + a.gen_tokens.max(2) + 2);

    // warm-up: touch every buffer (and compile any pipeline the load missed)
    let t_warm = Instant::now();
    let mut warm = Session::new(&model, n_ctx, N_BATCH).map_err(e)?;
    pollster::block_on(warm.forward_last(&prompt[..prompt.len().min(8)])).map_err(e)?;
    // the process's start (file cached by the OS) to the first token of an 8-token prompt,
    // every pipeline compiled on the way
    let first_token_s = t_start.elapsed().as_secs_f64();
    pollster::block_on(warm.forward_last(&prompt[..1])).map_err(e)?;
    let warm_s = t_warm.elapsed().as_secs_f64();
    let dispatches = warm.decode_dispatches();
    drop(warm);
    let compiled = model.gpu.pipeline_stats();
    let (pipelines, compile_s) = (at_load.count, at_load.seconds);
    let late_pipelines = compiled.count - at_load.count;
    let n_layer = model.config.n_layer.max(1);

    let mut session = Session::new(&model, n_ctx, N_BATCH).map_err(e)?;
    let mut sampler = Sampler::new(SamplerConfig {
        temperature: 0.0,
        ..SamplerConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let stop = StopRule {
        max_tokens: a.gen_tokens.max(2),
        eog: vec![],
        ignore_eos: true,
    };
    let mut times = Vec::with_capacity(stop.max_tokens);
    let t0 = Instant::now();
    pollster::block_on(session.generate(
        &prompt,
        &mut sampler,
        &stop,
        hearth_model::Guide::default(),
        |_| {
            times.push(Instant::now());
            Ok(true)
        },
    ))
    .map_err(e)?;
    let prefill_s = (times[0] - t0).as_secs_f64();
    let decode_s = (*times.last().unwrap_or(&times[0]) - times[0]).as_secs_f64();
    let prefill_tps = prompt.len() as f64 / prefill_s;
    let decode_tps = (times.len() - 1) as f64 / decode_s.max(1e-9);
    drop(session);
    // decode from a long KV length, its first positions assumed cached
    let decode_at_tps = if a.decode_at > 0 {
        let mut s = Session::new(&model, n_ctx, N_BATCH).map_err(e)?;
        s.assume_cached(a.decode_at).map_err(e)?;
        let mut t = Vec::with_capacity(stop.max_tokens);
        pollster::block_on(s.generate(
            &prompt[..1],
            &mut sampler,
            &stop,
            hearth_model::Guide::default(),
            |_| {
                t.push(Instant::now());
                Ok(true)
            },
        ))
        .map_err(e)?;
        let span = (*t.last().unwrap_or(&t[0]) - t[0]).as_secs_f64();
        Some((t.len() - 1) as f64 / span.max(1e-9))
    } else {
        None
    };

    let g = &model.gpu;
    let bytes_per_token = model.weight_bytes_per_token();
    let roof_bytes = ROOFLINE_BYTES.min(g.max_binding_bytes) as usize;
    let roofline = roofline::stream_bandwidth(g, roof_bytes, 10).map_err(e)?;
    let achieved = bytes_per_token as f64 * decode_tps;
    let predicted_tps = roofline / bytes_per_token as f64;

    if a.json {
        let obj = serde_json::json!({
            "adapter": g.adapter_name(),
            "kv_cache": format!("{:?}", g.kv_type),
            "prompt_tokens": prompt.len(),
            "gen_tokens": times.len(),
            "prefill_tokens_per_s": prefill_tps,
            "decode_tokens_per_s": decode_tps,
            "weight_bytes_per_token": bytes_per_token,
            "achieved_bandwidth_bytes_per_s": achieved,
            "roofline_bandwidth_bytes_per_s": roofline,
            "roofline_tokens_per_s": predicted_tps,
            "decode_dispatches": dispatches,
            "dispatches_per_layer": dispatches as f64 / n_layer as f64,
            "pipelines": pipelines,
            "pipeline_compile_s": compile_s,
            "pipelines_after_load": late_pipelines,
            "warm_up_s": warm_s,
            "load_s": load_s,
            "start_to_first_token_s": first_token_s,
            "decode_at": a.decode_at,
            "decode_at_tokens_per_s": decode_at_tps,
            "matvec": g.matvec_kernel().name(),
        });
        println!("{obj}");
    } else {
        let gb = |b: f64| b / 1e9;
        println!("adapter:            {}", g.adapter_name());
        println!(
            "dispatches:         {dispatches} per decoded token ({:.1} per layer, embedding and lm-head included)",
            dispatches as f64 / n_layer as f64
        );
        println!(
            "pipelines:          {pipelines} compiled during the load, {compile_s:.2} s summed over its threads ({late_pipelines} after it; warm-up {warm_s:.2} s)"
        );
        println!(
            "start, first token: {first_token_s:.2} s (load {load_s:.2} s, pipelines compiled alongside, then an 8-token prompt)"
        );
        println!("KV cache:           {:?}", g.kv_type);
        println!("matvec kernel:      {}", g.matvec_kernel().name());
        println!(
            "prefill:            {prefill_tps:.1} tokens/s ({} tokens in {prefill_s:.3} s)",
            prompt.len()
        );
        println!(
            "decode:             {decode_tps:.1} tokens/s ({} tokens)",
            times.len()
        );
        if let Some(tps) = decode_at_tps {
            println!(
                "decode at {:>6}:   {tps:.1} tokens/s (KV length {} on, earlier positions assumed cached)",
                a.decode_at, a.decode_at
            );
        }
        println!("weights per token:  {:.1} MB", bytes_per_token as f64 / 1e6);
        println!(
            "achieved bandwidth: {:.2} GB/s ({:.0}% of the roofline)",
            gb(achieved),
            100.0 * achieved / roofline
        );
        println!(
            "roofline bandwidth: {:.2} GB/s (stream_read over {} MB)",
            gb(roofline),
            roof_bytes >> 20
        );
        println!(
            "roofline decode:    {predicted_tps:.1} tokens/s (decode reaches {:.0}%)",
            100.0 * decode_tps / predicted_tps
        );
    }
    if a.profile {
        let mut s = Session::new(&model, n_ctx, N_BATCH).map_err(e)?;
        pollster::block_on(s.forward_last(&prompt)).map_err(e)?;
        s.truncate(prompt.len() / 2);
        let [decode, prefill] = s.profile(prompt.len() / 2).map_err(e)?;
        for (what, times) in [("decode step", decode), ("prefill", prefill)] {
            let total: f64 = times.iter().map(|t| t.1).sum();
            println!(
                "\n{what}: {:.2} ms in all, kernels run one by one",
                total * 1e3
            );
            for (label, t) in times {
                println!(
                    "  {:>9.3} ms  {:>5.1}%  {label}",
                    t * 1e3,
                    100.0 * t / total
                );
            }
        }
    }
    Ok(())
}
