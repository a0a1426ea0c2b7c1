// attn_combine.wgsl: not written yet.
