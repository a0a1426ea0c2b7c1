#!/usr/bin/env python3
"""Generate tests/fixtures/smollm2-tokens.json: reference token ids for the real model's
vocabulary (SmolLM2-135M-Instruct, byte-level BPE, pre-tokenizer "smollm"), and with the
argument `gemma3` tests/fixtures/gemma3-tokens.json for Gemma 3 270M's (SentencePiece,
262,144 tokens, no space prefix).

Reference: llama.cpp itself, through llama-cpp-python 0.3.36 (which builds llama.cpp from
the source vendored in its sdist), loading only the vocabulary of the GGUF
(`Llama(model_path, vocab_only=True)`). That is an implementation independent of hearth's
(which is built on Hugging Face's `tokenizers` crate). For every string it records:

  * ids          llama_tokenize(text, add_special=False, parse_special=False)
  * ids_special  llama_tokenize(text, add_special=False, parse_special=True)
  * detok / detok_special
                 llama_detokenize(ids, remove_special=False, unparse_special=True), which is
                 what hearth's Tokenizer::decode mirrors

The strings are a hand-written varied list (STRINGS) and 300 seeded random mixtures
(random_strings). And, for the whole vocabulary, the BOS/EOS ids, add_bos and the end-of-generation set
(llama_vocab_is_eog over every id). `crates/model/tests/tokenizer.rs` compares.

Setup (once; compiling llama.cpp takes about 15 minutes on 2 cores):

    python3 -m venv /tmp/llama-venv
    /tmp/llama-venv/bin/pip install cmake ninja scikit-build-core
    CMAKE_ARGS="-DGGML_NATIVE=OFF" /tmp/llama-venv/bin/pip install llama-cpp-python==0.3.36

Run from the repository root (after scripts/fetch-model):

    /tmp/llama-venv/bin/python scripts/gen-tokenizer-fixtures.py
    /tmp/llama-venv/bin/python scripts/gen-tokenizer-fixtures.py gemma3   # scripts/fetch-model gemma3
"""

import ctypes
import json
import random
import sys
from pathlib import Path

import llama_cpp
from llama_cpp import Llama

ROOT = Path(__file__).resolve().parent.parent
MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
}
WHICH = sys.argv[1] if len(sys.argv) > 1 else "smollm2"
MODEL = ROOT / "models" / MODELS[WHICH]
OUT = ROOT / "tests" / "fixtures" / f"{WHICH}-tokens.json"

STRINGS = [
    # English prose
    "Hello world",
    " Hello world",
    "Hello, world! How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll love it; they've said we'd go. It's John's.",
    "DON'T SHOUT, 'quoted' and \"double quoted\"",
    "A sentence with a trailing space ",
    # code
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "fn main() {\n\tprintln!(\"{}\", 1 + 2);\n}",
    "for (int i = 0; i < 10; ++i) { x[i] *= 2; }",
    "<div class=\"a\">&amp;</div>",
    "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
    # numbers
    "12345",
    "3.14159",
    "1,000,000 and 1.000.000 and 0x1F and 1e-10",
    "Call 555-0123 at 10:30pm on 2024-01-15.",
    # whitespace
    " ",
    "  ",
    "    ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "a  b   c    d",
    "  leading and trailing  ",
    "line one\nline two\n\nline four\n",
    "tab\tseparated\tvalues",
    " \n \t \n  ",
    "",
    # unicode
    "Äpfel über Straße, café naïve résumé",
    "нещо на Български",
    "Γειά σου Κόσμε",
    "我想在apple工作1314151天～",
    "日本語のテキストと한국어",
    "مرحبا بالعالم",
    "🦙 llama and 🚀 rocket 😁 ?",
    "😶\u200d🌫️ family: 👨\u200d👩\u200d👧\u200d👦 flag: 🇫🇷",
    "Cửa Việt",
    "e\u0301 (combining) vs \u00e9",
    "\u00a0non-breaking\u2003em space\u3000ideographic",
    # chat markup
    "<|im_start|>user\nHi<|im_end|>",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "text<|im_end|>more text",
    "<|im_start|><|im_start|>",
    "<|im_start",
    "<filename>main.py<file_sep><gh_stars>100",
    "<|IM_START|>",
]
# Gemma's turn markers and whitespace runs (its vocabulary has tokens for runs of spaces,
# tabs and newlines), only in its fixture so the SmolLM2 one stays as it was.
STRINGS_GEMMA = [
    "<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\nHi<end_of_turn>",
    "  two spaces,   three,\t\ttabs\n\n\nnewlines      six",
    "<start_of_image><end_of_image><pad><eos><unk><mask>",
    "Ünïcödé façade — “quotes” … 日本語のテキスト",
]

