//! The GPU sampler (sample_prep.wgsl → sample_select.wgsl → sample.wgsl) against
//! `hearth_model::sampler::Sampler`: the same id for the same settings, seed, step and
//! history; greedy always exactly, a draw within float rounding of a boundary.

use hearth_gpu::kernels::{self, GpuSampler, Op, SAMPLE_CAP, SAMPLE_ON_CPU, Step};
use hearth_gpu::{Gpu, GpuTensor};
use hearth_model::constraint::TokenMask;
use hearth_model::sampler::{Sampler, SamplerConfig, uniform};

use super::Rng;

pub const VOCABS: [usize; 5] = [1, 7, 1000, 49152, 128256];
/// The sampler writes token[SLOT]; the words around it must keep GUARD.
pub const SLOT: usize = 1;
pub const GUARD: u32 = 0xdead_beef;
/// Ids the history ring holds in these tests.
pub const HISTORY: usize = 256;

/// Every filter off at temperature `t`.
pub fn plain(t: f32) -> SamplerConfig {
    SamplerConfig {
        temperature: t,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        repeat_penalty: 1.0,
        repeat_last_n: 64,
        seed: 1234,
    }
}

pub fn greedy() -> SamplerConfig {
    plain(0.0)
}

/// A sampler with its logits, token and step buffers and its ops, as a decode step has them.
pub struct Rig {
    pub sampler: GpuSampler,
    pub logits: GpuTensor,
    pub token: GpuTensor,
    pub step: wgpu::Buffer,
    pub ops: Vec<Op>,
}

impl Rig {
    pub fn new(g: &Gpu, cfg: &SamplerConfig, n: usize) -> Rig {
        let sampler = GpuSampler::new(g, cfg, n, HISTORY).unwrap();
        let logits = GpuTensor::zeros(g, n, "logits");
        let token = GpuTensor::from_slice(g, &[GUARD, GUARD, GUARD], "token");
        let step = Step::default().buffer(g);
        let ops = sampler.ops(g, &logits, &token, SLOT, &step).unwrap();
        Rig {
            sampler,
            logits,
            token,
            step,
            ops,
        }
    }

    /// One GPU pick from `logits` at draw index `step`, the history left as the GPU has it.
    pub async fn run(&self, g: &Gpu, logits: &[f32], step: u32) -> u32 {
        g.queue
            .write_buffer(&self.logits.buffer, 0, bytemuck::cast_slice(logits));
        Step {
            sample: step,
            ..Default::default()
        }
        .write(g, &self.step);
        kernels::submit(g, &self.ops);
        let t: Vec<u32> = self.token.read(g).await.unwrap();
        assert_eq!(
            (t[0], t[2]),
            (GUARD, GUARD),
            "sampler: a write outside the token slot"
        );
        t[SLOT]
    }

    /// One GPU pick with the history set to `history` first.
    pub async fn pick(&self, g: &Gpu, logits: &[f32], history: &[u32], step: u32) -> u32 {
        self.sampler.set_history(g, history);
        self.run(g, logits, step).await
    }
}

/// The CPU sampler's pick.
pub fn cpu_pick(cfg: &SamplerConfig, logits: &[f32], history: &[u32], step: u32) -> u32 {
    let mut s = Sampler::new(cfg.clone()).unwrap();
    s.set_step(step);
    s.sample(logits, history).unwrap()
}

/// How the GPU's picks compared with the CPU's.
#[derive(Debug, Default)]
pub struct Tally {
    pub same: usize,
    pub rounding: usize,
    pub on_cpu: usize,
}

/// Relative error of an f32 sum in order against the f64 sum of the same terms.
pub fn f32_sum_drift(terms: &[f32]) -> f64 {
    let s32: f32 = terms.iter().sum();
    let s64: f64 = terms.iter().map(|&x| x as f64).sum();
    if s64 > 0.0 {
        (s32 as f64 - s64).abs() / s64
    } else {
        0.0
    }
}

