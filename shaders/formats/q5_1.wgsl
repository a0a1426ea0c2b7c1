// q5_1.wgsl: not written yet.
