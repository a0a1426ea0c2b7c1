#!/usr/bin/env python3
"""Reference logits for the CPU forward pass, from an independent NumPy implementation.

Setup: python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install gguf==0.19.0 numpy
Run:   /tmp/pyref/bin/python scripts/gen-reference-logits.py   (needs scripts/fetch-model first)

Weights are dequantized by the `gguf` package (not by hearth) and the whole Llama forward
pass is computed in float64 from the formulas in docs/gguf.md §4. Writes to
tests/fixtures/reference/:
  * tiny-llama3.gguf: a small random model (fixed seed) with untied output, GQA, head dim
    16, Llama 3 `rope_freqs.weight`, linear RoPE scaling and mixed weight formats;
  * tiny-mha-tied.gguf: a small random model with MHA, tied embeddings, head dim 32;
  * NAME.logits.json and NAME.logits.f32: for each model (and for SmolLM2-135M-Instruct),
    the token ids and the float64 logits of every position (three for SmolLM2), rounded to
    float32.
"""
import json
import pathlib

import numpy as np
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType as Q
from gguf.quants import dequantize, quantize

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/fixtures/reference"


def load(path):
    r = GGUFReader(str(path))
    md = {}
    for k, f in r.fields.items():
        try:
            md[k] = f.contents()
        except Exception:
            pass
    tensors = {}
    for t in r.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        w = dequantize(t.data, t.tensor_type).astype(np.float64).reshape(shape)
        tensors[t.name] = w
    return md, tensors


