//! The whole model on the GPU against the CPU reference (`hearth_model::Model`): logits
//! of small random models of every shape and weight format, and of SmolLM2-135M, through
//! both the prefill path (matmul, tiled attention) and the decode path (matvec,
//! flash-decoding); greedy generation identical to the CPU's. The exact checks run with an
//! f32 KV cache; the f16 cache (what adapters with shader-f16 use) is checked against the
//! same reference with a tolerance that covers its rounding.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{Rng, gpu, random_matrix};
use hearth_gguf::{GgmlType, Gguf, GgufWriter, Value};
use hearth_gpu::kernels::KvType;
use hearth_gpu::{FORMATS, FileBytes, Gpu, GpuModel, Session};
use hearth_model::Model;

/// Largest |GPU − CPU| logit, relative to the spread (std) of the CPU's logits at that
/// position: f32 sums in other orders and f32 RoPE angles, through every layer.
const LOGIT_TOL: f32 = 1e-4;
/// The same with an f16 KV cache: keys and values rounded to 11 significant bits (relative
/// error ≤ 2⁻¹¹ each) move the logits far more than f32 reordering; the worst seen was
/// 5.3e-3 × std on SmolLM2 and 2.1e-3 on the random model (lavapipe).
const LOGIT_TOL_F16: f32 = 1e-2;

/// A GPU whose sessions use an f32 KV cache, the exact path.
fn gpu_f32() -> Gpu {
    let mut g = gpu();
    g.kv_type = KvType::F32;
    g
}

/// The shape of a random test model.
#[derive(Clone, Copy, Debug)]
struct Shape {
    n_vocab: usize,
    n_embd: usize,
    n_layer: usize,
    n_head: usize,
    n_head_kv: usize,
    n_ff: usize,
    tied: bool,
    llama3_rope: bool,
    ty: GgmlType,
    /// A `gemma3` model with this sliding window (its block: post-norms, q/k norms, GeGLU,
    /// NeoX RoPE, the window on 5 of every 6 layers) instead of a `llama` one.
    gemma_window: Option<usize>,
}

