//! The sampler: picks the next token from the logits. Greedy, temperature, top-k, top-p,
//! min-p, repetition penalty, and a seed that makes sampling reproducible.
//!
//! Stopping at end-of-generation tokens is the generation loop's business, not the sampler's.
//!
//! # Algorithm
//!
//! This is the contract a GPU kernel follows to pick the same tokens for the same seed: all
//! arithmetic is f32 (`exp`, `ln` as in WGSL) or wrapping u32, in the order written here. The
//! random numbers are bit-exact; a GPU `exp` may differ in its last bits, so only a draw that
//! lands within rounding of a cumulative-weight boundary can pick the neighbouring token.
//! Inputs: logits `l[0..n]`, the ids seen so far (`history`), the [`SamplerConfig`], and the
//! step `s`: how many tokens this sampler picked before (u32, wrapping; see [`Sampler::step`]).
//!
//! 1. **Check.** `n > 0`; no logit is NaN or +inf; at least one is above -inf. Otherwise
//!    [`ModelError::Request`].
//! 2. **Repetition penalty** (llama.cpp's), when `repeat_penalty != 1` and `repeat_last_n > 0`:
//!    for each *distinct* id `t < n` among the last `repeat_last_n` entries of `history`,
//!    `l[t] = l[t] > 0 ? l[t] / repeat_penalty : l[t] * repeat_penalty`. Other ids are ignored.
//! 3. **Greedy** when `temperature == 0`: the id of the largest `l`, the lowest id among equal
//!    ones. Steps 4–9 are skipped (the step still advances).
//! 4. **Candidates.** The ids with `l > -inf`, ordered by `l` descending, then id ascending:
//!    `c[0], c[1], …`; `L = l[c[0]]` is the largest logit. Every filter below keeps a prefix
//!    `c[0..m]` (at least `c[0]`).
//! 5. **Top-k** when `top_k > 0`: `m = min(m, top_k)`.
//! 6. **Top-p** when `top_p < 1`: `e[i] = exp(l[c[i]] - L)`; `S = e[0] + … + e[m-1]` summed in
//!    order; `m` becomes the smallest `j + 1` with `e[0] + … + e[j] >= top_p * S` (sums in
//!    order; unchanged if there is none).
//! 7. **Min-p** when `min_p > 0`: keep the `c[i]` (i < m) with `l[c[i]] >= L + ln(min_p)`.
//! 8. **Temperature**: `w[i] = exp((l[c[i]] - L) / temperature)` for `i < m` (so `w[0] = 1`).
//! 9. **Draw** (inverse CDF in candidate order): `u = uniform(seed, s)`;
//!    `W = w[0] + … + w[m-1]` summed in order; `t = u * W`; pick `c[i]` for the first `i` with
//!    `t < w[0] + … + w[i]` (the same running sum), or, should rounding leave none, the last
//!    `c[i]` with `w[i] > 0`.
//!
//! Random numbers are counter-based, so step `s` needs no state from step `s - 1`:
//!
//! ```text
//! pcg(x)   = { v = x * 747796405 + 2891336453;               // u32, wrapping
//!              w = ((v >> ((v >> 28) + 4)) ^ v) * 277803737;
//!              (w >> 22) ^ w }                                 // PCG-RXS-M-XS hash
//! key      = pcg(seed_lo ^ pcg(seed_hi))                       // seed = seed_hi << 32 | seed_lo
//! uniform  = f32(pcg(key ^ pcg(s)) >> 8) * 2^-24              // 24 bits, in [0, 1)
//! ```
//!
//! The probabilities after steps 5–8 are `w[i] / W`; [`Sampler::distribution`] returns them.

use crate::{ModelError, Result};

/// The sampling settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    /// Softmax temperature; 0 picks the most likely token (greedy).
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens; 0 keeps all.
    pub top_k: usize,
    /// Keep the most likely tokens whose probabilities add up to `top_p`; 1 keeps all.
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one; 0 keeps all.
    pub min_p: f32,
    /// Divides positive (multiplies negative) logits of recently seen tokens; 1 is off.
    pub repeat_penalty: f32,
    /// How many of the last ids the repetition penalty looks at; 0 is off.
    pub repeat_last_n: usize,
    /// Seed of the random draws: the same seed gives the same tokens.
    pub seed: u64,
}

impl Default for SamplerConfig {
    /// Greedy (temperature 0); the other settings are what applies when a temperature is
    /// set. The values are hearth_protocol::sampling's, the one table of them.
    fn default() -> Self {
        use hearth_protocol::sampling::{
            MIN_P, REPETITION_PENALTY, SEED, TEMPERATURE, TOP_K, TOP_P,
        };
        let d = |f: hearth_protocol::sampling::Field| f.default.unwrap_or_default();
        SamplerConfig {
            temperature: d(TEMPERATURE) as f32,
            top_k: d(TOP_K) as usize,
            top_p: d(TOP_P) as f32,
            min_p: d(MIN_P) as f32,
            repeat_penalty: d(REPETITION_PENALTY) as f32,
            repeat_last_n: 64,
            seed: d(SEED) as u64,
        }
    }
}

