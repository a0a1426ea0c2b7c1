//! The sampler against straightforward independent computations (f64, written from the
//! definitions), and its draws against their probabilities.

use hearth_model::ModelError;
use hearth_model::sampler::{Sampler, SamplerConfig, pcg_hash, uniform};

/// Every filter off, temperature 1: the plain softmax.
fn plain(temperature: f32) -> SamplerConfig {
    SamplerConfig {
        temperature,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        repeat_penalty: 1.0,
        repeat_last_n: 64,
        seed: 1234,
    }
}

fn sampler(cfg: SamplerConfig) -> Sampler {
    Sampler::new(cfg).unwrap()
}

/// A small deterministic generator for test logits (not the sampler's).
struct TestRng(u64);

impl TestRng {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0
    }
    fn logits(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// Ids by logit descending, then id ascending.
fn order(l: &[f32]) -> Vec<usize> {
    let mut ids: Vec<usize> = (0..l.len()).filter(|&i| l[i] > f32::NEG_INFINITY).collect();
    ids.sort_by(|&a, &b| l[b].partial_cmp(&l[a]).unwrap().then(a.cmp(&b)));
    ids
}

/// softmax(l[ids] / t) in f64, as (id, p).
fn softmax(l: &[f32], ids: &[usize], t: f64) -> Vec<(u32, f64)> {
    let max = ids
        .iter()
        .map(|&i| l[i] as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = ids
        .iter()
        .map(|&i| ((l[i] as f64 - max) / t).exp())
        .collect();
    let s: f64 = e.iter().sum();
    ids.iter().zip(e).map(|(&i, x)| (i as u32, x / s)).collect()
}

fn assert_close(got: &[(u32, f32)], want: &[(u32, f64)], tol: f64) {
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        want.iter().map(|w| w.0).collect::<Vec<_>>(),
        "ids differ"
    );
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g.1 as f64 - w.1).abs() <= tol,
            "id {}: got {} want {}",
            g.0,
            g.1,
            w.1
        );
    }
}

fn request_error<T: std::fmt::Debug>(r: hearth_model::Result<T>) -> String {
    match r {
        Err(ModelError::Request(msg)) => msg,
        other => panic!("expected a request error, got {other:?}"),
    }
}

#[test]
fn greedy_is_argmax_with_lowest_id_on_ties() {
    let mut rng = TestRng(1);
    let mut s = sampler(SamplerConfig::default());
    for _ in 0..50 {
        let l = rng.logits(1000);
        let want = order(&l)[0] as u32;
        assert_eq!(s.sample(&l, &[]).unwrap(), want);
    }
    assert_eq!(s.sample(&[1.0, 5.0, 2.0, 5.0, 5.0], &[]).unwrap(), 1);
    assert_eq!(s.sample(&[f32::NEG_INFINITY, -3.0], &[]).unwrap(), 1);
    assert_eq!(
        s.distribution(&[0.0, 2.0, 2.0], &[]).unwrap(),
        vec![(1, 1.0)]
    );
}

#[test]
fn repetition_penalty_follows_llama_cpp() {
    let l = [2.0f32, -1.0, 0.5, 3.0, 0.0, 1.0];
    let cfg = SamplerConfig {
        repeat_penalty: 2.0,
        ..plain(1.0)
    };
    // 0 (positive: halved), 1 (negative: doubled, once though seen twice), 4 (zero stays),
    // 99 (not in the vocab: ignored).
    let history = [0, 1, 1, 4, 99];
    let penalized = [1.0f32, -2.0, 0.5, 3.0, 0.0, 1.0];
    let got = sampler(cfg.clone()).distribution(&l, &history).unwrap();
    assert_close(&got, &softmax(&penalized, &order(&penalized), 1.0), 1e-6);

    // Only the last `repeat_last_n` ids count: 3 is older than the window.
    let cfg2 = SamplerConfig {
        repeat_last_n: 2,
        ..cfg.clone()
    };
    let got = sampler(cfg2).distribution(&l, &[3, 0, 5]).unwrap();
    let penalized = [1.0f32, -1.0, 0.5, 3.0, 0.0, 0.5];
    assert_close(&got, &softmax(&penalized, &order(&penalized), 1.0), 1e-6);

    // It changes the greedy choice; off when repeat_last_n is 0 or the penalty 1.
    let greedy = SamplerConfig {
        temperature: 0.0,
        ..cfg
    };
    assert_eq!(
        sampler(greedy.clone()).sample(&[2.0, 1.5], &[0]).unwrap(),
        1
    );
    let off = SamplerConfig {
        repeat_last_n: 0,
        ..greedy.clone()
    };
    assert_eq!(sampler(off).sample(&[2.0, 1.5], &[0]).unwrap(), 0);
    let off = SamplerConfig {
        repeat_penalty: 1.0,
        ..greedy
    };
    assert_eq!(sampler(off).sample(&[2.0, 1.5], &[0]).unwrap(), 0);
}