/// A random Llama (or Gemma 3) model of `shape` as GGUF bytes (weights ~ 1/√cols, norms ~ 1).
fn random_model(s: Shape, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut w = GgufWriter::new();
    let hd = s.n_embd / s.n_head;
    let arch = if s.gemma_window.is_some() {
        "gemma3"
    } else {
        "llama"
    };
    let md: [(&str, Value); 10] = [
        ("context_length", Value::U32(512)),
        ("embedding_length", Value::U32(s.n_embd as u32)),
        ("block_count", Value::U32(s.n_layer as u32)),
        ("feed_forward_length", Value::U32(s.n_ff as u32)),
        ("attention.head_count", Value::U32(s.n_head as u32)),
        ("attention.head_count_kv", Value::U32(s.n_head_kv as u32)),
        ("attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        (
            "rope.freq_base",
            Value::F32(match (s.llama3_rope, s.gemma_window) {
                (true, _) => 500000.0,
                // Gemma 3's global base; its sliding-window layers' is 10000, the default
                (false, Some(_)) => 1_000_000.0,
                (false, None) => 10000.0,
            }),
        ),
        ("vocab_size", Value::U32(s.n_vocab as u32)),
        (
            "rope.scaling.factor",
            Value::F32(if s.llama3_rope { 2.0 } else { 0.0 }),
        ),
    ];
    w.add_metadata("general.architecture", arch).unwrap();
    for (k, v) in md {
        w.add_metadata(format!("{arch}.{k}"), v).unwrap();
    }
    if let Some(window) = s.gemma_window {
        let window = Value::U32(window as u32);
        w.add_metadata("gemma3.attention.sliding_window", window)
            .unwrap();
    }
    let mut mat = |w: &mut GgufWriter, name: &str, rows: usize, cols: usize, ty: GgmlType| {
        let bytes = random_matrix(&mut rng, ty, rows, cols, 1.0 / (cols as f32).sqrt());
        w.add_tensor(name, &[cols as u64, rows as u64], ty, bytes)
            .unwrap();
    };
    let norm = |w: &mut GgufWriter, name: &str, n: usize, seed: u64| {
        let mut r = Rng::new(seed);
        let v: Vec<f32> = (0..n).map(|_| 1.0 + 0.2 * r.f32()).collect();
        w.add_f32_tensor(name, &[n as u64], &v).unwrap();
    };
    let (q, kv) = (s.n_head * hd, s.n_head_kv * hd);
    mat(
        &mut w,
        "token_embd.weight",
        s.n_vocab,
        s.n_embd,
        GgmlType::Q8_0,
    );
    for l in 0..s.n_layer {
        let p = format!("blk.{l}.");
        norm(
            &mut w,
            &format!("{p}attn_norm.weight"),
            s.n_embd,
            seed * 100 + l as u64,
        );
        mat(&mut w, &format!("{p}attn_q.weight"), q, s.n_embd, s.ty);
        mat(&mut w, &format!("{p}attn_k.weight"), kv, s.n_embd, s.ty);
        mat(&mut w, &format!("{p}attn_v.weight"), kv, s.n_embd, s.ty);
        mat(&mut w, &format!("{p}attn_output.weight"), s.n_embd, q, s.ty);
        if s.gemma_window.is_some() {
            let l = l as u64;
            norm(
                &mut w,
                &format!("{p}attn_q_norm.weight"),
                hd,
                seed * 100 + 60 + l,
            );
            norm(
                &mut w,
                &format!("{p}attn_k_norm.weight"),
                hd,
                seed * 100 + 70 + l,
            );
            let n = s.n_embd;
            norm(
                &mut w,
                &format!("{p}post_attention_norm.weight"),
                n,
                seed * 100 + 80 + l,
            );
            norm(
                &mut w,
                &format!("{p}post_ffw_norm.weight"),
                n,
                seed * 100 + 90 + l,
            );
        }
        norm(
            &mut w,
            &format!("{p}ffn_norm.weight"),
            s.n_embd,
            seed * 100 + 50 + l as u64,
        );
        mat(
            &mut w,
            &format!("{p}ffn_gate.weight"),
            s.n_ff,
            s.n_embd,
            s.ty,
        );
        mat(&mut w, &format!("{p}ffn_up.weight"), s.n_ff, s.n_embd, s.ty);
        mat(
            &mut w,
            &format!("{p}ffn_down.weight"),
            s.n_embd,
            s.n_ff,
            s.ty,
        );
    }
    norm(&mut w, "output_norm.weight", s.n_embd, seed * 100 + 99);
    if !s.tied {
        mat(&mut w, "output.weight", s.n_vocab, s.n_embd, GgmlType::Q6_K);
    }
    if s.llama3_rope {
        let f: Vec<f32> = (0..hd / 2)
            .map(|i| 1.0 + 7.0 * i as f32 / (hd / 2) as f32)
            .collect();
        w.add_f32_tensor("rope_freqs.weight", &[(hd / 2) as u64], &f)
            .unwrap();
    }
    w.finish()
}

fn gpu_model(g: Gpu, bytes: &[u8]) -> GpuModel {
    let gguf = Gguf::read(bytes).unwrap();
    GpuModel::load(
        g,
        &gguf,
        &FileBytes {
            gguf: &gguf,
            file: bytes,
        },
    )
    .unwrap()
}

/// Asserts each row of `got` is within `tol` × std of the same row of `want`.
fn assert_close(what: &str, got: &[f32], want: &[f32], n_vocab: usize, tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (pos, (g, w)) in got.chunks(n_vocab).zip(want.chunks(n_vocab)).enumerate() {
        let mean = w.iter().sum::<f32>() / n_vocab as f32;
        let std = (w.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n_vocab as f32).sqrt();
        let (i, err) = g
            .iter()
            .zip(w)
            .map(|(a, b)| (a - b).abs())
            .enumerate()
            .fold(
                (0, 0f32),
                |m, e| if e.1 > m.1 || e.1.is_nan() { e } else { m },
            );
        if std::env::var_os("HEARTH_PRINT_ERR").is_some() {
            eprintln!("{what} position {pos}: |diff| / std = {:e}", err / std);
        }
        assert!(
            err <= tol * std,
            "{what} position {pos}: logit {i} is {} want {} (|diff| {err} > {tol} × std {std})",
            g[i],
            w[i]
        );
    }
}

