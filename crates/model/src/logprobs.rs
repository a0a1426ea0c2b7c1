//! Log-probabilities of the answer's tokens (OpenAI's `logprobs` / `top_logprobs`): for
//! each token picked, its log-probability under the model and the `top` most likely
//! tokens', from the logits as the model gave them (before a constraint's mask, the
//! repetition penalty or the temperature: what the model thinks, not what the draw kept).

/// Most alternatives a request may ask for per token (OpenAI's limit).
pub const MAX_TOP: usize = 20;

/// One answer token's log-probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLogprob {
    pub id: u32,
    pub logprob: f32,
    /// The `top` most likely ids and their log-probabilities, most likely first (ties to
    /// the lower id).
    pub top: Vec<(u32, f32)>,
}

/// The log-probabilities an answer records, token by token.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logprobs {
    /// Alternatives per token (0..=[`MAX_TOP`]).
    pub top: usize,
    pub tokens: Vec<TokenLogprob>,
}

impl Logprobs {
    /// A record with `top` alternatives per token (at most [`MAX_TOP`]).
    pub fn new(top: usize) -> crate::Result<Logprobs> {
        if top > MAX_TOP {
            return Err(crate::ModelError::Request(format!(
                "top_logprobs: at most {MAX_TOP}, not {top}"
            )));
        }
        Ok(Logprobs {
            top,
            tokens: Vec::new(),
        })
    }

    /// Records token `id`, picked from `logits` (a log-softmax in f64: exact to f32).
    pub fn record(&mut self, logits: &[f32], id: u32) {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
        let log_z = max + sum.ln();
        let lp = |l: f32| (l as f64 - log_z) as f32;
        let mut top: Vec<u32> = (0..logits.len() as u32).collect();
        let order = |a: &u32, b: &u32| {
            logits[*b as usize]
                .total_cmp(&logits[*a as usize])
                .then(a.cmp(b))
        };
        let k = self.top.min(top.len());
        if k > 0 && k < top.len() {
            top.select_nth_unstable_by(k - 1, order);
        }
        top.truncate(k);
        top.sort_by(order);
        self.tokens.push(TokenLogprob {
            id,
            logprob: logits
                .get(id as usize)
                .map_or(f32::NEG_INFINITY, |&l| lp(l)),
            top: top
                .into_iter()
                .map(|t| (t, lp(logits[t as usize])))
                .collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_and_top_in_order() {
        let logits = [1.0f32, 3.0, 2.0, 3.0, f32::NEG_INFINITY];
        let mut lp = Logprobs::new(3).unwrap();
        lp.record(&logits, 2);
        let z: f64 = logits.iter().map(|&l| (l as f64).exp()).sum();
        let want = |l: f32| ((l as f64).exp() / z).ln() as f32;
        let t = &lp.tokens[0];
        assert_eq!(t.id, 2);
        assert!((t.logprob - want(2.0)).abs() < 1e-6);
        let ids: Vec<u32> = t.top.iter().map(|p| p.0).collect();
        assert_eq!(ids, [1, 3, 2]);
        assert!((t.top[0].1 - want(3.0)).abs() < 1e-6);
        let p: f64 = (0..5).map(|i| (lp_of(&logits, i) as f64).exp()).sum();
        assert!((p - 1.0).abs() < 1e-6);
        assert!(Logprobs::new(21).is_err());
    }

    fn lp_of(logits: &[f32], id: u32) -> f32 {
        let mut lp = Logprobs::new(0).unwrap();
        lp.record(logits, id);
        lp.tokens[0].logprob
    }
}
