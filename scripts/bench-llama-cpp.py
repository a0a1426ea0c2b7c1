#!/usr/bin/env python3
"""llama.cpp's CPU backend on the same work as `hearth bench --backend cpu`, for a
side-by-side figure (docs/cpu.md): the same pseudo-random prompt ids (Knuth's hash over
the vocabulary, as hearth's bench_prompt), prefill in one batch, then greedy decode token
by token. Prints one JSON object like `hearth bench --json`.

Needs `pip install llama-cpp-python` built without AMX on this host (docs/cpu.md says
how). Usage: scripts/bench-llama-cpp.py MODEL [--prompt-tokens 128] [--gen-tokens 64]
[--threads 2]
"""
import argparse
import json
import time

import numpy as np
from llama_cpp import Llama


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    n_ctx = a.prompt_tokens + a.gen_tokens + 8
    llm = Llama(
        model_path=a.model,
        n_ctx=n_ctx,
        # scores (the last logits of each eval) has n_batch rows, indexed by position
        n_batch=n_ctx,
        n_ubatch=max(a.prompt_tokens, 8),
        n_threads=a.threads,
        n_threads_batch=a.threads,
        verbose=False,
    )
    n_vocab = llm.n_vocab()
    prompt = [(i * 2_654_435_761) % n_vocab for i in range(max(a.prompt_tokens, 1))]

    # warm-up: touch every weight once
    llm.eval(prompt[:8])
    llm.reset()

    t0 = time.perf_counter()
    llm.eval(prompt)
    prefill_s = time.perf_counter() - t0
    tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    t1 = time.perf_counter()
    for _ in range(a.gen_tokens):
        llm.eval([tok])
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    decode_s = time.perf_counter() - t1
    print(json.dumps({
        "backend": "llama.cpp cpu",
        "threads": a.threads,
        "prompt_tokens": len(prompt),
        "gen_tokens": a.gen_tokens,
        "prefill_tokens_per_s": len(prompt) / prefill_s,
        "decode_tokens_per_s": a.gen_tokens / decode_s,
    }))


if __name__ == "__main__":
    main()