/// GPU vs CPU on `bytes`: all-position logits (prefill path), then the same tokens fed one
/// at a time after a short prefill (decode path); f32 KV cache.
fn check_model(what: &str, bytes: &[u8], tokens: &[u32]) {
    check_model_with(what, bytes, tokens, KvType::F32, LOGIT_TOL);
}

fn check_model_with(what: &str, bytes: &[u8], tokens: &[u32], kv: KvType, tol: f32) {
    let cpu = Model::load(bytes).unwrap();
    let n_vocab = cpu.config.n_vocab;
    let mut cache = cpu.new_cache(tokens.len());
    let want = cpu.forward(tokens, &mut cache).unwrap();

    let mut g = gpu();
    g.kv_type = kv;
    let model = gpu_model(g, bytes);
    let mut s = Session::new(&model, tokens.len(), 16).unwrap();
    let got = pollster::block_on(s.logits_all(tokens)).unwrap();
    assert_close(&format!("{what} prefill"), &got, &want, n_vocab, tol);

    let mut s = Session::new(&model, tokens.len(), 16).unwrap();
    let split = 3.min(tokens.len());
    let mut got = Vec::new();
    let first = pollster::block_on(s.forward_last(&tokens[..split])).unwrap();
    got.extend(first);
    for &t in &tokens[split..] {
        got.extend(pollster::block_on(s.forward_last(&[t])).unwrap());
    }
    assert_close(
        &format!("{what} decode"),
        &got,
        &want[(split - 1) * n_vocab..],
        n_vocab,
        tol,
    );
}

fn tokens(n: usize, n_vocab: usize, seed: u64) -> Vec<u32> {
    let mut r = Rng::new(seed);
    (0..n)
        .map(|_| (r.next_u64() % n_vocab as u64) as u32)
        .collect()
}

const GQA_64: Shape = Shape {
    n_vocab: 300,
    n_embd: 256,
    n_layer: 2,
    n_head: 4,
    n_head_kv: 2,
    n_ff: 512,
    tied: false,
    llama3_rope: false,
    ty: GgmlType::Q4_1,
    gemma_window: None,
};

#[test]
fn every_weight_format() {
    for (i, &ty) in FORMATS.iter().enumerate() {
        let shape = Shape { ty, ..GQA_64 };
        check_model(
            &format!("{ty:?}"),
            &random_model(shape, i as u64),
            &tokens(21, 300, i as u64),
        );
    }
}

#[test]
fn mha_tied_head_dim_128() {
    let shape = Shape {
        n_head: 2,
        n_head_kv: 2,
        tied: true,
        ty: GgmlType::Q8_0,
        ..GQA_64
    };
    check_model(
        "MHA hd128 tied",
        &random_model(shape, 40),
        &tokens(37, 300, 40),
    );
}

#[test]
fn mqa_llama3_rope_head_dim_64() {
    let shape = Shape {
        n_head: 4,
        n_head_kv: 1,
        llama3_rope: true,
        ty: GgmlType::Q4_K,
        ..GQA_64
    };
    check_model("MQA llama3", &random_model(shape, 41), &tokens(33, 300, 41));
}