/// Compares a GPU pick with the CPU's; a difference must be one the contract allows.
pub fn judge(
    tally: &mut Tally,
    cfg: &SamplerConfig,
    logits: &[f32],
    history: &[u32],
    step: u32,
    got: u32,
) {
    let want = cpu_pick(cfg, logits, history, step);
    if got == want {
        tally.same += 1;
        return;
    }
    let cpu = Sampler::new(cfg.clone()).unwrap();
    let cands = cpu.candidates(logits, history).unwrap();
    let pool = if cfg.top_k == 0 {
        cands.len()
    } else {
        cfg.top_k.min(cands.len())
    };
    let what = format!(
        "sampler: n_vocab {} {cfg:?} step {step}: GPU {got:#x}, CPU {want}",
        logits.len()
    );
    if got == SAMPLE_ON_CPU {
        assert!(
            pool > SAMPLE_CAP,
            "{what}: sent to the CPU with a pool of {pool}"
        );
        tally.on_cpu += 1;
        return;
    }
    assert!(cfg.temperature > 0.0, "{what}: greedy must be exact");
    assert!(cands.iter().any(|c| c.0 == got), "{what}: not a candidate");
    // the draw within rounding of a boundary: the CPU's probabilities sum to 1 only up to
    // its own rounding of the total, and the GPU's total may differ by as much
    let u = uniform(cfg.seed, step) as f64;
    let dist = cpu.distribution(logits, history).unwrap();
    let drift_w = (dist.iter().map(|d| d.1 as f64).sum::<f64>() - 1.0).abs();
    let tol_w = 1e-5 + 4.0 * drift_w;
    let mut cum = 0.0;
    let near_draw = dist.iter().any(|d| {
        cum += d.1 as f64;
        (cum - u).abs() < tol_w
    });
    // or the top-p mass within rounding of top_p
    let near_top_p = cfg.top_p < 1.0 && {
        let e: Vec<f32> = cands[..pool]
            .iter()
            .map(|c| (c.1 - cands[0].1).exp())
            .collect();
        let total: f64 = e.iter().map(|&x| x as f64).sum();
        let tol = 1e-5 + 4.0 * f32_sum_drift(&e);
        let mut cum = 0.0;
        e.iter().any(|&x| {
            cum += x as f64;
            (cum / total - cfg.top_p as f64).abs() < tol
        })
    };
    assert!(
        near_draw || near_top_p,
        "{what}: u {u} is not within rounding of a boundary (tolerance {tol_w:e})"
    );
    tally.rounding += 1;
}

/// Logits like a language model's: noise over the vocabulary and a few strong tokens.
pub fn llm_logits(rng: &mut Rng, n: usize, peaks: usize, height: f32) -> Vec<f32> {
    let mut l: Vec<f32> = (0..n).map(|_| rng.f32() * 3.0).collect();
    for _ in 0..peaks {
        let i = (rng.next_u64() % n as u64) as usize;
        l[i] += height + 4.0 * rng.f32().abs();
    }
    l
}

/// `len` random ids, a few of them past the vocabulary.
pub fn random_history(rng: &mut Rng, n: usize, len: usize) -> Vec<u32> {
    (0..len)
        .map(|_| (rng.next_u64() % (n as u64 + 3)) as u32)
        .collect()
}

/// Settings that exercise each filter alone, then together and with the penalty.
pub fn filter_settings() -> Vec<SamplerConfig> {
    let base = plain(0.8);
    vec![
        base.clone(),
        SamplerConfig {
            top_k: 1,
            ..base.clone()
        },
        SamplerConfig {
            top_k: 40,
            ..base.clone()
        },
        SamplerConfig {
            top_p: 0.9,
            ..base.clone()
        },
        SamplerConfig {
            min_p: 0.05,
            ..base.clone()
        },
        SamplerConfig {
            temperature: 1.7,
            ..base.clone()
        },
        SamplerConfig {
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            temperature: 0.7,
            seed: 77,
            ..base.clone()
        },
        SamplerConfig {
            top_k: 60,
            top_p: 0.9,
            min_p: 0.02,
            repeat_penalty: 1.3,
            repeat_last_n: 64,
            seed: 9,
            ..base.clone()
        },
        SamplerConfig {
            top_p: 0.7,
            repeat_penalty: 0.8,
            repeat_last_n: 200,
            seed: u64::MAX,
            ..base
        },
    ]
}

/// Greedy, plain and with a repeat penalty, over ties and histories holding the best ids:
/// the CPU's pick exactly, for each vocabulary size.
pub async fn greedy_is_exact(g: &Gpu, vocabs: &[usize]) {
    let penalized = SamplerConfig {
        repeat_penalty: 1.3,
        repeat_last_n: 64,
        ..greedy()
    };
    let mut rng = Rng::new(1);
    for &n in vocabs {
        for cfg in [greedy(), penalized.clone()] {
            let rig = Rig::new(g, &cfg, n);
            for step in 0..6 {
                // steps of 0.5 make ties at the top common
                let l: Vec<f32> = (0..n).map(|_| (rng.f32() * 8.0).round() * 0.5).collect();
                // the history holds some of the best ids (and ids outside the vocabulary)
                let mut h = random_history(&mut rng, n, 40);
                h.extend(
                    Sampler::new(greedy())
                        .unwrap()
                        .candidates(&l, &[])
                        .unwrap()
                        .iter()
                        .take(3)
                        .map(|c| c.0),
                );
                let got = rig.pick(g, &l, &h, step).await;
                assert_eq!(
                    got,
                    cpu_pick(&cfg, &l, &h, step),
                    "sampler, greedy: n_vocab {n} {cfg:?} step {step}"
                );
            }
        }
    }
}