def forward(md, W, tokens):
    """The float64 forward pass of a Llama-shaped model: `llama`, and the families that add
    to it (`qwen2`: q/k/v biases; `qwen3`: per-head q/k RMSNorm before RoPE; both NeoX RoPE,
    dims i and i + rope_dim/2 paired; heads of `key_length` when given), and `gemma3`: the
    embedding times sqrt(n_embd), q/k norms, NeoX RoPE, RMSNorms after attention and after
    the FFN (`post_attention_norm`, `post_ffw_norm`) before each residual, a GELU(tanh)-gated
    FFN, and on layers l with (l + 1) % 6 != 0 attention over the last `sliding_window`
    positions only, RoPE'd with base `rope.freq_base_swa` (default 10000) and no scaling."""
    a = md["general.architecture"]
    neox = a in ("qwen2", "qwen3", "gemma3")
    gemma = a == "gemma3"
    window = md.get(f"{a}.attention.sliding_window")
    base_local = md.get(f"{a}.rope.freq_base_swa", 10000.0)
    n_layer = md[f"{a}.block_count"]
    n_head = md[f"{a}.attention.head_count"]
    n_kv = md.get(f"{a}.attention.head_count_kv", n_head)
    n_embd = md[f"{a}.embedding_length"]
    hd = md.get(f"{a}.attention.key_length", n_embd // n_head)
    assert md.get(f"{a}.attention.value_length", hd) == hd
    eps = md[f"{a}.attention.layer_norm_rms_epsilon"]
    base = md.get(f"{a}.rope.freq_base", 10000.0)
    rope_dim = md.get(f"{a}.rope.dimension_count", hd)
    factor = md.get(f"{a}.rope.scaling.factor", 0.0)
    freq_scale = 1.0 / factor if factor else 1.0
    ff = W.get("rope_freqs.weight", np.ones(rope_dim // 2))
    out_w = W.get("output.weight", W["token_embd.weight"])

    def norm(x, w):  # RMSNorm over the last axis (a whole vector, or each head's slice)
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w

    def rope(x, pos, local=False):  # x: (heads, hd); adjacent pairs, or NeoX's i and i + rope_dim/2
        x = x.copy()
        half = rope_dim // 2
        i = np.arange(half)
        if local:
            theta = pos * np.power(float(base_local), -2.0 * i / rope_dim)
        else:
            theta = pos * np.power(float(base), -2.0 * i / rope_dim) * freq_scale / ff
        c, s = np.cos(theta), np.sin(theta)
        lo, hi = (slice(0, half), slice(half, rope_dim)) if neox else \
            (slice(0, rope_dim, 2), slice(1, rope_dim, 2))
        a0, a1 = x[:, lo].copy(), x[:, hi].copy()
        x[:, lo] = a0 * c - a1 * s
        x[:, hi] = a0 * s + a1 * c
        return x

    def proj(p, name, h):  # x · Wᵀ, plus the bias where the model has one
        y = W[p + name + ".weight"] @ h
        b = W.get(p + name + ".bias")
        return y if b is None else y + b

    K = [[] for _ in range(n_layer)]
    V = [[] for _ in range(n_layer)]
    logits = []
    for pos, tok in enumerate(tokens):
        x = W["token_embd.weight"][tok].copy()
        if gemma:
            x *= np.sqrt(n_embd)
        for l in range(n_layer):
            p = f"blk.{l}."
            local = gemma and window is not None and (l + 1) % 6 != 0
            first = max(0, pos + 1 - window) if local else 0
            h = norm(x, W[p + "attn_norm.weight"])
            q = proj(p, "attn_q", h).reshape(n_head, hd)
            k = proj(p, "attn_k", h).reshape(n_kv, hd)
            v = proj(p, "attn_v", h).reshape(n_kv, hd)
            if p + "attn_q_norm.weight" in W:
                q = norm(q, W[p + "attn_q_norm.weight"])
                k = norm(k, W[p + "attn_k_norm.weight"])
            q, k = rope(q, pos, local), rope(k, pos, local)
            K[l].append(k)
            V[l].append(v)
            ks, vs = np.stack(K[l][first:]), np.stack(V[l][first:])  # (seen, n_kv, hd)
            att = np.zeros((n_head, hd))
            for t in range(n_head):
                g = t // (n_head // n_kv)
                s = ks[:, g, :] @ q[t] / np.sqrt(hd)
                s = np.exp(s - s.max())
                s /= s.sum()
                att[t] = s @ vs[:, g, :]
            o = W[p + "attn_output.weight"] @ att.reshape(-1)
            x = x + (norm(o, W[p + "post_attention_norm.weight"]) if gemma else o)
            h = norm(x, W[p + "ffn_norm.weight"])
            g = W[p + "ffn_gate.weight"] @ h
            u = W[p + "ffn_up.weight"] @ h
            if gemma:  # GELU, tanh form
                act = 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3)))
            else:
                act = g / (1 + np.exp(-g))
            o = W[p + "ffn_down.weight"] @ (act * u)
            x = x + (norm(o, W[p + "post_ffw_norm.weight"]) if gemma else o)
        logits.append(out_w @ norm(x, W["output_norm.weight"]))
    return np.stack(logits)


# gguf cannot quantize to K-quants, so those tensors are random blocks whose f16 scale
# fields (byte offset, value) are set to keep weights near 1/sqrt(cols).
KQUANT_SCALES = {
    Q.Q4_K: [(0, 1 / 4000), (2, 1 / 8000)],
    Q.Q5_K: [(0, 1 / 8000), (2, 1 / 16000)],
    Q.Q6_K: [(208, 1 / 40000)],
}
BLOCK_BYTES = {Q.Q4_K: 144, Q.Q5_K: 176, Q.Q6_K: 210}


