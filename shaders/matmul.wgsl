// matmul.wgsl: not written yet.
