//! The decode loop shared by every backend: prefill the prompt, then sample one token at a
//! time until an end-of-generation token or the token budget.

use crate::Result;
use crate::sampler::Sampler;

/// When to stop generating.
#[derive(Debug, Clone, PartialEq)]
pub struct StopRule {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Ids that end generation (the tokenizer's end-of-generation set); not emitted.
    pub eog: Vec<u32>,
    /// Keep going past end-of-generation ids (they are then emitted like any token).
    pub ignore_eos: bool,
}

/// Generates after `prompt`. `step(tokens)` runs the model over `tokens` (appending them to
/// its KV cache) and returns the last position's logits; `on_token` sees each new id and
/// returns false to stop early. Returns the generated ids (without the end token).
pub fn generate(
    prompt: &[u32],
    sampler: &mut Sampler,
    stop: &StopRule,
    mut step: impl FnMut(&[u32]) -> Result<Vec<f32>>,
    mut on_token: impl FnMut(u32) -> Result<bool>,
) -> Result<Vec<u32>> {
    let mut history = prompt.to_vec();
    let mut out = Vec::new();
    if stop.max_tokens == 0 {
        return Ok(out);
    }
    let mut logits = step(prompt)?;
    loop {
        let id = sampler.sample(&logits, &history)?;
        if !stop.ignore_eos && stop.eog.contains(&id) {
            break;
        }
        out.push(id);
        history.push(id);
        if !on_token(id)? || out.len() >= stop.max_tokens {
            break;
        }
        logits = step(&[id])?;
    }
    Ok(out)
}