/// qwen2 (q/k/v biases, NeoX RoPE; tied and untied), qwen3 (per-head q/k norms, heads
/// wider than n_embd / n_head) and gemma3 (the embedding scaled by √n_embd, post-norms,
/// GeGLU, a RoPE base of their own and a sliding window of 5 positions on 5 of its 6
/// layers: 24 tokens, so that the prefill's batches of 16 and the decoded tokens' caches
/// are longer than the window): the CPU reference is checked against NumPy on these files
/// (crates/model/tests/reference.rs), the GPU against it here.
#[test]
fn qwen2_qwen3_and_gemma3_match_the_cpu() {
    for (name, n) in [
        ("tiny-qwen2", 9),
        ("tiny-qwen2-tied", 9),
        ("tiny-qwen3", 9),
        ("tiny-gemma3", 24),
    ] {
        let path = format!(
            "{}/../../tests/fixtures/reference/{name}.gguf",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap();
        let config = Model::load(&bytes).unwrap().config;
        if let Some(window) = config.sliding_window {
            assert!(window < n.min(16), "{name}: a window of {window}");
        }
        check_model(name, &bytes, &tokens(n, config.n_vocab, 3));
    }
}

/// A random gemma3 model whose gate and up share a format, so that decode folds the FFN's
/// norm, gate, up and GeGLU into one matvec (the fixture's differ): the logits against the
/// CPU, with a window (7) shorter than the prompt, and the dispatches of a decoded token,
/// 13 per layer (norm + q/k/v, two head norms, two RoPEs, the KV store, attention's two
/// passes, the output projection, its norm_add, norm + gate/up + GeGLU, down, its
/// norm_add; 14 without the GeGLU fusion) plus the embedding and the final norm + lm-head.
#[test]
fn gemma3_random_model_fuses_geglu_and_matches_the_cpu() {
    let shape = Shape {
        n_layer: 6,
        tied: true,
        ty: GgmlType::Q8_0,
        gemma_window: Some(7),
        ..GQA_64
    };
    let bytes = random_model(shape, 42);
    check_model("gemma3 random", &bytes, &tokens(30, shape.n_vocab, 42));
    let model = gpu_model(gpu(), &bytes);
    let n = Session::new(&model, 64, 16).unwrap().decode_dispatches();
    assert_eq!(n, 13 * shape.n_layer + 2, "dispatches of a decoded token");
}

fn smollm2() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-model",
        path.display()
    );
    std::fs::read(path).unwrap()
}

/// "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
const FRANCE: [u32; 16] = [
    1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198,
];

/// The fusions of crate::fuse hold on the real model: a decoded token's program has at
/// most 8 dispatches per layer (norm + q/k/v, RoPE + KV store, attention's two passes, the
/// output projection, norm + gate/up + SwiGLU, down: 7 where q, k and v share a format),
/// plus the embedding and the final norm + lm-head.
#[test]
fn smollm2_decode_is_at_most_eight_dispatches_per_layer() {
    let model = gpu_model(gpu(), &smollm2());
    let s = Session::new(&model, 64, 16).unwrap();
    let n_layer = model.config.n_layer;
    let n = s.decode_dispatches();
    assert!(
        n <= 8 * n_layer + 2,
        "{n} dispatches for {n_layer} layers ({:.1} per layer)",
        (n - 2) as f64 / n_layer as f64
    );
}

#[test]
fn smollm2_logits_match_the_cpu() {
    check_model("SmolLM2", &smollm2(), &FRANCE);
}

/// Gemma 3 270M (Q4_K_M), the real layout: heads of 256, 4 query heads on 1 KV head, a
/// 262144-token tied lm-head, the window (512) on 15 of its 18 layers (the fixture's
/// window is the one shorter than a prompt here: `qwen2_qwen3_and_gemma3_match_the_cpu`):
/// logits, and 16 greedy tokens equal to the CPU's.
#[test]
fn gemma3_270m_matches_the_cpu() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/gemma-3-270m-q4_k_m.gguf");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-model gemma3",
        path.display()
    );
    let bytes = std::fs::read(path).unwrap();
    let tok = hearth_model::tokenizer::Tokenizer::from_gguf(&Gguf::read(&bytes).unwrap().metadata)
        .unwrap();
    let ids = tok
        .encode(
            "The capital of France is Paris. The capital of Italy is",
            true,
            false,
        )
        .unwrap();
    check_model("Gemma 3 270M", &bytes, &ids);
    let cpu = Model::load(&bytes).unwrap();
    let (got, want) = greedy_both(&cpu, &gpu_model(gpu_f32(), &bytes), &ids, 16);
    assert_eq!(
        got,
        want,
        "greedy ids:\n gpu {:?}\n cpu {:?}",
        tok.decode(&got),
        tok.decode(&want)
    );
}

