// f16.wgsl: not written yet.