/// Picks tokens from logits following the algorithm of the module documentation.
#[derive(Clone, Debug)]
pub struct Sampler {
    cfg: SamplerConfig,
    key: u32,
    step: u32,
}

impl Sampler {
    /// Checks the settings: temperature finite and >= 0, top_p in (0, 1], min_p in [0, 1],
    /// repeat_penalty finite and > 0.
    pub fn new(cfg: SamplerConfig) -> Result<Sampler> {
        let bad = |what: &str, v: f32| Err(ModelError::Request(format!("{what}, not {v}")));
        if !(cfg.temperature.is_finite() && cfg.temperature >= 0.0) {
            return bad("temperature must be a finite number >= 0", cfg.temperature);
        }
        if !(cfg.top_p > 0.0 && cfg.top_p <= 1.0) {
            return bad("top_p must be in (0, 1]", cfg.top_p);
        }
        if !(cfg.min_p >= 0.0 && cfg.min_p <= 1.0) {
            return bad("min_p must be in [0, 1]", cfg.min_p);
        }
        if !(cfg.repeat_penalty.is_finite() && cfg.repeat_penalty > 0.0) {
            return bad(
                "repeat_penalty must be a finite number > 0",
                cfg.repeat_penalty,
            );
        }
        Ok(Sampler {
            key: seed_key(cfg.seed),
            cfg,
            step: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SamplerConfig {
        &self.cfg
    }

    /// How many tokens this sampler has picked: the step of the next draw.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// Sets the step of the next draw (e.g. to replay a generation from a given token).
    pub fn set_step(&mut self, step: u32) {
        self.step = step;
    }

    /// Picks the next token from `logits` (one per vocab entry) given the ids generated/prompted
    /// so far (for the repetition penalty), and advances the step.
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> Result<u32> {
        let picked = match self.filtered(logits, history)? {
            Filtered::Greedy(id) => id,
            Filtered::Weighted(cands) => draw(&cands, uniform_from_key(self.key, self.step)),
        };
        self.step = self.step.wrapping_add(1);
        Ok(picked)
    }

    /// The distribution the next draw follows: `(id, probability)` in candidate order (most
    /// likely first), after the penalty, the filters and the temperature. Greedy gives the
    /// single `(argmax, 1.0)`.
    pub fn distribution(&self, logits: &[f32], history: &[u32]) -> Result<Vec<(u32, f32)>> {
        Ok(match self.filtered(logits, history)? {
            Filtered::Greedy(id) => vec![(id, 1.0)],
            Filtered::Weighted(cands) => {
                let total: f32 = cands.iter().map(|c| c.1).sum();
                cands.iter().map(|&(id, w)| (id, w / total)).collect()
            }
        })
    }

    /// Steps 1, 2 and 4 of the algorithm: every candidate as `(id, penalized logit)`, in
    /// candidate order (logit descending, then id ascending), before top-k and the other
    /// filters. For checking other implementations of this contract (the GPU sampler).
    pub fn candidates(&self, logits: &[f32], history: &[u32]) -> Result<Vec<(u32, f32)>> {
        check(logits)?;
        let cfg = &self.cfg;
        let mut l = logits.to_vec();
        apply_repeat_penalty(&mut l, history, cfg.repeat_penalty, cfg.repeat_last_n);
        Ok(sorted_candidates(&l, 0))
    }

    /// Steps 1–8 of the algorithm.
    fn filtered(&self, logits: &[f32], history: &[u32]) -> Result<Filtered> {
        check(logits)?;
        let cfg = &self.cfg;
        let mut l = logits.to_vec();
        apply_repeat_penalty(&mut l, history, cfg.repeat_penalty, cfg.repeat_last_n);
        if cfg.temperature == 0.0 {
            return Ok(Filtered::Greedy(argmax(&l)));
        }
        let mut cands = sorted_candidates(&l, cfg.top_k);
        let Some(&(_, max)) = cands.first() else {
            return Err(ModelError::Request(
                "no token is possible: the repetition penalty sent every logit to -inf".into(),
            ));
        };
        if cfg.top_p < 1.0 {
            let e: Vec<f32> = cands.iter().map(|c| (c.1 - max).exp()).collect();
            let target = cfg.top_p * e.iter().sum::<f32>();
            let mut cum = 0.0f32;
            if let Some(j) = e.iter().position(|&x| {
                cum += x;
                cum >= target
            }) {
                cands.truncate(j + 1);
            }
        }
        if cfg.min_p > 0.0 {
            let floor = max + cfg.min_p.ln();
            let keep = cands.iter().take_while(|c| c.1 >= floor).count().max(1);
            cands.truncate(keep);
        }
        let t = cfg.temperature;
        Ok(Filtered::Weighted(
            cands
                .into_iter()
                .map(|(id, x)| (id, ((x - max) / t).exp()))
                .collect(),
        ))
    }
}

/// What the filters leave: one greedy id, or `(id, weight)` pairs in candidate order.
enum Filtered {
    Greedy(u32),
    Weighted(Vec<(u32, f32)>),
}

fn check(logits: &[f32]) -> Result<()> {
    if logits.is_empty() {
        return Err(ModelError::Request("no logits to sample from".into()));
    }
    if u32::try_from(logits.len()).is_err() {
        return Err(ModelError::Request("more than 2^32 logits".into()));
    }
    if let Some(i) = logits
        .iter()
        .position(|x| x.is_nan() || *x == f32::INFINITY)
    {
        return Err(ModelError::Request(format!(
            "logit {i} is {}; cannot sample",
            logits[i]
        )));
    }
    if logits.iter().all(|x| *x == f32::NEG_INFINITY) {
        return Err(ModelError::Request(
            "every logit is -inf; no token can be sampled".into(),
        ));
    }
    Ok(())
}

/// Step 2: llama.cpp's repetition penalty over the distinct ids of the last `last_n` entries.
fn apply_repeat_penalty(l: &mut [f32], history: &[u32], penalty: f32, last_n: usize) {
    if penalty == 1.0 || last_n == 0 {
        return;
    }
    let mut ids: Vec<u32> = history[history.len().saturating_sub(last_n)..].to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        if let Some(x) = l.get_mut(id as usize) {
            *x = if *x > 0.0 { *x / penalty } else { *x * penalty };
        }
    }
}

/// The largest logit's id, the lowest id among equals.
fn argmax(l: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in l.iter().enumerate() {
        if x > l[best] {
            best = i;
        }
    }
    best as u32
}

/// Step 4 (and 5): the ids above -inf, by logit descending then id ascending, cut to `top_k`.
fn sorted_candidates(l: &[f32], top_k: usize) -> Vec<(u32, f32)> {
    let mut c: Vec<(u32, f32)> = l
        .iter()
        .enumerate()
        .filter(|(_, x)| **x > f32::NEG_INFINITY)
        .map(|(i, &x)| (i as u32, x))
        .collect();
    // No NaN here (checked), so this is a total order; ids make it strict.
    let order = |a: &(u32, f32), b: &(u32, f32)| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    };
    if top_k > 0 && top_k < c.len() {
        c.select_nth_unstable_by(top_k - 1, order);
        c.truncate(top_k);
    }
    c.sort_unstable_by(order);
    c
}

/// Step 9: inverse-CDF walk over the weights in order with `u` in [0, 1).
fn draw(cands: &[(u32, f32)], u: f32) -> u32 {
    let total: f32 = cands.iter().map(|c| c.1).sum();
    let target = u * total;
    let mut cum = 0.0f32;
    for &(id, w) in cands {
        cum += w;
        if target < cum {
            return id;
        }
    }
    // Only reachable through rounding: the last candidate that has any weight.
    cands
        .iter()
        .rev()
        .find(|c| c.1 > 0.0)
        .or(cands.first())
        .map_or(0, |c| c.0)
}

/// The PCG-RXS-M-XS hash of a u32 (a bijection), the generator's building block.
pub fn pcg_hash(x: u32) -> u32 {
    let v = x.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let w = ((v >> ((v >> 28) + 4)) ^ v).wrapping_mul(277_803_737);
    (w >> 22) ^ w
}

/// The per-seed key: `pcg(seed_lo ^ pcg(seed_hi))`.
fn seed_key(seed: u64) -> u32 {
    pcg_hash(seed as u32 ^ pcg_hash((seed >> 32) as u32))
}

fn uniform_from_key(key: u32, step: u32) -> f32 {
    (pcg_hash(key ^ pcg_hash(step)) >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// The uniform number in [0, 1) that draw number `step` of a sampler seeded with `seed` uses.
pub fn uniform(seed: u64, step: u32) -> f32 {
    uniform_from_key(seed_key(seed), step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_walks_the_cumulative_weights() {
        let c = [(7, 1.0), (3, 0.0), (5, 3.0)];
        assert_eq!(draw(&c, 0.0), 7);
        assert_eq!(draw(&c, 0.2499), 7);
        assert_eq!(draw(&c, 0.25), 5);
        assert_eq!(draw(&c, 0.9999999), 5);
        // Rounding can never pick a zero-weight candidate, even with u at the top.
        assert_eq!(draw(&[(1, 1.0), (2, 0.0)], 1.0), 1);
    }

    #[test]
    fn pcg_hash_is_the_published_function() {
        // pcg_hash(0) by hand: v = 2891336453 = 0xAC564B05, shift = (0xA + 4) = 14.
        let v: u32 = 2_891_336_453;
        let w = ((v >> 14) ^ v).wrapping_mul(277_803_737);
        assert_eq!(pcg_hash(0), (w >> 22) ^ w);
        assert_ne!(pcg_hash(1), pcg_hash(2));
    }

    #[test]
    fn candidates_are_ordered_and_cut() {
        let l = [1.0, 3.0, f32::NEG_INFINITY, 3.0, 2.0];
        assert_eq!(
            sorted_candidates(&l, 0),
            vec![(1, 3.0), (3, 3.0), (4, 2.0), (0, 1.0)]
        );
        assert_eq!(sorted_candidates(&l, 2), vec![(1, 3.0), (3, 3.0)]);
        assert_eq!(argmax(&l), 1);
    }
}