#[test]
fn smollm2_logits_with_an_f16_cache() {
    check_model_with(
        "SmolLM2 f16 KV",
        &smollm2(),
        &FRANCE,
        KvType::F16,
        LOGIT_TOL_F16,
    );
    let bytes = random_model(GQA_64, 31);
    let toks = tokens(40, GQA_64.n_vocab, 32);
    check_model_with(
        "random GQA f16 KV",
        &bytes,
        &toks,
        KvType::F16,
        LOGIT_TOL_F16,
    );
}

/// Greedy ids of `prompt` for `n` tokens past end-of-generation, on the CPU and the GPU.
fn greedy_both(cpu: &Model, gpu: &GpuModel, prompt: &[u32], n: usize) -> (Vec<u32>, Vec<u32>) {
    use hearth_model::sampler::{Sampler, SamplerConfig};
    let greedy = || {
        Sampler::new(SamplerConfig {
            temperature: 0.0,
            ..SamplerConfig::default()
        })
        .unwrap()
    };
    let stop = hearth_model::StopRule {
        max_tokens: n,
        eog: vec![],
        ignore_eos: true,
    };
    let mut cache = cpu.new_cache(prompt.len() + n);
    let want = pollster::block_on(hearth_model::generate(
        prompt,
        &mut greedy(),
        &stop,
        hearth_model::Guide::default(),
        |t| std::future::ready(cpu.forward_last(t, &mut cache)),
        |_| Ok(true),
    ))
    .unwrap();
    let mut s = Session::new(gpu, prompt.len() + n, 64).unwrap();
    let got = pollster::block_on(s.generate(
        prompt,
        &mut greedy(),
        &stop,
        hearth_model::Guide::default(),
        |_| Ok(true),
    ))
    .unwrap();
    (got, want)
}

#[test]
fn smollm2_greedy_tokens_equal_the_cpu() {
    let bytes = smollm2();
    let cpu = Model::load(&bytes).unwrap();
    let gpu = gpu_model(gpu_f32(), &bytes);
    let tok = hearth_model::tokenizer::Tokenizer::from_gguf(&Gguf::read(&bytes).unwrap().metadata)
        .unwrap();
    for prompt in [
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
        "The three primary colours are",
    ] {
        let ids = tok.encode(prompt, false, true).unwrap();
        let (got, want) = greedy_both(&cpu, &gpu, &ids, 32);
        assert_eq!(
            got,
            want,
            "greedy ids for {prompt:?}:\n gpu {:?}\n cpu {:?}",
            tok.decode(&got),
            tok.decode(&want)
        );
    }
}

