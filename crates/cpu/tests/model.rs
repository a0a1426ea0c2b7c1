//! The CPU engine's whole forward pass against the NumPy float64 reference
//! (`scripts/gen-reference-logits.py`, `gen-arch-reference.py`) on the random tiny models
//! and SmolLM2, against the f32 reference backend, and against itself across thread
//! counts and batchings.

use hearth_cpu::{CpuModel, CpuSession};
use hearth_gguf::Gguf;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
fn fixture(name: &str) -> Vec<u8> {
    let p = root().join("tests/fixtures").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
/// The real model; missing is a failure (run scripts/fetch-model), never a skip.
fn real_model() -> Vec<u8> {
    let p = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}: run scripts/fetch-model", p.display()))
}

fn load(bytes: &[u8], threads: usize) -> CpuModel {
    let gguf = Gguf::read(bytes).unwrap();
    CpuModel::load(&gguf, bytes, threads).unwrap()
}

/// Largest allowed |logit − reference| relative to the reference logits' std at that
/// position: the 16-bit activation rounding (≈ 3e-5 of a block's max per value) carried
/// through the whole pass. Measured worst: 3.2e-3 on SmolLM2.
const TOLERANCE: f32 = 1e-2;

/// A fixture's NumPy reference: the prompt, the positions it has logits of, those logits.
struct Reference {
    tokens: Vec<u32>,
    positions: Vec<usize>,
    n_vocab: usize,
    logits: Vec<f32>,
}

fn reference(name: &str) -> Reference {
    let meta: serde_json::Value =
        serde_json::from_slice(&fixture(&format!("reference/{name}.logits.json"))).unwrap();
    Reference {
        tokens: serde_json::from_value(meta["tokens"].clone()).unwrap(),
        positions: serde_json::from_value(meta["positions"].clone()).unwrap(),
        n_vocab: meta["n_vocab"].as_u64().unwrap() as usize,
        logits: fixture(&format!("reference/{name}.logits.f32"))
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
    }
}

/// One position's logits `got` against the reference's `want`: within [`TOLERANCE`] of
/// its std, and the same top token.
fn compare(what: &str, got: &[f32], want: &[f32]) {
    let n_vocab = want.len();
    let mean = want.iter().sum::<f32>() / n_vocab as f32;
    let std = (want.iter().map(|w| (w - mean).powi(2)).sum::<f32>() / n_vocab as f32).sqrt();
    let err = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0f32, f32::max);
    assert!(
        err <= TOLERANCE * std,
        "{what}: max |diff| {err} > {TOLERANCE} × std {std}"
    );
    let argmax = |v: &[f32]| (0..v.len()).fold(0, |m, j| if v[j] > v[m] { j } else { m });
    assert_eq!(argmax(got), argmax(want), "{what}: top token");
}

fn check(bytes: &[u8], name: &str, threads: usize) {
    let r = reference(name);
    let model = load(bytes, threads);
    let got = CpuSession::new(&model, r.tokens.len())
        .forward_all(&r.tokens)
        .unwrap();
    for (row, &pos) in r.positions.iter().enumerate() {
        compare(
            &format!("{name} position {pos}"),
            &got[pos * r.n_vocab..][..r.n_vocab],
            &r.logits[row * r.n_vocab..][..r.n_vocab],
        );
    }
}

#[test]
fn tiny_llama3_gqa_untied_matches_numpy() {
    check(&fixture("reference/tiny-llama3.gguf"), "tiny-llama3", 3);
}

#[test]
fn tiny_mha_tied_matches_numpy() {
    check(&fixture("reference/tiny-mha-tied.gguf"), "tiny-mha-tied", 2);
}

#[test]
fn tiny_qwen2_and_qwen3_match_numpy() {
    for (name, threads) in [("tiny-qwen2", 2), ("tiny-qwen2-tied", 1), ("tiny-qwen3", 3)] {
        check(&fixture(&format!("reference/{name}.gguf")), name, threads);
    }
}

/// Gemma 3 (embedding scaled by √n_embd, post-norms, GeGLU, NeoX RoPE with a base of its
/// own on the sliding-window layers): six layers, so five local (window of 5) and one
/// global, over a 13-token prompt: one batch longer than the window, then token by token
/// (decode, the cache soon longer than the window), both against NumPy.
#[test]
fn tiny_gemma3_matches_numpy() {
    let name = "tiny-gemma3";
    let bytes = fixture(&format!("reference/{name}.gguf"));
    check(&bytes, name, 3);
    let r = reference(name);
    let model = load(&bytes, 2);
    let mut s = CpuSession::new(&model, r.tokens.len());
    for (i, &t) in r.tokens.iter().enumerate() {
        let got = s.forward_last(&[t]).unwrap();
        if let Some(row) = r.positions.iter().position(|&p| p == i) {
            let want = &r.logits[row * r.n_vocab..][..r.n_vocab];
            compare(&format!("{name} decoded position {i}"), &got, want);
        }
    }
}

