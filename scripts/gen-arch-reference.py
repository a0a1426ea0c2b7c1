#!/usr/bin/env python3
"""Reference logits for the `qwen2` and `qwen3` GGUF architectures, from an independent NumPy
implementation (the companion of scripts/gen-reference-logits.py, whose loader, K-quant
block generator and fixture writer it imports).

Setup: python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install gguf==0.19.0 numpy
Run:   /tmp/pyref/bin/python scripts/gen-arch-reference.py   (no downloads needed)

Weights are dequantized by the `gguf` package (not by hearth) and the forward pass is computed
in float64 by gen-reference-logits.py's `forward`, which runs these families too. It is the Llama pass of docs/gguf.md §4 with these differences:
  * qwen2: q, k, v = W·x + b, with F32 biases `blk.N.attn_{q,k,v}.bias` (no attn_output bias);
  * qwen3: no biases; after the projections each head's slice of q and of k (head_dim values)
    is RMS-normalised with the model's rms epsilon and multiplied by `blk.N.attn_q_norm.weight`
    / `blk.N.attn_k_norm.weight` (length head_dim, shared by all heads), then RoPE'd;
    head_dim comes from `qwen3.attention.key_length` and may differ from n_embd / n_head, so
    q_dim = n_head·head_dim ≠ n_embd (attn_q is [n_embd, q_dim], attn_output [q_dim, n_embd]);
  * both: RoPE in the NeoX style: within each head, dimension i pairs with i + head_dim/2 for
    i < head_dim/2, θ_i = pos · base^(−2i/head_dim) (GGUF q/k rows are NOT permuted for these
    archs, unlike llama's); attention scale 1/sqrt(head_dim); no embedding scaling.

Checked against llama.cpp (ggml-org/llama.cpp) source:
  * src/llama-model.cpp, llama_model_rope_type(): LLM_ARCH_QWEN2 and LLM_ARCH_QWEN3 are in the
    "the pairs of head values are offset by n_rot/2" block → LLAMA_ROPE_TYPE_NEOX;
  * ggml/src/ggml-cpu/ops.cpp, ggml_compute_forward_rope_flt / rotate_pairs: GGML_ROPE_TYPE_NEOX
    calls rotate_pairs(n_dims, n_dims/2, cache, ...) with ic = i0/2, i.e. rotates
    (x[ic], x[ic + n_dims/2]) by the angle of cache[i0] = p · theta_scale^(i0/2),
    theta_scale = powf(freq_base, −2/n_dims); GGML_ROPE_TYPE_NORMAL is the adjacent-pair case;
  * src/models/qwen2.cpp: attn_norm → Qcur/Kcur/Vcur = wq/wk/wv·x + bq/bk/bv → reshape to
    heads → ggml_rope_ext on Q and K → build_attn(wo, bo, scale 1/sqrt(n_embd_head)) → residual
    → ffn_norm → SiLU-gated FFN (LLM_FFN_SILU, LLM_FFN_PAR) → residual; output_norm; lm head
    `output` (+ optional output.bias, not used here); asserts n_embd_head == n_rot;
  * src/llama-model.cpp load_tensors, LLM_ARCH_QWEN2: attn_q [n_embd, n_embd] (so q_dim must
    equal n_embd), bq/bk/bv created with flags 0 (required), `output` TENSOR_NOT_REQUIRED and
    falling back to token_embd (tied);
  * src/models/qwen3.cpp: build_qkv (reshaped to [head_dim, n_head, n_tokens], see
    src/llama-graph.cpp) → build_norm(Qcur, attn_q_norm, LLM_NORM_RMS) → rope; the same for K;
    V untouched; build_norm's LLM_NORM_RMS is ggml_rms_norm(cur, hparams.f_norm_rms_eps) over
    ne0 = head_dim, i.e. per head and with the model's eps; load_tensors: attn_q
    [n_embd, n_embd_head_k·n_head], attn_output [n_embd_head_k·n_head, n_embd], attn_q_norm /
    attn_k_norm [n_embd_head_k], no q/k/v biases, `output` optional (tied fallback);
  * src/llama-model.cpp load_hparams: n_embd_head_k = n_embd / n_head unless
    `ARCH.attention.key_length` is present (value_length likewise), n_rot = n_embd_head_k
    unless `ARCH.rope.dimension_count` is present;
  * convert_hf_to_gguf.py (TextModel.set_gguf_parameters, used by Qwen2Model and Qwen3Model)
    writes ARCH.{block_count, context_length, embedding_length, feed_forward_length,
    attention.head_count, attention.head_count_kv, rope.freq_base,
    attention.layer_norm_rms_epsilon}, and attention.key_length / value_length when the HF
    config has head_dim (Qwen3 does; Qwen2 does not).
Not checked by running llama.cpp on these files.

Writes to tests/fixtures/reference/ (fixed seeds, so reruns give identical bytes):
  * tiny-qwen2.gguf: qwen2, GQA 4:2, head dim 16, untied output, q/k/v biases (std 0.5),
    mixed Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q4_K / Q6_K weights;
  * tiny-qwen2-tied.gguf: qwen2, 6 heads sharing 2 KV heads (GQA 3:1), head dim 16, tied
    embeddings (F16 token_embd doubles as the lm head), F16 / BF16 / Q8_0 / Q5_0 / Q4_1 /
    Q5_K weights;
  * tiny-qwen3.gguf: qwen3, GQA 4:2, head dim 128 from key_length (n_embd 128, so q_dim 512),
    q/k norms, untied output, Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q4_K / Q5_K / Q6_K weights;
  * NAME.logits.json and NAME.logits.f32 for each: the token ids and the float64 logits of every
    position, rounded to float32 (format: see `write` in gen-reference-logits.py).
All models use rope.freq_base 1e6 and rms epsilon 1e-6 (the Qwen2/Qwen3 values); like the
existing tiny models they carry `ARCH.vocab_size` and no tokenizer.
"""
import importlib.util
import pathlib

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as Q
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import quantize

