//! The CPU engine's whole forward pass against the NumPy float64 reference
//! (`scripts/gen-reference-logits.py`) on the two random tiny models and SmolLM2, against
//! the f32 reference backend, and against itself across thread counts and batchings.

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

fn check(bytes: &[u8], name: &str, threads: usize) {
    let meta: serde_json::Value =
        serde_json::from_slice(&fixture(&format!("reference/{name}.logits.json"))).unwrap();
    let tokens: Vec<u32> = serde_json::from_value(meta["tokens"].clone()).unwrap();
    let positions: Vec<usize> = serde_json::from_value(meta["positions"].clone()).unwrap();
    let n_vocab = meta["n_vocab"].as_u64().unwrap() as usize;
    let want: Vec<f32> = fixture(&format!("reference/{name}.logits.f32"))
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let model = load(bytes, threads);
    let got = CpuSession::new(&model, tokens.len())
        .forward_all(&tokens)
        .unwrap();
    for (row, &pos) in positions.iter().enumerate() {
        let want = &want[row * n_vocab..][..n_vocab];
        let got = &got[pos * n_vocab..][..n_vocab];
        let mean = want.iter().sum::<f32>() / n_vocab as f32;
        let std = (want.iter().map(|w| (w - mean).powi(2)).sum::<f32>() / n_vocab as f32).sqrt();
        let err = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g - w).abs())
            .fold(0f32, f32::max);
        assert!(
            err <= TOLERANCE * std,
            "{name} position {pos}: max |diff| {err} > {TOLERANCE} × std {std}"
        );
        let argmax = |v: &[f32]| (0..v.len()).fold(0, |m, j| if v[j] > v[m] { j } else { m });
        assert_eq!(
            argmax(got),
            argmax(want),
            "{name} position {pos}: top token"
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
