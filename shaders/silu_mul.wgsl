// silu_mul.wgsl: not written yet.