#[test]
fn temperature_scales_the_softmax() {
    let mut rng = TestRng(2);
    let l = rng.logits(300);
    for t in [0.1f32, 0.7, 1.0, 1.5, 10.0] {
        let got = sampler(plain(t)).distribution(&l, &[]).unwrap();
        assert_close(&got, &softmax(&l, &order(&l), t as f64), 1e-6);
        let sum: f32 = got.iter().map(|g| g.1).sum();
        assert!((sum - 1.0).abs() < 1e-5);
    }
}

#[test]
fn top_k_keeps_the_k_most_likely() {
    let mut rng = TestRng(3);
    let l = rng.logits(500);
    for k in [1usize, 2, 40, 499, 500, 501, 10_000] {
        let cfg = SamplerConfig {
            top_k: k,
            ..plain(0.8)
        };
        let got = sampler(cfg).distribution(&l, &[]).unwrap();
        let ids: Vec<usize> = order(&l).into_iter().take(k).collect();
        assert_close(&got, &softmax(&l, &ids, 0.8), 1e-6);
    }
    // Ties at the cut keep the lower ids.
    let cfg = SamplerConfig {
        top_k: 2,
        ..plain(1.0)
    };
    let got = sampler(cfg)
        .distribution(&[1.0, 2.0, 1.0, 1.0], &[])
        .unwrap();
    assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec![1, 0]);
}

/// The smallest most-likely prefix whose probability (at temperature 1) reaches `p`.
fn nucleus(l: &[f32], ids: &[usize], p: f64) -> Vec<usize> {
    let probs = softmax(l, ids, 1.0);
    let mut cum = 0.0;
    for (i, (_, q)) in probs.iter().enumerate() {
        cum += q;
        if cum >= p {
            return ids[..=i].to_vec();
        }
    }
    ids.to_vec()
}

#[test]
fn top_p_keeps_the_nucleus() {
    // Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (logits are their logs).
    let l: Vec<f32> = [0.5f64, 0.25, 0.125, 0.0625, 0.0625]
        .iter()
        .map(|p| p.ln() as f32)
        .collect();
    for (p, keep) in [
        (0.3f32, 1),
        (0.6, 2),
        (0.8, 3),
        (0.9, 4),
        (0.99, 5),
        (1.0, 5),
    ] {
        let cfg = SamplerConfig {
            top_p: p,
            ..plain(1.0)
        };
        let got = sampler(cfg).distribution(&l, &[]).unwrap();
        let ids = nucleus(&l, &order(&l), p as f64);
        assert_eq!(ids.len(), keep, "top_p {p}");
        assert_close(&got, &softmax(&l, &ids, 1.0), 1e-6);
    }
    let mut rng = TestRng(4);
    let l = rng.logits(400);
    // top-p is measured at temperature 1, then the temperature applies.
    for p in [0.1f32, 0.5, 0.9] {
        let cfg = SamplerConfig {
            top_p: p,
            ..plain(2.0)
        };
        let got = sampler(cfg).distribution(&l, &[]).unwrap();
        let ids = nucleus(&l, &order(&l), p as f64);
        assert_close(&got, &softmax(&l, &ids, 2.0), 1e-6);
    }
}