_spec = importlib.util.spec_from_file_location(
    "gen_reference_logits", pathlib.Path(__file__).resolve().with_name("gen-reference-logits.py"))
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)
load, write, forward, random_kquant, KQUANT_SCALES, OUT = (
    ref.load, ref.write, ref.forward, ref.random_kquant, ref.KQUANT_SCALES, ref.OUT)


def tiny_model(path, *, arch, seed, n_vocab, n_embd, n_layer, n_head, n_kv, head_dim, n_ff,
               embd_type, out_type, layer_types, window=None, toy_vocab=False):
    """layer_types: one dict per layer, tensor short name (attn_q, …, ffn_down) → type;
    out_type None → tied embeddings (no output.weight)."""
    assert len(layer_types) == n_layer
    if arch == "qwen2":
        assert n_head * head_dim == n_embd, "llama.cpp's qwen2 loader wants attn_q [n_embd, n_embd]"
    rng = np.random.default_rng(seed)
    w = GGUFWriter(str(path), arch)
    w.add_block_count(n_layer)
    w.add_context_length(256)
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_freq_base(1000000.0)
    w.add_layer_norm_rms_eps(1e-6)
    if arch in ("qwen3", "gemma3"):
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    if arch == "gemma3":
        w.add_sliding_window(window)
    w.add_vocab_size(n_vocab)
    if toy_vocab:  # for llama.cpp, which loads no model without a vocabulary
        add_toy_vocab(w, n_vocab)

    def mat(name, rows, cols, qt):
        assert cols % GGML_QUANT_SIZES[qt][0] == 0, (name, cols, qt)
        a = (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)
        if qt == Q.F32:
            w.add_tensor(name, a)
        elif qt == Q.F16:
            w.add_tensor(name, a.astype(np.float16))
        elif qt in KQUANT_SCALES:
            w.add_tensor(name, random_kquant(rng, rows, cols, qt), raw_dtype=qt)
        else:
            w.add_tensor(name, quantize(a, qt), raw_dtype=qt)

    def vec(name, n, spread=0.1):
        w.add_tensor(name, (1 + spread * rng.standard_normal(n)).astype(np.float32))

    def bias(name, n):
        w.add_tensor(name, (0.5 * rng.standard_normal(n)).astype(np.float32))

    q_dim, kv_dim = n_head * head_dim, n_kv * head_dim
    mat("token_embd.weight", n_vocab, n_embd, embd_type)
    for l, ty in enumerate(layer_types):
        p = f"blk.{l}."
        vec(p + "attn_norm.weight", n_embd)
        mat(p + "attn_q.weight", q_dim, n_embd, ty["attn_q"])
        mat(p + "attn_k.weight", kv_dim, n_embd, ty["attn_k"])
        mat(p + "attn_v.weight", kv_dim, n_embd, ty["attn_v"])
        if arch == "qwen2":
            bias(p + "attn_q.bias", q_dim)
            bias(p + "attn_k.bias", kv_dim)
            bias(p + "attn_v.bias", kv_dim)
        mat(p + "attn_output.weight", n_embd, q_dim, ty["attn_output"])
        if arch in ("qwen3", "gemma3"):
            vec(p + "attn_q_norm.weight", head_dim, spread=0.3)
            vec(p + "attn_k_norm.weight", head_dim, spread=0.3)
        if arch == "gemma3":
            vec(p + "post_attention_norm.weight", n_embd, spread=0.3)
        vec(p + "ffn_norm.weight", n_embd)
        mat(p + "ffn_gate.weight", n_ff, n_embd, ty["ffn_gate"])
        mat(p + "ffn_up.weight", n_ff, n_embd, ty["ffn_up"])
        mat(p + "ffn_down.weight", n_embd, n_ff, ty["ffn_down"])
        if arch == "gemma3":
            vec(p + "post_ffw_norm.weight", n_embd, spread=0.3)
    vec("output_norm.weight", n_embd)
    if out_type is not None:
        mat("output.weight", n_vocab, n_embd, out_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def add_toy_vocab(w, n_vocab):
    """A SentencePiece vocabulary llama.cpp accepts: <unk>, <s>, </s>, then byte tokens."""
    assert 3 + 0x0B <= n_vocab <= 3 + 256
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(n_vocab - 3)]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * n_vocab)
    w.add_token_types([2, 3, 3] + [6] * (n_vocab - 3))