/// Gemma 3's sliding window far past its length and past the attention spans (200
/// positions: a window of 5, spans of 64, a prefill of two batches of `N_BATCH` and less):
/// prefilled and decoded after a long cache, against the f32 reference backend
/// (`hearth_model::Model`) at every position, and the same bits on 1 and 3 threads.
#[test]
fn tiny_gemma3_long_context_matches_the_f32_reference() {
    let bytes = fixture("reference/tiny-gemma3.gguf");
    let tokens: Vec<u32> = (0..200u32).map(|i| (i * 37 + 11) % 256).collect();
    let reference = hearth_model::Model::load(&bytes).unwrap();
    let want = reference
        .forward(&tokens, &mut reference.new_cache(tokens.len()))
        .unwrap();
    let n_vocab = want.len() / tokens.len();
    let one = load(&bytes, 1);
    let all = CpuSession::new(&one, tokens.len())
        .forward_all(&tokens)
        .unwrap();
    for (i, (got, want)) in all
        .chunks_exact(n_vocab)
        .zip(want.chunks_exact(n_vocab))
        .enumerate()
    {
        compare(&format!("tiny-gemma3 prefill position {i}"), got, want);
    }
    let three = load(&bytes, 3);
    let again = CpuSession::new(&three, tokens.len())
        .forward_all(&tokens)
        .unwrap();
    assert!(again == all, "3 threads differ from one");
    // a prefill of 150 (two batches), then 50 decoded one by one
    let mut s = CpuSession::new(&three, tokens.len());
    s.forward_last(&tokens[..150]).unwrap();
    for i in 150..tokens.len() {
        let got = s.forward_last(&tokens[i..i + 1]).unwrap();
        let want = &want[i * n_vocab..][..n_vocab];
        compare(&format!("tiny-gemma3 decoded position {i}"), &got, want);
    }
}

#[test]
fn smollm2_matches_numpy() {
    check(&real_model(), "smollm2", 0);
}

/// Same bits whatever the thread count, and whether a prompt runs in one call, token by
/// token, or split across calls.
#[test]
fn results_do_not_depend_on_threads_or_batching() {
    let bytes = fixture("reference/tiny-llama3.gguf");
    let tokens = [5u32, 17, 250, 3, 99, 42, 7, 1, 0, 299, 12];
    let one = load(&bytes, 1);
    let want = CpuSession::new(&one, 32).forward_all(&tokens).unwrap();
    for threads in [2, 3, 5] {
        let m = load(&bytes, threads);
        assert_eq!(m.threads(), threads);
        let got = CpuSession::new(&m, 32).forward_all(&tokens).unwrap();
        assert!(got == want, "{threads} threads differ from one");
    }
    // token by token: each last-position logits row equals the one-pass row
    let n_vocab = want.len() / tokens.len();
    let mut s = CpuSession::new(&one, 32);
    for (i, &t) in tokens.iter().enumerate() {
        let row = s.forward_last(&[t]).unwrap();
        let diff = row
            .iter()
            .zip(&want[i * n_vocab..][..n_vocab])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        // a batch tiles 4 tokens per weight pass: the same sums, possibly reassociated
        assert!(diff <= 1e-4, "token {i}: {diff}");
    }
    // a rewound session recomputes the same
    s.truncate(5);
    let again = s.forward_last(&tokens[5..]).unwrap();
    assert_eq!(again.len(), n_vocab);
    let last = &want[(tokens.len() - 1) * n_vocab..];
    let diff = again
        .iter()
        .zip(last)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff <= 1e-4, "after truncate: {diff}");
}

#[test]
fn full_context_and_bad_ids_are_errors() {
    let m = load(&fixture("reference/tiny-llama3.gguf"), 2);
    let mut s = CpuSession::new(&m, 3);
    let err = s.forward_last(&[1, 2, 3, 4]).unwrap_err().to_string();
    assert!(err.contains("context is full"), "{err}");
    let err = s.forward_last(&[u32::MAX]).unwrap_err().to_string();
    assert!(err.contains("outside the vocabulary"), "{err}");
    assert!(s.forward_last(&[1, 2, 3]).is_ok());
}

/// A session's KV cache read out as snapshot bytes (hearth_model::kv_snapshot) and written
/// into a fresh session: the next turn there prefills only its new tokens and answers as
/// the first session does, going on in place.
#[test]
fn a_kv_snapshot_moves_a_conversation_to_a_fresh_session() {
    use hearth_model::conversation::Conversation;
    use hearth_model::kv_snapshot::KvSnapshot;
    use hearth_model::sampler::{Sampler, SamplerConfig};
    let model = load(&real_model(), 2);
    let turn = |conv: &mut Conversation, s: &mut CpuSession<&CpuModel>, prompt: &[u32]| {
        let mut greedy = Sampler::new(SamplerConfig {
            temperature: 0.0,
            ..SamplerConfig::default()
        })
        .unwrap();
        let stop = hearth_model::StopRule {
            max_tokens: 8,
            eog: vec![],
            ignore_eos: true,
        };
        pollster::block_on(conv.run(
            s,
            prompt,
            &mut greedy,
            &stop,
            hearth_model::Guide::default(),
            |_| Ok(true),
        ))
        .unwrap()
    };
    // "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    let france = [
        1u32, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198,
    ];
    let mut a = CpuSession::new(&model, 128);
    let mut conv_a = Conversation::new();
    let a1 = turn(&mut conv_a, &mut a, &france);
    let (ids, snap) = pollster::block_on(conv_a.snapshot(&mut a, 0)).unwrap();
    assert_eq!(snap.len(), ids.len() * a.position_bytes());
    let mut b = CpuSession::new(&model, 128);
    let mut conv_b = Conversation::new();
    conv_b.restore(&mut b, 0, &ids, &snap).unwrap();
    let mut next = france.to_vec();
    next.extend(&a1.ids);
    next.extend([1u32, 4093, 198, 28120, 47, 2, 198, 1, 520, 9531, 198]);
    let b2 = turn(&mut conv_b, &mut b, &next);
    let a2 = turn(&mut conv_a, &mut a, &next);
    assert_eq!(b2.reused_tokens, ids.len(), "only the new tokens ran");
    assert_eq!(b2.ids, a2.ids);
}