#[test]
fn tiny_top_p_keeps_only_the_top_token() {
    let mut rng = TestRng(5);
    let l = rng.logits(1000);
    let top = order(&l)[0] as u32;
    let cfg = SamplerConfig {
        top_p: 1e-6,
        ..plain(1.5)
    };
    let mut s = sampler(cfg);
    assert_eq!(s.distribution(&l, &[]).unwrap(), vec![(top, 1.0)]);
    for _ in 0..200 {
        assert_eq!(s.sample(&l, &[]).unwrap(), top);
    }
}

#[test]
fn min_p_drops_the_unlikely() {
    let mut rng = TestRng(6);
    let l = rng.logits(400);
    for m in [0.01f32, 0.05, 0.3, 1.0] {
        let cfg = SamplerConfig {
            min_p: m,
            ..plain(0.9)
        };
        let got = sampler(cfg).distribution(&l, &[]).unwrap();
        let all = order(&l);
        let probs = softmax(&l, &all, 1.0);
        let ids: Vec<usize> = all
            .iter()
            .zip(&probs)
            .filter(|(_, p)| p.1 >= m as f64 * probs[0].1)
            .map(|(&i, _)| i)
            .collect();
        assert_close(&got, &softmax(&l, &ids, 0.9), 1e-6);
    }
}

#[test]
fn the_chain_is_top_k_top_p_min_p_then_temperature() {
    let mut rng = TestRng(7);
    let l = rng.logits(2000);
    let history: Vec<u32> = (0..100).map(|i| (i * 37 % 2000) as u32).collect();
    let cfg = SamplerConfig {
        temperature: 0.7,
        top_k: 60,
        top_p: 0.9,
        min_p: 0.02,
        repeat_penalty: 1.3,
        repeat_last_n: 64,
        seed: 9,
    };
    let got = sampler(cfg.clone()).distribution(&l, &history).unwrap();

    let mut p = l.clone();
    let mut seen: Vec<u32> = history[history.len() - 64..].to_vec();
    seen.sort();
    seen.dedup();
    for id in seen {
        let x = &mut p[id as usize];
        *x = if *x > 0.0 { *x / 1.3 } else { *x * 1.3 };
    }
    let ids: Vec<usize> = order(&p).into_iter().take(60).collect();
    let ids = nucleus(&p, &ids, 0.9);
    let probs = softmax(&p, &ids, 1.0);
    let ids: Vec<usize> = ids
        .iter()
        .zip(&probs)
        .filter(|(_, q)| q.1 >= 0.02 * probs[0].1)
        .map(|(&i, _)| i)
        .collect();
    assert!(ids.len() > 3 && ids.len() < 60, "{} kept", ids.len());
    assert_close(&got, &softmax(&p, &ids, 0.7), 1e-6);
}

/// Pearson's chi-square of `counts` against `probs` over `n` draws.
fn chi_square(counts: &[u64], probs: &[f64], n: u64) -> f64 {
    counts
        .iter()
        .zip(probs)
        .map(|(&c, &p)| {
            let e = p * n as f64;
            (c as f64 - e).powi(2) / e
        })
        .sum()
}

#[test]
fn draws_follow_the_distribution() {
    // 8 tokens with different probabilities; 7 degrees of freedom: chi2 > 24.3 has p < 0.001.
    let l = [0.3f32, -1.0, 1.2, 0.0, 2.0, -0.5, 0.9, -2.0];
    for (seed, t, top_k) in [(1u64, 1.0f32, 0usize), (77, 0.6, 0), (5, 1.8, 6)] {
        let cfg = SamplerConfig {
            seed,
            top_k,
            ..plain(t)
        };
        let mut s = sampler(cfg);
        let dist = s.distribution(&l, &[]).unwrap();
        let n = 200_000u64;
        let mut counts = vec![0u64; l.len()];
        for _ in 0..n {
            counts[s.sample(&l, &[]).unwrap() as usize] += 1;
        }
        let mut probs = vec![0.0f64; l.len()];
        for (id, p) in &dist {
            probs[*id as usize] = *p as f64;
        }
        let kept: Vec<usize> = (0..l.len()).filter(|&i| probs[i] > 0.0).collect();
        for i in 0..l.len() {
            if probs[i] == 0.0 {
                assert_eq!(counts[i], 0, "token {i} was filtered out but drawn");
            }
        }
        let c: Vec<u64> = kept.iter().map(|&i| counts[i]).collect();
        let p: Vec<f64> = kept.iter().map(|&i| probs[i]).collect();
        let chi2 = chi_square(&c, &p, n);
        assert!(
            chi2 < 24.3,
            "seed {seed} t {t}: chi2 {chi2}, counts {counts:?}, probs {probs:?}"
        );
    }
}

