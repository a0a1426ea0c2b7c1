#!/usr/bin/env python3
"""Generate the dequantization fixtures in tests/fixtures/dequant/ from an independent
implementation: the `gguf` Python package (llama.cpp's own gguf-py).

Setup (once):
    python3 -m venv /tmp/pyref && /tmp/pyref/bin/pip install gguf==0.19.0 numpy
Run from the repository root:
    /tmp/pyref/bin/python scripts/gen-dequant-fixtures.py

The output is deterministic (fixed seed). File format: see tests/fixtures/dequant/README.md.
"""

import struct
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

SEED = 0x4EA27
MAGIC = b"HDQF"
OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dequant"

# name -> (ggml type, bytes per block, values per block, byte offsets of the f16 scale fields,
# blocks per set). Float types are "blocks" of one value (F16's value is its own f16 field).
TYPES = {
    "f32": (T.F32, 4, 1, [], 1024),
    "f16": (T.F16, 2, 1, [0], 1024),
    "bf16": (T.BF16, 2, 1, [], 1024),
    "q4_0": (T.Q4_0, 18, 32, [0], 128),
    "q4_1": (T.Q4_1, 20, 32, [0, 2], 128),
    "q5_0": (T.Q5_0, 22, 32, [0], 128),
    "q5_1": (T.Q5_1, 24, 32, [0, 2], 128),
    "q8_0": (T.Q8_0, 34, 32, [0], 128),
    "q2_k": (T.Q2_K, 84, 256, [80, 82], 128),
    "q3_k": (T.Q3_K, 110, 256, [108], 128),
    "q4_k": (T.Q4_K, 144, 256, [0, 2], 128),
    "q5_k": (T.Q5_K, 176, 256, [0, 2], 128),
    "q6_k": (T.Q6_K, 210, 256, [208], 128),
}

# Special f16 scales planted in the first blocks of each set (applied to every scale field).
F16_NONFINITE = [0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE00]  # +Inf, -Inf, qNaN, sNaN, -qNaN
F16_FINITE = [0x0001, 0x8001, 0x03FF, 0x0000, 0x8000, 0x7BFF, 0xFBFF, 0x0400]  # subnormals, ±0, max, min normal
# Same idea for the 32-bit float types (F32 bit patterns; BF16 uses their upper halves).
F32_NONFINITE = [0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFC00000]
F32_FINITE = [0x00000001, 0x80000001, 0x007FFFFF, 0x00000000, 0x80000000, 0x7F7FFFFF, 0x00800000, 0x00010000]


def le16(buf, off):
    return int(buf[off]) | (int(buf[off + 1]) << 8)


def put16(buf, off, v):
    buf[off] = v & 0xFF
    buf[off + 1] = v >> 8


def make_set(rng, name, finite):
    ty, bb, _, scale_offs, n = TYPES[name]
    data = rng.integers(0, 256, size=(n, bb), dtype=np.uint8)
    specials = F16_FINITE if finite else F16_NONFINITE
    for b in range(n):
        row = data[b]
        if name == "f32":
            v = int(row.view("<u4")[0])
            if b < len(specials):
                v = (F32_FINITE if finite else F32_NONFINITE)[b]
            elif finite and (v >> 23) & 0xFF == 0xFF:
                v &= ~(1 << 30)  # clear the top exponent bit: finite
            row[:] = np.frombuffer(struct.pack("<I", v), dtype=np.uint8)
        elif name == "bf16":
            v = le16(row, 0)
            if b < len(specials):
                v = (F32_FINITE if finite else F32_NONFINITE)[b] >> 16
                if not finite and b == 3:
                    v = 0x7F81  # a bf16 signalling NaN (F32_NONFINITE[3] >> 16 would be Inf)
            elif finite and (v >> 7) & 0xFF == 0xFF:
                v &= ~(1 << 14)
            put16(row, 0, v)
        else:
            for off in scale_offs:
                v = le16(row, off)
                if b < len(specials):
                    v = specials[b]
                elif finite and (v >> 10) & 0x1F == 0x1F:
                    v &= ~(1 << 14)  # clear the top exponent bit: finite
                put16(row, off, v)
    if finite:
        # Mixed case for types with two scale fields: subnormal d with a normal dmin/m.
        if len(scale_offs) == 2 and n > len(specials):
            put16(data[len(specials)], scale_offs[0], 0x0001)
            put16(data[len(specials)], scale_offs[1], 0x3C00)
    return data


def check_finite_set(name, data):
    """Every scale of the finite set is finite, and block 0's first scale is the f16 subnormal 0x0001."""
    _, _, _, scale_offs, _ = TYPES[name]
    for b in range(data.shape[0]):
        for off in scale_offs:
            assert (le16(data[b], off) >> 10) & 0x1F != 0x1F, (name, b)
    if scale_offs:
        assert le16(data[0], scale_offs[0]) == 0x0001, name


def main():
    rng = np.random.default_rng(SEED)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, (ty, bb, elems, _, n) in TYPES.items():
        sets = [make_set(rng, name, finite=False), make_set(rng, name, finite=True)]
        check_finite_set(name, sets[1])
        blocks = np.concatenate(sets).reshape(-1)
        with np.errstate(all="ignore"):  # NaN/Inf scales are the point of the first set
            want = dequantize(blocks.copy(), ty)
        assert want.dtype == np.float32, (name, want.dtype)
        want = want.reshape(-1)
        assert want.size == 2 * n * elems, name
        assert np.isnan(want[: n * elems]).any(), f"{name}: the random set should hit NaN/Inf"
        assert np.isfinite(want[n * elems :]).all(), f"{name}: the finite set should stay finite"
        header = MAGIC + struct.pack("<IIII", int(ty), bb, n, n)
        payload = header + blocks.tobytes() + want.astype("<f4").tobytes()
        path = OUT_DIR / f"{name}.bin"
        path.write_bytes(payload)
        total += len(payload)
        nan = int(np.isnan(want).sum())
        print(f"{path.name:10} {len(payload):8} bytes  {2 * n} blocks  {want.size} values  {nan} NaN")
    print(f"total {total} bytes")


if __name__ == "__main__":
    sys.exit(main())
