//! The CPU reference forward pass against an independent NumPy implementation
//! (`scripts/gen-reference-logits.py`: weights dequantized by the `gguf` package, math in
//! float64), on small random models (llama; and from `scripts/gen-arch-reference.py`,
//! qwen2 and qwen3) and on SmolLM2-135M-Instruct.

mod common;

use common::{fixture, real_model};
use hearth_model::Model;

/// Largest allowed |logit − reference|, relative to the spread (std) of the reference
/// logits at that position. f32 accumulation against float64 math over the whole pass.
const TOLERANCE: f32 = 2e-4;

fn check(model_bytes: &[u8], name: &str) {
    let meta: serde_json::Value =
        serde_json::from_slice(&fixture(&format!("reference/{name}.logits.json"))).unwrap();
    let tokens: Vec<u32> = serde_json::from_value(meta["tokens"].clone()).unwrap();
    let positions: Vec<usize> = serde_json::from_value(meta["positions"].clone()).unwrap();
    let n_vocab = meta["n_vocab"].as_u64().unwrap() as usize;
    let want: Vec<f32> = fixture(&format!("reference/{name}.logits.f32"))
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();

    let model = Model::load(model_bytes).unwrap();
    assert_eq!(model.config.n_vocab, n_vocab);
    let mut cache = model.new_cache(tokens.len());
    let got = model.forward(&tokens, &mut cache).unwrap();
    assert_eq!(got.len(), tokens.len() * n_vocab);
    assert_eq!(cache.len(), tokens.len());

    for (row, &pos) in positions.iter().enumerate() {
        let want = &want[row * n_vocab..(row + 1) * n_vocab];
        let got = &got[pos * n_vocab..(pos + 1) * n_vocab];
        let mean = want.iter().sum::<f32>() / n_vocab as f32;
        let std = (want.iter().map(|w| (w - mean).powi(2)).sum::<f32>() / n_vocab as f32).sqrt();
        let (i, err) = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g - w).abs())
            .enumerate()
            .fold((0, 0f32), |a, b| if b.1 > a.1 { b } else { a });
        assert!(
            err <= TOLERANCE * std,
            "{name} position {pos}: logit {i} is {} want {} (|diff| {err} > {} = {TOLERANCE} × std {std})",
            got[i],
            want[i],
            TOLERANCE * std
        );
        let argmax = |v: &[f32]| (0..v.len()).fold(0, |m, j| if v[j] > v[m] { j } else { m });
        assert_eq!(
            argmax(got),
            argmax(want),
            "{name} position {pos}: top token differs"
        );
    }
}

#[test]
fn tiny_llama3_gqa_untied_matches_numpy() {
    check(&fixture("reference/tiny-llama3.gguf"), "tiny-llama3");
}

#[test]
fn tiny_mha_tied_matches_numpy() {
    check(&fixture("reference/tiny-mha-tied.gguf"), "tiny-mha-tied");
}

#[test]
fn tiny_qwen2_biases_neox_rope_matches_numpy() {
    check(&fixture("reference/tiny-qwen2.gguf"), "tiny-qwen2");
}

#[test]
fn tiny_qwen2_tied_matches_numpy() {
    check(
        &fixture("reference/tiny-qwen2-tied.gguf"),
        "tiny-qwen2-tied",
    );
}

#[test]
fn tiny_qwen3_head_norms_wide_heads_matches_numpy() {
    check(&fixture("reference/tiny-qwen3.gguf"), "tiny-qwen3");
}

#[test]
fn smollm2_matches_numpy() {
    check(&real_model(), "smollm2");
}

#[test]
fn incremental_forward_equals_one_pass() {
    let model = Model::load(&fixture("reference/tiny-llama3.gguf")).unwrap();
    let tokens = [5u32, 17, 250, 3, 99, 42];
    let mut one = model.new_cache(16);
    let all = model.forward(&tokens, &mut one).unwrap();
    let mut inc = model.new_cache(16);
    let mut pieces = model.forward(&tokens[..2], &mut inc).unwrap();
    pieces.extend(model.forward(&tokens[2..5], &mut inc).unwrap());
    pieces.extend(model.forward_last(&tokens[5..], &mut inc).unwrap());
    let last = &all[5 * 300..];
    assert_eq!(
        &pieces[..5 * 300],
        &all[..5 * 300],
        "a KV cache continued in pieces gives the same logits"
    );
    assert_eq!(&pieces[5 * 300..], last);
}

#[test]
fn context_overflow_and_bad_ids_are_errors() {
    let model = Model::load(&fixture("reference/tiny-mha-tied.gguf")).unwrap();
    let mut cache = model.new_cache(3);
    assert_eq!(cache.capacity(), 3);
    model.forward(&[1, 2, 3], &mut cache).unwrap();
    let err = model.forward(&[4], &mut cache).unwrap_err().to_string();
    assert!(err.contains("context is full"), "{err}");
    cache.clear();
    let err = model.forward(&[200], &mut cache).unwrap_err().to_string();
    assert!(err.contains("outside the vocabulary"), "{err}");
}
