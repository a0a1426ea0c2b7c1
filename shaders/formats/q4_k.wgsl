// q4_k.wgsl: not written yet.
