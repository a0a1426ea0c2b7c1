// rms_norm.wgsl: not written yet.
