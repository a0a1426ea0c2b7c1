// q6_k.wgsl: not written yet.
