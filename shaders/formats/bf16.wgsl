// bf16.wgsl: not written yet.
