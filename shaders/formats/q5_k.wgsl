// q5_k.wgsl: not written yet.
