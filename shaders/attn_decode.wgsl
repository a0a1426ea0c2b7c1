// attn_decode.wgsl: not written yet.