#[test]
fn smollm2_constrained_greedy_tokens_equal_the_cpu() {
    use hearth_model::constraint::{Format, Grammars};
    use hearth_model::sampler::{Sampler, SamplerConfig};
    let bytes = smollm2();
    let cpu = Model::load(&bytes).unwrap();
    let gpu = gpu_model(gpu_f32(), &bytes);
    let tok = hearth_model::tokenizer::Tokenizer::from_gguf(&Gguf::read(&bytes).unwrap().metadata)
        .unwrap();
    let grammars = Grammars::new(&tok).unwrap();
    let greedy = || Sampler::new(SamplerConfig::default()).unwrap();
    let stop = hearth_model::StopRule {
        max_tokens: 48,
        eog: tok.eog_ids().to_vec(),
        ignore_eos: false,
    };
    let person = serde_json::json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "city": {"enum": ["Paris", "Lyon"]}
        },
        "required": ["name", "age", "city"],
        "additionalProperties": false
    });
    for (prompt, format) in [
        (
            "Describe a person who lives in France.",
            Format::JsonSchema(person),
        ),
        (
            "When did the Berlin wall fall?",
            Format::Regex("[0-9]{4}-[0-9]{2}-[0-9]{2}".into()),
        ),
        (
            "Is Paris in France?",
            Format::Lark("start: (\"yes\" | \"no\") \".\"\n".into()),
        ),
    ] {
        let text = format!("<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n");
        let ids = tok.encode(&text, false, true).unwrap();
        let mut c = grammars.compile(&format).unwrap();
        let mut cache = cpu.new_cache(ids.len() + 48);
        let want = pollster::block_on(hearth_model::generate(
            &ids,
            &mut greedy(),
            &stop,
            hearth_model::Guide::constrained(&mut c),
            |t| std::future::ready(cpu.forward_last(t, &mut cache)),
            |_| Ok(true),
        ))
        .unwrap();
        let mut c = grammars.compile(&format).unwrap();
        let mut s = Session::new(&gpu, ids.len() + 48, 64).unwrap();
        let got = pollster::block_on(s.generate(
            &ids,
            &mut greedy(),
            &stop,
            hearth_model::Guide::constrained(&mut c),
            |_| Ok(true),
        ))
        .unwrap();
        assert_eq!(
            got,
            want,
            "constrained greedy ids for {prompt:?}:\n gpu {:?}\n cpu {:?}",
            tok.decode(&got),
            tok.decode(&want)
        );
        // the answer is complete: the constraint has nothing more to add
        assert!(
            matches!(c.step(), hearth_model::constraint::Next::Done),
            "{:?}",
            tok.decode(&got)
        );
        // the last id counts as not run, as unconstrained
        assert_eq!(s.len(), ids.len() + got.len() - 1);
    }
}

#[test]
fn smollm2_logprobs_equal_the_references() {
    use hearth_model::logprobs::Logprobs;
    use hearth_model::sampler::{Sampler, SamplerConfig};
    let bytes = smollm2();
    let cpu = Model::load(&bytes).unwrap();
    let gpu = gpu_model(gpu_f32(), &bytes);
    let stop = hearth_model::StopRule {
        max_tokens: 6,
        eog: vec![],
        ignore_eos: true,
    };
    let greedy = || Sampler::new(SamplerConfig::default()).unwrap();
    let mut want = Logprobs::new(4).unwrap();
    let mut cache = cpu.new_cache(FRANCE.len() + 8);
    let guide = hearth_model::Guide {
        constraint: None,
        logprobs: Some(&mut want),
    };
    pollster::block_on(hearth_model::generate(
        &FRANCE,
        &mut greedy(),
        &stop,
        guide,
        |t| std::future::ready(cpu.forward_last(t, &mut cache)),
        |_| Ok(true),
    ))
    .unwrap();
    let mut got = Logprobs::new(4).unwrap();
    let mut s = Session::new(&gpu, FRANCE.len() + 8, 64).unwrap();
    let guide = hearth_model::Guide {
        constraint: None,
        logprobs: Some(&mut got),
    };
    pollster::block_on(s.generate(&FRANCE, &mut greedy(), &stop, guide, |_| Ok(true))).unwrap();
    assert_eq!(got.tokens.len(), 6);
    for (g, w) in got.tokens.iter().zip(&want.tokens) {
        assert_eq!(g.id, w.id);
        assert!((g.logprob - w.logprob).abs() < 1e-3, "{g:?} vs {w:?}");
        let ids = |t: &hearth_model::logprobs::TokenLogprob| {
            t.top.iter().map(|p| p.0).collect::<Vec<_>>()
        };
        assert_eq!(ids(g)[..2], ids(w)[..2], "{g:?} vs {w:?}");
    }
}

