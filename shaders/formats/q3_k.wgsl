// q3_k.wgsl: not written yet.