def types(*rows):
    names = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
    return [dict(zip(names, r)) for r in rows]


MODELS = {
    "tiny-qwen2": dict(
        arch="qwen2", seed=11, n_vocab=256, n_embd=64, n_layer=2, n_head=4, n_kv=2, head_dim=16, n_ff=256,
        embd_type=Q.Q8_0, out_type=Q.Q5_1, n_tokens=12,
        layer_types=types([Q.Q8_0, Q.Q4_0, Q.Q5_1, Q.Q4_1, Q.Q5_0, Q.Q8_0, Q.Q4_K],
                          [Q.Q4_0, Q.Q8_0, Q.Q5_0, Q.Q8_0, Q.Q4_1, Q.Q4_0, Q.Q6_K])),
    "tiny-qwen2-tied": dict(
        arch="qwen2", seed=12, n_vocab=200, n_embd=96, n_layer=2, n_head=6, n_kv=2, head_dim=16, n_ff=256,
        embd_type=Q.F16, out_type=None, n_tokens=9,
        layer_types=types([Q.F16, Q.Q8_0, Q.BF16, Q.Q5_0, Q.Q4_1, Q.F16, Q.Q5_K],
                          [Q.Q5_0, Q.F16, Q.Q4_1, Q.BF16, Q.Q8_0, Q.Q5_0, Q.F16])),
    "tiny-qwen3": dict(
        arch="qwen3", seed=13, n_vocab=256, n_embd=128, n_layer=2, n_head=4, n_kv=2, head_dim=128, n_ff=256,
        embd_type=Q.Q8_0, out_type=Q.Q5_0, n_tokens=10,
        layer_types=types([Q.Q8_0, Q.Q5_1, Q.Q4_0, Q.Q4_K, Q.Q4_1, Q.Q8_0, Q.Q6_K],
                          [Q.Q4_0, Q.Q8_0, Q.Q5_0, Q.Q5_K, Q.Q5_1, Q.Q4_0, Q.Q4_K])),
    "tiny-gemma3": dict(
        arch="gemma3", seed=14, n_vocab=256, n_embd=256, n_layer=6, n_head=2, n_kv=1, head_dim=128, n_ff=256,
        embd_type=Q.Q8_0, out_type=None, n_tokens=13, window=5,
        layer_types=types([Q.Q5_0, Q.Q5_0, Q.Q8_0, Q.Q4_K, Q.Q5_0, Q.Q5_0, Q.Q6_K],
                          [Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_1, Q.Q4_K, Q.Q8_0, Q.Q5_0],
                          [Q.Q4_1, Q.Q8_0, Q.Q5_0, Q.Q5_0, Q.Q5_1, Q.Q4_0, Q.Q6_K],
                          [Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.Q4_K, Q.Q4_0, Q.Q4_1, Q.Q8_0],
                          [Q.Q8_0, Q.Q5_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K],
                          [Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q8_0, Q.Q5_1, Q.Q5_0, Q.Q6_K])),
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, kw in MODELS.items():
        kw = dict(kw)
        n_tokens = kw.pop("n_tokens")
        path = OUT / f"{name}.gguf"
        tiny_model(path, **kw)
        md, W = load(path)
        tokens = [int(t) for t in np.random.default_rng(7).integers(0, kw["n_vocab"], n_tokens)]
        write(name, tokens, forward(md, W, tokens))
        print(name, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
