#!/usr/bin/env python3
"""llama.cpp's own outputs for the families hearth added after llama: the logits of the tiny
random qwen2, qwen3 and gemma3 models (scripts/gen-arch-reference.py), and for the real
Gemma 3 270M greedy continuations and a perplexity. A second oracle beside the float64
NumPy pass: an implementation of these architectures that is not ours.

Setup (compiling llama.cpp takes about 15 minutes on 2 cores; no AMX, see docs/cpu.md):

    python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install gguf==0.19.0 numpy
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \\
      -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \\
      /tmp/pyref/bin/pip install llama-cpp-python==0.3.36

Run from the repository root (after scripts/fetch-model gemma3):

    /tmp/pyref/bin/python scripts/gen-llama-cpp-reference.py

llama.cpp loads no model without a vocabulary, so each tiny model is written again with
gen-arch-reference.py's generator and a toy SentencePiece vocabulary (same seeds, so the
same tensors: the script checks every tensor's bytes against the committed fixture). Its
CPU matmuls quantize activations to 8 bits, so its logits sit ~1e-2 of their spread from
exact math: the tests compare by top-1 agreement and perplexity, as the numerics contract
says (../DESIGN.md, "Numerics contract").

Writes to tests/fixtures/reference/:
  * NAME.llama-cpp.f32 for each tiny model: llama.cpp's logits at every position of the
    NumPy fixture's tokens (NAME.logits.json), float32 little-endian, row after row;
  * gemma3-270m.llama-cpp.json: for each prompt, its ids (llama.cpp's tokenizer, with BOS)
    and the greedy continuation with each step's top-1 − top-2 logit margin; for the
    perplexity text, its ids, each position's negative log-likelihood of the next token
    and the perplexity exp(mean).
"""
import importlib.util
import json
import pathlib
import tempfile

import numpy as np
from gguf import GGUFReader
from llama_cpp import Llama

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests/fixtures/reference"
GEMMA = ROOT / "models/gemma-3-270m-q4_k_m.gguf"

_spec = importlib.util.spec_from_file_location(
    "gen_arch_reference", pathlib.Path(__file__).resolve().with_name("gen-arch-reference.py"))
arch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(arch)

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n",
    "Water boils at a temperature of",
    "Once upon a time, in a small village,",
]
N_GREEDY = 32

# the perplexity text: a paragraph written for this test (not from any corpus)
PPL_TEXT = (
    "The lighthouse keeper climbed the spiral stairs every evening at dusk. He trimmed the "
    "wick, polished the great lens until it shone, and wrote the weather in a leather book: "
    "wind from the north-west, a swell of two metres, rain before midnight. Ships passed "
    "far out on the horizon, their lights small and steady, and none of them knew his name. "
    "In the winter the storms came one after another, and the tower shook as the waves "
    "broke against the rocks below. Still the light turned, once every ten seconds, as it "
    "had for a hundred years. When the keeper grew old, an engineer came from the city to "
    "install an electric lamp that needed no one to tend it. The keeper showed him the "
    "stairs, the lens and the book, and then he walked down to the village for the last time."
)


def llama(path, n_ctx):
    return Llama(model_path=str(path), n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx,
                 logits_all=True, n_gpu_layers=0, n_threads=2, verbose=False, seed=0)


def tiny_models():
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in arch.MODELS.items():
            if kw["arch"] == "llama":
                continue
            kw = dict(kw)
            kw.pop("n_tokens")
            path = pathlib.Path(tmp) / f"{name}.gguf"
            arch.tiny_model(path, toy_vocab=True, **kw)
            mine = {t.name: bytes(t.data) for t in GGUFReader(str(path)).tensors}
            theirs = {t.name: bytes(t.data) for t in GGUFReader(str(OUT / f"{name}.gguf")).tensors}
            assert mine == theirs, f"{name}: the toy-vocabulary copy has other tensors"
            tokens = json.loads((OUT / f"{name}.logits.json").read_text())["tokens"]
            llm = llama(path, 64)
            llm.eval(tokens)
            logits = np.array(llm.scores[: len(tokens)], dtype=np.float64)
            logits.astype("<f4").tofile(OUT / f"{name}.llama-cpp.f32")
            numpy_ref = np.fromfile(OUT / f"{name}.logits.f32", dtype="<f4").reshape(len(tokens), -1)
            err = np.abs(logits - numpy_ref).max(axis=1) / numpy_ref.std(axis=1)
            top = (logits.argmax(1) == numpy_ref.argmax(1)).mean()
            print(f"{name}: llama.cpp vs NumPy: worst |Δ|/std {err.max():.3g}, top-1 agreement {top:.0%}")
            del llm


def log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    m = x.max()
    return x - m - np.log(np.exp(x - m).sum())


def gemma():
    llm = llama(GEMMA, 512)
    prompts = []
    for text in PROMPTS:
        ids = llm.tokenize(text.encode(), add_bos=True, special=False)
        llm.reset()
        llm.eval(ids)
        out, margins = [], []
        for _ in range(N_GREEDY):
            last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
            top2 = np.sort(last)[-2:]
            t = int(last.argmax())
            out.append(t)
            margins.append(round(float(top2[1] - top2[0]), 4))
            llm.eval([t])
        prompts.append({"text": text, "ids": ids, "greedy": out, "margins": margins,
                        "greedy_text": llm.detokenize(out).decode("utf-8", "replace")})
        print(f"gemma3 {text!r} -> {prompts[-1]['greedy_text']!r}")
    ids = llm.tokenize(PPL_TEXT.encode(), add_bos=True, special=False)
    llm.reset()
    llm.eval(ids)
    nll = [float(-log_softmax(llm.scores[i])[ids[i + 1]]) for i in range(len(ids) - 1)]
    ppl = float(np.exp(np.mean(nll)))
    print(f"gemma3 perplexity over {len(ids)} tokens: {ppl:.4f}")
    doc = {
        "reference": "llama.cpp via llama-cpp-python==0.3.36 (CPU, 2 threads, no AMX), "
                     "scripts/gen-llama-cpp-reference.py",
        "model": GEMMA.name,
        "prompts": prompts,
        "perplexity": {"text": PPL_TEXT, "ids": ids, "nll": [round(v, 5) for v in nll], "ppl": ppl},
    }
    (OUT / "gemma3-270m.llama-cpp.json").write_text(json.dumps(doc, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    tiny_models()
    gemma()