/// A greedy sampler maker and a rule of `n` tokens past end-of-generation.
fn greedy_for(
    n: usize,
) -> (
    impl Fn() -> hearth_model::sampler::Sampler,
    hearth_model::StopRule,
) {
    use hearth_model::sampler::{Sampler, SamplerConfig};
    let greedy = || {
        Sampler::new(SamplerConfig {
            temperature: 0.0,
            ..SamplerConfig::default()
        })
        .unwrap()
    };
    let stop = hearth_model::StopRule {
        max_tokens: n,
        eog: vec![],
        ignore_eos: true,
    };
    (greedy, stop)
}

#[test]
fn a_second_turn_reuses_the_cache() {
    let bytes = smollm2();
    let gpu = gpu_model(gpu_f32(), &bytes);
    let (greedy, stop) = greedy_for(8);
    let turn2 = [1u32, 4093, 198, 28120, 47, 2, 198, 1, 520, 9531, 198];
    // the load compiled the pipelines of prefill, sampling and decode (crate::warm)
    let at_load = gpu.gpu.pipeline_stats().count;
    assert!(at_load > 0, "the load compiled no pipeline");

    // one session: turn 1, its answer, then only turn 2's tokens are prefilled
    let mut s = Session::new(&gpu, 128, 64).unwrap();
    let a1 = pollster::block_on(s.generate(
        &FRANCE,
        &mut greedy(),
        &stop,
        hearth_model::Guide::default(),
        |_| Ok(true),
    ))
    .unwrap();
    // the last answer token was sampled but not yet run through the model: it leads turn 2
    let mut next = vec![*a1.last().unwrap()];
    next.extend(turn2);
    let before = s.len();
    let a2 = pollster::block_on(s.generate(
        &next,
        &mut greedy(),
        &stop,
        hearth_model::Guide::default(),
        |_| Ok(true),
    ))
    .unwrap();
    assert_eq!(s.len(), before + next.len() + a2.len() - 1);

    // a fresh session over the whole conversation gives the same second answer
    let mut all = FRANCE.to_vec();
    all.extend(&a1);
    all.extend(turn2);
    let mut fresh = Session::new(&gpu, 128, 64).unwrap();
    let b2 = pollster::block_on(fresh.generate(
        &all,
        &mut greedy(),
        &stop,
        hearth_model::Guide::default(),
        |_| Ok(true),
    ))
    .unwrap();
    assert_eq!(a2, b2);
    assert_eq!(
        gpu.gpu.pipeline_stats().count,
        at_load,
        "a chat compiled pipelines that the load had not"
    );
}

/// The load compiles every pipeline a chat uses (crate::warm records sessions on
/// placeholder weights): prompts of both matmul tiles, decode and sampling compile no
/// more, here with GQA, Q4_0 and a tied head, and with a gemma3 model of Q8_0 (norm_add,
/// GeGLU in decode's matvec and in prefill's gelu_mul, windowed attention, the second RoPE
/// table) (a_second_turn_reuses_the_cache: SmolLM2's Q4_1/Q8_0; cheap formats, as lavapipe
/// compiles each pipeline at its first dispatch).
#[test]
fn the_load_compiles_every_pipeline_of_a_chat() {
    use hearth_model::sampler::{Sampler, SamplerConfig};
    let llama = Shape {
        ty: GgmlType::Q4_0,
        tied: true,
        ..GQA_64
    };
    let gemma = Shape {
        n_layer: 6,
        ty: GgmlType::Q8_0,
        tied: true,
        gemma_window: Some(7),
        ..GQA_64
    };
    for (what, shape) in [("llama", llama), ("gemma3", gemma)] {
        let bytes = random_model(shape, 5);
        let model = gpu_model(gpu(), &bytes);
        let at_load = model.gpu.pipeline_labels();
        assert!(at_load.len() > 10, "{what}: {at_load:?}");
        let stop = hearth_model::StopRule {
            max_tokens: 3,
            eog: vec![],
            ignore_eos: true,
        };
        let mut s = Session::new(&model, 64, 16).unwrap();
        for prompt in [tokens(20, GQA_64.n_vocab, 1), tokens(3, GQA_64.n_vocab, 2)] {
            let mut sampler = Sampler::new(SamplerConfig::default()).unwrap();
            pollster::block_on(s.generate(
                &prompt,
                &mut sampler,
                &stop,
                hearth_model::Guide::default(),
                |_| Ok(true),
            ))
            .unwrap();
        }
        let mut after = model.gpu.pipeline_labels();
        after.retain(|l| !at_load.contains(l));
        assert!(
            after.is_empty(),
            "{what}: compiled after the load: {after:?}"
        );
    }
}