# Random mixtures (fixed seed) of letters, contractions, digits, whitespace of every kind,
# punctuation, scripts, emoji, combining marks, control characters, and special-token
# texts of this and other vocabs, glued without separators.
RANDOM_PIECES = (
    list("abcXYZ'sStTdDmMlLrReEvV 0123456789.,!?;:-_()[]{}<>|/\\\"`~@#$%^&*+=")
    + [" ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u2003", "\u3000", "\u200d", "\u0301"]
    + ["\ufe0f", "½", "²", "٣", "Ⅻ", "é", "Ä", "ß", "ſ", "\u212a", "İ", "ñ", "ю", "Ж", "α", "Ω"]
    + ["ק", "ش", "क", "ก", "ខ", "中", "文", "日", "本", "한", "😀", "🦙", "👨\u200d👩\u200d👧", "🇫🇷"]
    + ["\ufffd", "\x00", "\x7f", "\x1b", "▁", "<0x0A>", "<s>", "</s>", "<unk>", "<|eot_id|>"]
    + ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|end|>", "<reponame>", "<file_sep>"]
    + [" 's", " 're", "'ll", "'VE", "hello", "world", " the", " The", "12345", "3.14"]
)
N_RANDOM = 300


def random_strings():
    rng = random.Random(20240515)
    return [
        "".join(rng.choice(RANDOM_PIECES) for _ in range(rng.randint(1, 24)))
        for _ in range(N_RANDOM)
    ]


def detokenize(vocab, ids):
    arr = (llama_cpp.llama_token * len(ids))(*ids)
    size = 1 << 16
    buf = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, False, True)
    if n < 0:
        raise RuntimeError("detokenize buffer too small")
    return buf.raw[:n].decode("utf-8", errors="replace")


def main():
    if not MODEL.exists():
        sys.exit(f"{MODEL} is missing: run scripts/fetch-model {WHICH}")
    llm = Llama(model_path=str(MODEL), vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)

    cases = []
    for text in STRINGS + (STRINGS_GEMMA if WHICH == "gemma3" else []) + random_strings():
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        ids_special = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        cases.append(
            {
                "text": text,
                "ids": ids,
                "ids_special": ids_special,
                "detok": detokenize(vocab, ids),
                "detok_special": detokenize(vocab, ids_special),
            }
        )

    def opt(tok):
        return None if tok < 0 else tok

    doc = {
        "reference": "llama.cpp via llama-cpp-python==0.3.36, Llama(vocab_only=True); "
        "tokenize(add_bos=False, special=False/True); "
        "llama_detokenize(remove_special=False, unparse_special=True)",
        "model": MODEL.name,
        "vocab_size": n_vocab,
        "bos_id": opt(llama_cpp.llama_vocab_bos(vocab)),
        "eos_id": opt(llama_cpp.llama_vocab_eos(vocab)),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "eog_ids": [i for i in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, i)],
        "cases": cases,
    }
    # One case per line: small diffs, and the file stays readable.
    head = {k: v for k, v in doc.items() if k != "cases"}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [']
    lines += [
        json.dumps(c, ensure_ascii=False) + ("," if i + 1 < len(cases) else "")
        for i, c in enumerate(cases)
    ]
    lines.append("]}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(cases)} strings")


if __name__ == "__main__":
    main()
