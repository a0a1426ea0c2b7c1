// sample.wgsl: not written yet.
