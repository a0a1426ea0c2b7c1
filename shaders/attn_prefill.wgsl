// attn_prefill.wgsl: not written yet.