#[test]
fn uniform_is_the_documented_counter_based_generator() {
    // The contract the GPU kernel follows, recomputed from pcg_hash.
    for seed in [0u64, 1, 0xdead_beef_0000_0001, u64::MAX] {
        let key = pcg_hash(seed as u32 ^ pcg_hash((seed >> 32) as u32));
        for step in [0u32, 1, 2, 1000, u32::MAX] {
            let want = (pcg_hash(key ^ pcg_hash(step)) >> 8) as f32 / 16_777_216.0;
            assert_eq!(uniform(seed, step), want);
        }
    }
    // In [0, 1), on a 2^-24 grid, and uniform: 64 buckets over 2^18 steps.
    let n = 1u32 << 18;
    let mut buckets = [0u64; 64];
    for step in 0..n {
        let u = uniform(42, step);
        assert!((0.0..1.0).contains(&u));
        assert_eq!((u * 16_777_216.0).fract(), 0.0);
        buckets[(u * 64.0) as usize] += 1;
    }
    let chi2 = chi_square(&buckets, &[1.0 / 64.0; 64], n as u64);
    // 63 degrees of freedom: chi2 > 103.4 has p < 0.001.
    assert!(chi2 < 103.4, "chi2 {chi2}");
}

#[test]
fn sample_is_the_inverse_cdf_of_the_distribution() {
    let mut rng = TestRng(8);
    let l = rng.logits(50);
    let cfg = SamplerConfig {
        seed: 31337,
        ..plain(1.3)
    };
    let mut s = sampler(cfg);
    let dist = s.distribution(&l, &[]).unwrap();
    let mut checked = 0;
    for step in 0..2000u32 {
        let u = uniform(31337, step) as f64;
        let got = s.sample(&l, &[]).unwrap();
        let mut cum = 0.0f64;
        let mut near_edge = false;
        let mut want = dist.last().unwrap().0;
        for &(id, p) in &dist {
            cum += p as f64;
            near_edge |= (u - cum).abs() < 1e-5;
            if u < cum {
                want = id;
                break;
            }
        }
        if !near_edge {
            assert_eq!(got, want, "step {step}, u {u}");
            checked += 1;
        }
    }
    assert!(checked > 1900);
}

