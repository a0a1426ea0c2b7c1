// q2_k.wgsl: not written yet.