/// Draws with each filter setting ([`filter_settings`]) on language-model-like logits, and
/// small hand-made cases: the CPU's pick, or a difference [`judge`] allows (at most 1 in
/// 100 from rounding).
pub async fn draws_match(g: &Gpu, vocabs: &[usize]) {
    let mut rng = Rng::new(3);
    let mut tally = Tally::default();
    for &n in vocabs {
        for cfg in filter_settings() {
            let rig = Rig::new(g, &cfg, n);
            let steps = if n > 50_000 { 4 } else { 12 };
            for step in 0..steps {
                let l = llm_logits(&mut rng, n, 1 + n / 500, 9.0);
                let h = random_history(&mut rng, n, 100);
                let got = rig.pick(g, &l, &h, step * 7919).await;
                judge(&mut tally, &cfg, &l, &h, step * 7919, got);
            }
        }
    }
    // small hand-made cases: ties at the top-k cut, a two-token vocabulary
    let cases: [(&[f32], usize); 3] = [
        (&[1.0, 2.0, 1.0, 1.0], 2),
        (&[1.0, 2.0, 1.0, 1.0], 3),
        (&[0.3, 0.3], 0),
    ];
    for (l, top_k) in cases {
        let cfg = SamplerConfig {
            top_k,
            ..plain(1.0)
        };
        let rig = Rig::new(g, &cfg, l.len());
        for step in 0..50 {
            let got = rig.pick(g, l, &[], step).await;
            judge(&mut tally, &cfg, l, &[], step, got);
        }
    }
    println!("{tally:?}");
    let total = tally.same + tally.rounding + tally.on_cpu;
    assert!(
        tally.rounding * 100 <= total,
        "sampler: {tally:?}: more rounding differences than 1 in 100"
    );
}

/// A random mask over `n` ids: each allowed with probability `density` (at least one).
pub fn random_mask(rng: &mut Rng, n: usize, density: f32) -> TokenMask {
    let mut words = vec![0u32; n.div_ceil(32)];
    for id in 0..n {
        if rng.f32().abs() < density {
            words[id / 32] |= 1 << (id % 32);
        }
    }
    let any = (rng.next_u64() % n as u64) as usize;
    words[any / 32] |= 1 << (any % 32);
    TokenMask { words }
}

/// Constrained picks: with a mask on the GPU sampler, its pick equals the CPU's pick from
/// the logits with the mask applied (`TokenMask::apply`, the CPU backends' way), greedy and
/// drawn, dense and sparse masks, the logits' best id left out; a NaN on a masked-out id
/// is no error; and after `set_mask(None)` every id is back.
pub async fn masked_picks_match(g: &Gpu, vocabs: &[usize]) {
    let mut rng = Rng::new(11);
    let mut tally = Tally::default();
    for &n in vocabs {
        let mut settings = vec![greedy()];
        settings.extend(filter_settings().into_iter().take(3));
        for cfg in settings {
            let rig = Rig::new(g, &cfg, n);
            for (k, density) in [0.5f32, 0.01, 0.0].into_iter().enumerate() {
                let mut l = llm_logits(&mut rng, n, 1 + n / 500, 9.0);
                let mut mask = random_mask(&mut rng, n, density);
                // the unconstrained best is never allowed, unless it is the only id
                let best = cpu_pick(&greedy(), &l, &[], 0) as usize;
                if n > 1 {
                    mask.words[best / 32] &= !(1 << (best % 32));
                    let other = (best + 1) % n;
                    mask.words[other / 32] |= 1 << (other % 32);
                    l[best] = f32::NAN;
                }
                let mut masked = l.clone();
                mask.apply(&mut masked);
                rig.sampler.set_mask(g, Some(&mask));
                let step = 31 * k as u32 + 5;
                let got = rig.pick(g, &l, &[], step).await;
                assert!(
                    got == SAMPLE_ON_CPU || mask.allows(got),
                    "n {n} {cfg:?}: picked {got}, which the mask leaves out"
                );
                judge(&mut tally, &cfg, &masked, &[], step, got);
            }
            rig.sampler.set_mask(g, None);
            let l = llm_logits(&mut rng, n, 1, 9.0);
            let got = rig.pick(g, &l, &[], 0).await;
            judge(&mut tally, &cfg, &l, &[], 0, got);
        }
    }
    println!("{tally:?}");
    let total = tally.same + tally.rounding + tally.on_cpu;
    assert!(
        tally.rounding * 100 <= total.max(100),
        "masked sampler: {tally:?}"
    );
}
