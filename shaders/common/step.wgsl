// step.wgsl: the per-call values the engine writes into one small uniform buffer before
// each submit, so that kernels prepared at load time follow the advancing position.
// Twin: hearth_gpu::kernels::Step (same field order; a test checks the sizes agree).

struct Step {
    pos: u32,       // position of the first token of this call
    n_tokens: u32,  // tokens in this call (1 when decoding)
    kv_len: u32,    // positions in the KV cache after this call: pos + n_tokens
    sample: u32,    // index of this draw in the sampler's sequence (its step counter)
}