def random_kquant(rng, rows, cols, qt):
    blocks = rng.integers(0, 256, (rows * cols // 256, BLOCK_BYTES[qt]), dtype=np.uint8)
    for off, val in KQUANT_SCALES[qt]:
        blocks[:, off:off + 2] = np.full(len(blocks), val / np.sqrt(cols / 256), np.float16).view(np.uint8).reshape(-1, 2)
    return blocks.reshape(rows, -1)


def tiny_model(path, *, seed, n_vocab, n_embd, n_layer, n_head, n_kv, n_ff, tied, llama3, types):
    rng = np.random.default_rng(seed)
    w = GGUFWriter(str(path), "llama")
    w.add_context_length(256)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0 if not llama3 else 500000.0)
    w.add_vocab_size(n_vocab)
    if llama3:
        w.add_rope_scaling_type(__import__("gguf").RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(2.0)
    it = iter(types * 100)

    def mat(name, rows, cols, qt=None):
        qt = qt or next(it)
        a = (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)
        if qt == Q.F32:
            w.add_tensor(name, a)
        elif qt == Q.F16:
            w.add_tensor(name, a.astype(np.float16))
        elif qt in KQUANT_SCALES:
            w.add_tensor(name, random_kquant(rng, rows, cols, qt), raw_dtype=qt)
        else:
            w.add_tensor(name, quantize(a, qt), raw_dtype=qt)

    def vec(name, n):
        w.add_tensor(name, (1 + 0.1 * rng.standard_normal(n)).astype(np.float32))

    hd = n_embd // n_head
    mat("token_embd.weight", n_vocab, n_embd, Q.Q8_0)
    for l in range(n_layer):
        p = f"blk.{l}."
        vec(p + "attn_norm.weight", n_embd)
        mat(p + "attn_q.weight", n_head * hd, n_embd)
        mat(p + "attn_k.weight", n_kv * hd, n_embd)
        mat(p + "attn_v.weight", n_kv * hd, n_embd)
        mat(p + "attn_output.weight", n_embd, n_head * hd)
        vec(p + "ffn_norm.weight", n_embd)
        mat(p + "ffn_gate.weight", n_ff, n_embd)
        mat(p + "ffn_up.weight", n_ff, n_embd)
        mat(p + "ffn_down.weight", n_embd, n_ff)
    vec("output_norm.weight", n_embd)
    if not tied:
        mat("output.weight", n_vocab, n_embd, Q.Q6_K)
    if llama3:
        w.add_tensor("rope_freqs.weight", np.linspace(1.0, 8.0, hd // 2).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write(name, tokens, logits, positions=None):
    """NAME.logits.json: {tokens, positions, n_vocab}; NAME.logits.f32: the logits of those
    positions as little-endian float32, row after row."""
    positions = positions or list(range(len(tokens)))
    meta = {"tokens": tokens, "positions": positions, "n_vocab": int(logits.shape[1])}
    (OUT / f"{name}.logits.json").write_text(json.dumps(meta) + "\n")
    logits[positions].astype("<f4").tofile(OUT / f"{name}.logits.f32")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tiny = {
        "tiny-llama3": dict(seed=1, n_vocab=300, n_embd=256, n_layer=2, n_head=16, n_kv=4, n_ff=512, tied=False,
                            llama3=True, types=[Q.Q4_K, Q.Q5_K, Q.Q6_K, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0, Q.F16, Q.F32, Q.BF16]),
        "tiny-mha-tied": dict(seed=2, n_vocab=200, n_embd=128, n_layer=2, n_head=4, n_kv=4, n_ff=320, tied=True,
                              llama3=False, types=[Q.Q4_1, Q.Q8_0, Q.Q4_0, Q.F16]),
    }
    for name, kw in tiny.items():
        path = OUT / f"{name}.gguf"
        tiny_model(path, **kw)
        md, W = load(path)
        tokens = [int(t) for t in np.random.default_rng(7).integers(0, kw["n_vocab"], 12)]
        write(name, tokens, forward(md, W, tokens))
        print(name, path.stat().st_size, "bytes")

    # the real model: "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n" prefix ids
    model = ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    md, W = load(model)
    tokens = [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47]
    write("smollm2", tokens, forward(md, W, tokens), positions=[0, 5, 9])
    print("smollm2 done")


if __name__ == "__main__":
    main()
