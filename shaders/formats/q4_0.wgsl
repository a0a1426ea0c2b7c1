// q4_0.wgsl: not written yet.
