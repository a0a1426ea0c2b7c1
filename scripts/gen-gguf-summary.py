#!/usr/bin/env python3
"""Summarise GGUF files with an independent reader, for hearth-gguf's container tests.

Reads every tests/fixtures/tokenizers/*.gguf (and one small file with tensors that this
script writes itself with the `gguf` package's own GGUFWriter, since the vocab files have
no tensors) with `gguf.GGUFReader` (llama.cpp's gguf-py) and writes
tests/fixtures/gguf-summary/NAME.json: version, counts, alignment, data offset, every
tensor's name/shape/type id/absolute offset/size/checksum, every metadata value (scalars in
full, arrays as length plus a few elements). crates/gguf/tests/container.rs reads each file
with `Gguf::read` and compares.

Setup (once):
    python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install gguf==0.19.0 numpy
Run from anywhere:
    /tmp/pyref/bin/python scripts/gen-gguf-summary.py

The output is deterministic (fixed seed, fixed content).
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V

ROOT = Path(__file__).resolve().parent.parent
VOCAB_DIR = ROOT / "tests" / "fixtures" / "tokenizers"
OUT_DIR = ROOT / "tests" / "fixtures" / "gguf-summary"
PY_WRITTEN = OUT_DIR / "gguf-py-writer.gguf"
SEED = 0x6615F
# Array elements summarised: the first few, the middle one and the last one.
HEAD = 3

TYPE_NAMES = {
    V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
    V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string", V.ARRAY: "array",
    V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64",
}


def fnv1a64(data: bytes) -> int:
    """FNV-1a, 64-bit: a checksum simple enough to recompute in the Rust test."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def scalar_json(vtype: V, value) -> dict:
    """A scalar as {"type", "value"}; floats also carry their exact bit pattern."""
    out = {"type": TYPE_NAMES[vtype]}
    if vtype == V.FLOAT32:
        out["bits"] = struct.unpack("<I", struct.pack("<f", float(value)))[0]
        out["value"] = float(value)
    elif vtype == V.FLOAT64:
        out["bits"] = struct.unpack("<Q", struct.pack("<d", float(value)))[0]
        out["value"] = float(value)
    elif vtype == V.BOOL:
        out["value"] = bool(value)
    elif vtype == V.STRING:
        out["value"] = str(value)
    else:
        out["value"] = int(value)
    return out


def field_json(field) -> dict:
    main = field.types[0]
    if main != V.ARRAY:
        return scalar_json(main, field.contents())
    elem = field.types[-1] if len(field.types) > 1 else None
    n = len(field.data)
    picks = sorted(set(list(range(min(HEAD, n))) + ([n // 2, n - 1] if n else [])))
    return {
        "type": "array",
        # gguf-py does not keep the element type of an empty array
        "elem": TYPE_NAMES[elem] if elem is not None and n else None,
        "len": n,
        "items": [{"index": i, **scalar_json(elem, field.contents(i))} for i in picks],
    }


def summarise(path: Path) -> dict:
    r = gguf.GGUFReader(path)
    fields = r.fields
    meta = {k: field_json(f) for k, f in fields.items() if not k.startswith("GGUF.")}
    tensors = []
    for t in r.tensors:
        raw = np.asarray(t.data).view(np.uint8).reshape(-1)
        tensors.append({
            "name": t.name,
            "shape": [int(d) for d in t.shape],
            "type_id": int(t.tensor_type),
            "data_offset": int(t.data_offset),
            "n_bytes": int(t.n_bytes),
            "fnv1a64": fnv1a64(raw.tobytes()),
            "head_hex": raw[:16].tobytes().hex(),
        })
    return {
        "file": path.relative_to(ROOT).as_posix(),
        "file_len": path.stat().st_size,
        "version": int(fields["GGUF.version"].contents()),
        "tensor_count": int(fields["GGUF.tensor_count"].contents()),
        "kv_count": int(fields["GGUF.kv_count"].contents()),
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "tensors": tensors,
        "metadata": meta,
    }


def write_py_gguf(path: Path) -> None:
    """A small GGUF with several tensor types, shapes and value types, alignment 64."""
    rng = np.random.default_rng(SEED)
    w = gguf.GGUFWriter(path, "hearthtest")
    w.add_custom_alignment(64)
    w.add_name("gguf-py writer fixture")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4_000_000_000)
    w.add_int32("test.i32", -2_000_000_000)
    w.add_float32("test.f32", 0.1)
    w.add_uint64("test.u64", 2**64 - 2)
    w.add_int64("test.i64", -(2**62) - 1)
    w.add_float64("test.f64", -1.0 / 3.0)
    w.add_bool("test.bool_true", True)
    w.add_bool("test.bool_false", False)
    w.add_string("test.string", "héllo, wörld ✓")
    w.add_array("test.strings", ["a", "", "ü", "last one"])
    w.add_array("test.i32s", [1, -2, 3, 2**31 - 1])
    w.add_array("test.f32s", [0.5, -1.25, 1e-7])
    w.add_array("test.bools", [True, False, True])
    for key, sub, vals in [
        ("test.u8s", V.UINT8, [0, 1, 255]),
        ("test.i8s", V.INT8, [-128, 0, 127]),
        ("test.u16s", V.UINT16, [0, 65535]),
        ("test.i16s", V.INT16, [-32768, 32767]),
        ("test.u32s", V.UINT32, [7, 2**32 - 1]),
        ("test.u64s", V.UINT64, [2**64 - 1, 0, 5]),
        ("test.i64s", V.INT64, [-(2**63), 2**63 - 1]),
        ("test.f64s", V.FLOAT64, [1e300, -0.0, 2.5]),
    ]:
        w.add_key_value(key, vals, V.ARRAY, sub_type=sub)

    def raw(name: str, qtype: T, ne: list[int]) -> None:
        """Random bytes of the right size for a tensor of ggml shape `ne`."""
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        rows = int(np.prod(ne[1:])) if len(ne) > 1 else 1
        byte_shape = tuple(reversed(ne[1:])) + (ne[0] // block * size,)
        data = rng.integers(0, 256, size=rows * (ne[0] // block * size), dtype=np.uint8)
        w.add_tensor(name, data.reshape(byte_shape), raw_dtype=qtype)

    w.add_tensor("f32.matrix", rng.standard_normal((3, 8)).astype(np.float32))
    w.add_tensor("f16.vector", rng.standard_normal(16).astype(np.float16))
    w.add_tensor("f32.4d", rng.standard_normal((2, 1, 3, 5)).astype(np.float32))
    raw("q8_0.matrix", T.Q8_0, [64, 3])
    raw("q4_1.3d", T.Q4_1, [32, 2, 2])
    raw("q4_0.vector", T.Q4_0, [96])
    raw("bf16.matrix", T.BF16, [5, 3])
    raw("q4_k.matrix", T.Q4_K, [256, 2])
    raw("q6_k.vector", T.Q6_K, [256])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_py_gguf(PY_WRITTEN)
    files = sorted(VOCAB_DIR.glob("*.gguf")) + [PY_WRITTEN]
    for path in files:
        summary = summarise(path)
        out = OUT_DIR / (path.stem + ".json")
        out.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{out.relative_to(ROOT)}: {summary['tensor_count']} tensors, "
              f"{summary['kv_count']} keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