#[test]
fn same_seed_same_tokens_different_seed_different_tokens() {
    let mut rng = TestRng(9);
    let l: Vec<f32> = rng.logits(1000).iter().map(|x| x * 0.1).collect();
    let run = |seed: u64| -> Vec<u32> {
        let mut s = sampler(SamplerConfig { seed, ..plain(1.0) });
        (0..64).map(|_| s.sample(&l, &[]).unwrap()).collect()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    assert_ne!(run(7), run(7 | 1 << 40));

    // The step is the draw counter: setting it replays from there.
    let full = run(7);
    let mut s = sampler(SamplerConfig {
        seed: 7,
        ..plain(1.0)
    });
    s.set_step(10);
    assert_eq!(s.sample(&l, &[]).unwrap(), full[10]);
    assert_eq!(s.step(), 11);
}

#[test]
fn extreme_logits_give_no_nan() {
    let l = [
        1e30f32,
        -1e30,
        0.0,
        f32::MAX,
        -f32::MAX,
        f32::NEG_INFINITY,
        f32::MAX,
        1e-30,
    ];
    for t in [1e-6f32, 0.5, 1.0, 100.0, 1e30] {
        for (top_k, top_p, min_p) in [(0, 1.0, 0.0), (3, 0.5, 0.1), (0, 0.999, 0.0)] {
            let cfg = SamplerConfig {
                top_k,
                top_p,
                min_p,
                repeat_penalty: 1.5,
                ..plain(t)
            };
            let mut s = sampler(cfg);
            let d = s.distribution(&l, &[0, 1, 3]).unwrap();
            assert!(d.iter().all(|x| x.1.is_finite() && x.1 >= 0.0), "{d:?}");
            let sum: f32 = d.iter().map(|x| x.1).sum();
            assert!((sum - 1.0).abs() < 1e-5, "t {t}: {d:?}");
            for _ in 0..20 {
                let id = s.sample(&l, &[0, 1, 3]).unwrap();
                assert!(
                    d.iter().any(|x| x.0 == id && x.1 > 0.0),
                    "drew {id} from {d:?}"
                );
            }
        }
    }
    // The two f32::MAX logits share everything at any temperature.
    let d = sampler(plain(1.0)).distribution(&l, &[]).unwrap();
    assert_eq!((d[0].0, d[1].0), (3, 6));
    assert!((d[0].1 - 0.5).abs() < 1e-6 && (d[1].1 - 0.5).abs() < 1e-6);
}

#[test]
fn bad_logits_are_errors() {
    let mut s = sampler(plain(1.0));
    request_error(s.sample(&[], &[]));
    request_error(s.sample(&[0.0, f32::NAN], &[]));
    request_error(s.sample(&[0.0, f32::INFINITY], &[]));
    request_error(s.sample(&[f32::NEG_INFINITY; 4], &[]));
    let mut greedy = sampler(SamplerConfig::default());
    request_error(greedy.sample(&[f32::NAN], &[]));
    request_error(greedy.sample(&[f32::NEG_INFINITY], &[]));
    assert_eq!(s.sample(&[f32::NEG_INFINITY, 0.0], &[]).unwrap(), 1);
}

#[test]
fn bad_settings_are_request_errors() {
    let base = SamplerConfig::default();
    let bad = [
        SamplerConfig {
            temperature: f32::NAN,
            ..base.clone()
        },
        SamplerConfig {
            temperature: -0.5,
            ..base.clone()
        },
        SamplerConfig {
            temperature: f32::INFINITY,
            ..base.clone()
        },
        SamplerConfig {
            top_p: 0.0,
            ..base.clone()
        },
        SamplerConfig {
            top_p: 1.5,
            ..base.clone()
        },
        SamplerConfig {
            top_p: f32::NAN,
            ..base.clone()
        },
        SamplerConfig {
            min_p: -0.1,
            ..base.clone()
        },
        SamplerConfig {
            min_p: 1.1,
            ..base.clone()
        },
        SamplerConfig {
            min_p: f32::NAN,
            ..base.clone()
        },
        SamplerConfig {
            repeat_penalty: 0.0,
            ..base.clone()
        },
        SamplerConfig {
            repeat_penalty: -1.0,
            ..base.clone()
        },
        SamplerConfig {
            repeat_penalty: f32::NAN,
            ..base.clone()
        },
        SamplerConfig {
            repeat_penalty: f32::INFINITY,
            ..base.clone()
        },
    ];
    for cfg in bad {
        let msg = request_error(Sampler::new(cfg.clone()));
        assert!(!msg.is_empty(), "{cfg:?}");
    }
    assert_eq!(
        base,
        SamplerConfig {
            temperature: 0.0,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 0,
        }
    );
    assert!(
        Sampler::new(SamplerConfig {
            top_p: 1.0,
            min_p: 1.0,
            ..base
        })
        .is_ok()
    );
}

#[test]
fn a_penalty_that_excludes_every_token_is_an_error() {
    use hearth_model::sampler::{Sampler, SamplerConfig};
    let mut s = Sampler::new(SamplerConfig {
        temperature: 1.0,
        repeat_penalty: f32::MAX,
        ..SamplerConfig::default()
    })
    .unwrap();
    let err = s
        .sample(&[-2.0, -3.0, -4.0], &[0, 1, 2])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no token is possible"), "{err}");
}
