// q5_0.wgsl: not written yet.
