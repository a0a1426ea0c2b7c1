#!/usr/bin/env python3
"""Random-weight GGUF models of real shapes, for benchmarks only (their answers are noise).

Setup: python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install gguf==0.19.0 numpy
Run:   /tmp/pyref/bin/python scripts/gen-bench-model.py SHAPE [OUT.gguf]

SHAPE is one of:
  * 135m: SmolLM2-135M: 30 layers, 576 wide, 9 / 3 heads of 64, FFN 1536, vocabulary
    49,152, tied, RoPE base 100,000; Q4_1 matrices and a Q8_0 embedding, as in the real
    SmolLM2-135M-Instruct.Q4_1.gguf (for machines the real file cannot travel to);
  * 1b: Llama-3.2-1B: 16 layers, 2048 wide, 32 query / 8 KV heads of 64, FFN 8192,
    vocabulary 128,256, tied embeddings, Llama 3 RoPE (base 500,000, rope_freqs.weight);
  * 3b: Llama-3.2-3B: 28 layers, 3072 wide, 24 / 8 heads of 128, FFN 8192, the same
    vocabulary, tied.
The 1b and 3b weights follow llama.cpp's Q4_K_M mix: Q4_K for the matrices, Q6_K for attn_v and ffn_down
in the layers it gives more bits (the first and last eighth, every third between) and for
the embedding (also the output here). Blocks are random bytes with their f16 scale fields
set so that weights stay near 1/sqrt(cols): valid blocks of the right size, as costly to
read and decode as real ones. Default OUT: models/bench-SHAPE.gguf (never committed).
Writes with the `gguf` package (pure Python; numpy is its one compiled need).
"""
import pathlib
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as Q

ROOT = pathlib.Path(__file__).resolve().parent.parent

LLAMA3 = dict(n_vocab=128256, n_ctx=131072, rope_base=500000.0, llama3=True, mix="q4_k_m")
SHAPES = {
    "135m": dict(n_layer=30, n_embd=576, n_head=9, n_kv=3, n_ff=1536, n_vocab=49152, n_ctx=8192,
                 rope_base=100000.0, llama3=False, mix="q4_1"),
    "1b": dict(n_layer=16, n_embd=2048, n_head=32, n_kv=8, n_ff=8192, **LLAMA3),
    "3b": dict(n_layer=28, n_embd=3072, n_head=24, n_kv=8, n_ff=8192, **LLAMA3),
}

# (byte offset of an f16 scale field, its value at cols = 256) per block; block size in
# weights and in bytes
SCALES = {
    Q.Q4_K: [(0, 1 / 4000), (2, 1 / 8000)],
    Q.Q6_K: [(208, 1 / 40000)],
    Q.Q4_1: [(0, 1 / 250), (2, -8 / 250)],
    Q.Q8_0: [(0, 1 / 2000)],
}
BLOCK = {Q.Q4_K: (256, 144), Q.Q6_K: (256, 210), Q.Q4_1: (32, 20), Q.Q8_0: (32, 34)}


def random_blocks(rng, rows, cols, qt):
    elems, size = BLOCK[qt]
    blocks = rng.integers(0, 256, (rows * cols // elems, size), dtype=np.uint8)
    for off, val in SCALES[qt]:
        scale = np.float16(val / np.sqrt(cols / 256))
        blocks[:, off:off + 2] = np.frombuffer(scale.tobytes(), np.uint8)
    return blocks.reshape(rows, -1)


def more_bits(layer, n_layer):
    """llama.cpp's use_more_bits: the layers Q4_K_M gives Q6_K attn_v and ffn_down."""
    return layer < n_layer // 8 or layer >= 7 * n_layer // 8 or (layer - n_layer // 8) % 3 == 2


def write(shape, out):
    s = SHAPES[shape]
    n_layer, n_embd, n_head, n_kv = s["n_layer"], s["n_embd"], s["n_head"], s["n_kv"]
    n_ff, n_vocab = s["n_ff"], s["n_vocab"]
    hd = n_embd // n_head
    rng = np.random.default_rng(1234)
    w = GGUFWriter(str(out), "llama")
    w.add_name(f"hearth random {shape} (benchmarks only)")
    w.add_context_length(s["n_ctx"])
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(s["rope_base"])
    w.add_rope_dimension_count(hd)
    w.add_vocab_size(n_vocab)

    def mat(name, rows, cols, qt):
        w.add_tensor(name, random_blocks(rng, rows, cols, qt), raw_dtype=qt)

    def vec(name, n):
        w.add_tensor(name, (1 + 0.1 * rng.standard_normal(n)).astype(np.float32))

    k_m = s["mix"] == "q4_k_m"
    base = Q.Q4_K if k_m else Q.Q4_1
    mat("token_embd.weight", n_vocab, n_embd, Q.Q6_K if k_m else Q.Q8_0)
    if s["llama3"]:
        w.add_tensor("rope_freqs.weight", np.linspace(1.0, 8.0, hd // 2).astype(np.float32))
    for l in range(n_layer):
        p = f"blk.{l}."
        big = Q.Q6_K if k_m and more_bits(l, n_layer) else base
        vec(p + "attn_norm.weight", n_embd)
        mat(p + "attn_q.weight", n_head * hd, n_embd, base)
        mat(p + "attn_k.weight", n_kv * hd, n_embd, base)
        mat(p + "attn_v.weight", n_kv * hd, n_embd, big)
        mat(p + "attn_output.weight", n_embd, n_head * hd, base)
        vec(p + "ffn_norm.weight", n_embd)
        mat(p + "ffn_gate.weight", n_ff, n_embd, base)
        mat(p + "ffn_up.weight", n_ff, n_embd, base)
        mat(p + "ffn_down.weight", n_embd, n_ff, big)
    vec("output_norm.weight", n_embd)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in SHAPES:
        sys.exit(f"usage: gen-bench-model.py {{{','.join(SHAPES)}}} [OUT.gguf]")
    shape = sys.argv[1]
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) == 3 else ROOT / f"models/bench-{shape}.gguf"
    out.parent.mkdir(parents=True, exist_ok=True)
    write(shape, out)
    print(f"gen-bench-model: {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
