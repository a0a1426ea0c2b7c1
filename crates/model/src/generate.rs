//! The decode loop shared by every backend: prefill the prompt, then sample one token at a
//! time until an end-of-generation token or the token budget.

use crate::Result;
use crate::constraint::{Constraint, Next};
use crate::logprobs::Logprobs;
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

/// What a decode loop does besides sampling: hold the answer to a constraint, record the
/// tokens' log-probabilities.
#[derive(Default)]
pub struct Guide<'a> {
    pub constraint: Option<&'a mut Constraint>,
    pub logprobs: Option<&'a mut Logprobs>,
}

impl<'a> Guide<'a> {
    /// Only a constraint.
    pub fn constrained(c: &'a mut Constraint) -> Guide<'a> {
        Guide {
            constraint: Some(c),
            logprobs: None,
        }
    }

    /// A shorter-lived view of the same guide.
    pub fn reborrow(&mut self) -> Guide<'_> {
        Guide {
            constraint: self.constraint.as_deref_mut(),
            logprobs: self.logprobs.as_deref_mut(),
        }
    }
}

/// Generates after `prompt`. `step(tokens)` runs the model over `tokens` (appending them to
/// its KV cache) and gives the last position's logits, as a future: a native caller
/// returns a ready one (and blocks on this function), the browser's CPU engine one that
/// first lets the Worker's events run (an abort), since its steps never wait otherwise.
/// `on_token` sees each new id and returns false to stop early. With `guide`'s
/// constraint, only the tokens it allows are drawn (the others' logits set to −inf), and
/// the answer ends when it is complete or leaves no token; its logprobs record each
/// returned id. Returns the generated ids (without the end token).
pub async fn generate<F: std::future::Future<Output = Result<Vec<f32>>>>(
    prompt: &[u32],
    sampler: &mut Sampler,
    stop: &StopRule,
    mut guide: Guide<'_>,
    mut step: impl FnMut(&[u32]) -> F,
    mut on_token: impl FnMut(u32) -> Result<bool>,
) -> Result<Vec<u32>> {
    let mut history = prompt.to_vec();
    let mut out = Vec::new();
    if stop.max_tokens == 0 {
        return Ok(out);
    }
    let mut logits = step(prompt).await?;
    loop {
        let raw = guide.logprobs.is_some().then(|| logits.clone());
        if let Some(c) = guide.constraint.as_deref_mut() {
            match c.step() {
                Next::Mask(mask) => mask.apply(&mut logits),
                Next::Done | Next::Dead(_) => break,
            }
        }
        let id = sampler.sample(&logits, &history)?;
        if !stop.ignore_eos && stop.eog.contains(&id) {
            break;
        }
        if let (Some(lp), Some(raw)) = (guide.logprobs.as_deref_mut(), &raw) {
            lp.record(raw, id);
        }
        if let Some(c) = guide.constraint.as_deref_mut() {
            c.accept(id)?;
        }
        out.push(id);
        history.push(id);
        if !on_token(id)? || out.len() >= stop.max_tokens {
            break;
        }
        logits = step(&[id]).await?;
    }
    Ok(out)
}