#[test]
fn a_full_context_is_an_error() {
    let model = gpu_model(gpu_f32(), &random_model(GQA_64, 7));
    let mut s = Session::new(&model, 8, 4).unwrap();
    assert_eq!(s.capacity(), 8);
    pollster::block_on(s.forward_last(&[1, 2, 3, 4, 5, 6])).unwrap();
    let err = pollster::block_on(s.forward_last(&[7, 8, 9]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("context is full"), "{err}");
    assert_eq!(s.len(), 6, "a refused call leaves the cache as it was");
    pollster::block_on(s.forward_last(&[7, 8])).unwrap();
    let err = pollster::block_on(s.forward_last(&[300]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("context is full"), "{err}");
    s.clear();
    let err = pollster::block_on(s.forward_last(&[300]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside the vocabulary"), "{err}");
}

/// A session's KV cache read out as snapshot bytes (hearth_model::kv_snapshot) and written
/// into a fresh session, with an f32 and an f16 cache: the next turn there prefills only
/// its new tokens and answers as the first session does, going on in place; the bytes are
/// the layout's size; bytes that do not fit are refused.
#[test]
fn a_kv_snapshot_moves_a_conversation_to_a_fresh_session() {
    use hearth_model::conversation::Conversation;
    use hearth_model::kv_snapshot::KvSnapshot;
    let bytes = smollm2();
    let (greedy, stop) = greedy_for(8);
    let turn = |conv: &mut Conversation, s: &mut Session, prompt: &[u32]| {
        pollster::block_on(conv.run(
            s,
            prompt,
            &mut greedy(),
            &stop,
            hearth_model::Guide::default(),
            |_| Ok(true),
        ))
        .unwrap()
    };
    for kv in [KvType::F32, KvType::F16] {
        let mut g = gpu();
        g.kv_type = kv;
        let model = gpu_model(g, &bytes);
        let mut a = Session::new(&model, 128, 64).unwrap();
        let mut conv_a = Conversation::new();
        let a1 = turn(&mut conv_a, &mut a, &FRANCE);
        let (ids, snap) = pollster::block_on(conv_a.snapshot(&mut a, 0)).unwrap();
        assert_eq!(ids, conv_a.held());
        let c = &model.config;
        let value = if kv == KvType::F16 { 2 } else { 4 };
        assert_eq!(
            snap.len(),
            ids.len() * 2 * c.n_layer * c.kv_dim() * value,
            "{kv:?}"
        );

        let mut b = Session::new(&model, 128, 64).unwrap();
        let mut conv_b = Conversation::new();
        conv_b.restore(&mut b, 0, &ids, &snap).unwrap();
        let mut next = FRANCE.to_vec();
        next.extend(&a1.ids);
        next.extend([1u32, 4093, 198, 28120, 47, 2, 198, 1, 520, 9531, 198]);
        let b2 = turn(&mut conv_b, &mut b, &next);
        let a2 = turn(&mut conv_a, &mut a, &next);
        assert_eq!(
            b2.reused_tokens,
            ids.len(),
            "{kv:?}: only the new tokens ran"
        );
        assert_eq!(
            b2.ids, a2.ids,
            "{kv:?}: the restored session answers as the first"
        );

        // a partial position, or more positions than the session takes, are refused
        let mut c2 = Session::new(&model, 8, 8).unwrap();
        assert!(c2.import_kv(0, &snap[..snap.len() - 4]).is_err());
        assert!(c2.import_kv(0, &snap).is_err());
        assert_eq!(c2.len(), 0);
    }
}
