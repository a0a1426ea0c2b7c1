//! The GPU sampler (sample_prep.wgsl → sample_select.wgsl → sample.wgsl) against its CPU
//! twin, `hearth_model::sampler::Sampler`: the same id for the same settings, seed, step and
//! history. Greedy must agree always. A draw may differ only within float rounding of a
//! cumulative boundary (of the draw, or of the top-p mass), and [`SAMPLE_ON_CPU`] only when
//! the top-k pool is larger than the sorted head; `judge` checks both conditions from the
//! CPU's own numbers, so the tests are deterministic and cannot flake.

// native only (blocking calls); tests/browser.rs runs the kernel checks on the web
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::sample::{
    GUARD, Rig, SLOT, Tally, VOCABS, cpu_pick, draws_match, filter_settings, greedy,
    greedy_is_exact, judge, llm_logits, plain, random_history,
};
use common::{Rng, block_on, gpu};
use hearth_gpu::GpuTensor;
use hearth_gpu::kernels::{self, GpuSampler, SAMPLE_CAP, SAMPLE_ERROR, SAMPLE_ON_CPU, Step};
use hearth_model::sampler::{Sampler, SamplerConfig, uniform};

#[test]
fn greedy_is_exact_at_every_vocab_size() {
    block_on(greedy_is_exact(&gpu(), &VOCABS));
}

#[test]
fn greedy_ties_pick_the_lowest_id() {
    let g = gpu();
    let n = 5000; // three workgroups: ties across them too
    let rig = Rig::new(&g, &greedy(), n);
    let mut cases: Vec<(Vec<f32>, u32)> = Vec::new();
    cases.push((vec![0.0; n], 0));
    let mut l = vec![-1.0; n];
    for i in [4999, 2048, 2047, 17] {
        l[i] = 2.5;
    }
    cases.push((l, 17));
    // -0 and +0 are equal, as the CPU compares them
    let mut l = vec![-3.0; n];
    l[4096] = 0.0;
    l[3000] = -0.0;
    cases.push((l, 3000));
    // one value above -inf, anywhere
    for i in [0, 2049, 4999] {
        let mut l = vec![f32::NEG_INFINITY; n];
        l[i] = -7.0;
        cases.push((l, i as u32));
    }
    for (l, want) in cases {
        assert_eq!(cpu_pick(&greedy(), &l, &[], 0), want);
        assert_eq!(block_on(rig.pick(&g, &l, &[], 0)), want);
    }
    // a penalty that leaves every logit at -inf: the CPU's argmax is id 0
    let cfg = SamplerConfig {
        repeat_penalty: 1e10,
        repeat_last_n: 8,
        ..greedy()
    };
    let rig = Rig::new(&g, &cfg, 3);
    let l = [-1e38f32, -2e38, -3e38];
    let h = [2, 1, 0];
    assert_eq!(cpu_pick(&cfg, &l, &h, 0), 0);
    assert_eq!(block_on(rig.pick(&g, &l, &h, 0)), 0);
}

#[test]
fn penalty_division_rounds_like_the_cpu() {
    // A penalized logit x becomes x / p; a second token holds the CPU's x / p exactly. With
    // the penalized token second, a GPU quotient one ulp high wins; with it first, one ulp
    // low loses. Either way the CPU picks id 0, and so must the GPU.
    let g = gpu();
    let mut rng = Rng::new(2);
    let mut pairs: Vec<(f32, f32)> = Vec::new();
    for i in 0..150 {
        let p = match i % 5 {
            0 => 1.3,
            1 => 1.1,
            2 => 0.7,
            _ => 0.25 + 4.0 * rng.f32().abs(),
        };
        // magnitudes from 1e-40 (subnormal quotients) to near f32::MAX
        let exp = (rng.next_u64() % 250) as i32 - 133;
        let x = (1.0 + rng.f32().abs()) * 2f32.powi(exp);
        pairs.push((x, p));
        pairs.push((-x, p));
    }
    pairs.push((f32::MAX, 1.5));
    pairs.push((1e-45, 3.0));
    let mut rig = Rig::new(&g, &greedy(), 2);
    for (x, p) in pairs {
        let q = if x > 0.0 { x / p } else { x * p };
        if !q.is_finite() {
            continue;
        }
        let cfg = SamplerConfig {
            repeat_penalty: p,
            repeat_last_n: 4,
            ..greedy()
        };
        rig.sampler.set_config(&g, &cfg).unwrap();
        for (l, h) in [([q, x], [1u32]), ([x, q], [0u32])] {
            assert_eq!(cpu_pick(&cfg, &l, &h, 0), 0);
            assert_eq!(
                block_on(rig.pick(&g, &l, &h, 0)),
                0,
                "x {x:e} ({:#010x}) p {p}: the GPU's quotient is not {q:e} ({:#010x})",
                x.to_bits(),
                q.to_bits()
            );
        }
    }
}

#[test]
fn draw_index_is_the_cpu_generator() {
    // 1024 equal logits: every weight is 1, the total 1024 and u · 1024 exact, so the pick
    // is the top 10 bits of the uniform number, bit for bit.
    let g = gpu();
    let l = vec![0.5f32; 1024];
    for seed in [0u64, 1, 0xdead_beef_0000_0001, u64::MAX] {
        let cfg = SamplerConfig { seed, ..plain(0.9) };
        let rig = Rig::new(&g, &cfg, l.len());
        for step in [0u32, 1, 2, 3, 1000, 65_537, u32::MAX - 1, u32::MAX] {
            let want = (uniform(seed, step) * 1024.0) as u32;
            assert_eq!(cpu_pick(&cfg, &l, &[], step), want);
            assert_eq!(
                block_on(rig.pick(&g, &l, &[], step)),
                want,
                "seed {seed} step {step}"
            );
        }
    }
}

#[test]
fn draws_match_the_cpu() {
    block_on(draws_match(&gpu(), &VOCABS));
}

#[test]
fn masked_picks_match_the_cpu() {
    block_on(common::sample::masked_picks_match(
        &gpu(),
        &[7, 1000, 49152],
    ));
}

#[test]
fn extreme_and_infinite_logits() {
    let g = gpu();
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
    let mut tally = Tally::default();
    for t in [1e-6f32, 0.5, 1.0, 100.0, 1e30] {
        for (top_k, top_p, min_p) in [(0, 1.0, 0.0), (3, 0.5, 0.1), (0, 0.999, 0.0)] {
            for penalty in [1.0, 1.5] {
                let cfg = SamplerConfig {
                    top_k,
                    top_p,
                    min_p,
                    repeat_penalty: penalty,
                    ..plain(t)
                };
                let rig = Rig::new(&g, &cfg, l.len());
                for step in 0..20 {
                    let got = block_on(rig.pick(&g, &l, &[0, 1, 3], step));
                    judge(&mut tally, &cfg, &l, &[0, 1, 3], step, got);
                }
            }
        }
    }
    assert_eq!(tally.rounding + tally.on_cpu, 0, "{tally:?}");

    // a penalty below 1 can push a logit to +inf: the CPU then takes the first such id
    let l = [1.0f32, 3e38, -2.0, 3e38];
    for cfg in [
        SamplerConfig {
            repeat_penalty: 0.5,
            ..plain(1.0)
        },
        SamplerConfig {
            repeat_penalty: 0.5,
            top_p: 0.9,
            min_p: 0.1,
            ..plain(0.0)
        },
    ] {
        let rig = Rig::new(&g, &cfg, l.len());
        for step in 0..5 {
            assert_eq!(cpu_pick(&cfg, &l, &[3, 1], step), 1);
            assert_eq!(block_on(rig.pick(&g, &l, &[3, 1], step)), 1, "{cfg:?}");
        }
    }

    // masks: all but a few ids at -inf, in a large vocabulary, with every filter mix
    let mut rng = Rng::new(4);
    let n = 128256;
    let mut l = vec![f32::NEG_INFINITY; n];
    for _ in 0..9 {
        l[(rng.next_u64() % n as u64) as usize] = rng.f32() * 4.0;
    }
    for cfg in filter_settings() {
        let rig = Rig::new(&g, &cfg, n);
        for step in 0..3 {
            let got = block_on(rig.pick(&g, &l, &[], step));
            judge(&mut tally, &cfg, &l, &[], step, got);
        }
    }
    assert_eq!(tally.on_cpu, 0, "{tally:?}");
}

#[test]
fn bad_logits_give_the_error_id() {
    let g = gpu();
    for cfg in [greedy(), plain(1.0)] {
        let rig = Rig::new(&g, &cfg, 1000);
        for bad in [f32::NAN, f32::INFINITY, -f32::NAN] {
            let mut l = vec![0.5; 1000];
            l[999] = bad;
            assert_eq!(
                block_on(rig.pick(&g, &l, &[5, 6], 0)),
                SAMPLE_ERROR,
                "{bad}"
            );
            assert_eq!(rig.sampler.history_blocking(&g).unwrap(), vec![5, 6]);
        }
        let l = vec![f32::NEG_INFINITY; 1000];
        assert_eq!(block_on(rig.pick(&g, &l, &[5, 6], 0)), SAMPLE_ERROR);
        // and the next good pick is unharmed by the scratch a bad one left
        let mut l = vec![0.0; 1000];
        l[321] = 9.0;
        let cfg_peak = SamplerConfig {
            top_k: 1,
            ..cfg.clone()
        };
        let mut rig = rig;
        rig.sampler.set_config(&g, &cfg_peak).unwrap();
        assert_eq!(block_on(rig.pick(&g, &l, &[], 0)), 321);
    }
}

#[test]
fn large_pools_fall_back_only_past_the_head() {
    let g = gpu();
    let n = 128256;
    let mut rng = Rng::new(5);
    let flat: Vec<f32> = (0..n).map(|_| rng.f32()).collect();

    // the whole softmax of a flat distribution: most draws land past the head; the CPU
    // resolves those, and the token and history come out as if the GPU had picked
    let cfg = plain(1.0);
    let rig = Rig::new(&g, &cfg, n);
    let mut tally = Tally::default();
    for step in 0..8 {
        let h = [7u32, 8, 9];
        let got = block_on(rig.pick(&g, &flat, &h, step));
        judge(&mut tally, &cfg, &flat, &h, step, got);
        if got == SAMPLE_ON_CPU {
            assert_eq!(rig.sampler.history_blocking(&g).unwrap(), h);
            let read: Vec<f32> = rig.logits.read_blocking(&g).unwrap();
            let id = rig
                .sampler
                .resolve_on_cpu(&g, &read, None, &h, step, &rig.token, SLOT)
                .unwrap();
            assert_eq!(id, cpu_pick(&cfg, &flat, &h, step));
            let t: Vec<u32> = rig.token.read_blocking(&g).unwrap();
            assert_eq!(t, vec![GUARD, id, GUARD]);
            assert_eq!(rig.sampler.history_blocking(&g).unwrap(), vec![7, 8, 9, id]);
        }
    }
    assert!(tally.on_cpu >= 6, "{tally:?}");

    // settings that decide inside the head never fall back, however large the vocabulary
    let peaked = llm_logits(&mut rng, n, 12, 25.0);
    let mut floor = flat.clone();
    for v in floor.iter_mut().take(700) {
        *v += 6.0;
    }
    let cases: Vec<(SamplerConfig, &[f32])> = vec![
        (
            SamplerConfig {
                top_k: SAMPLE_CAP,
                ..cfg.clone()
            },
            &flat,
        ),
        (
            SamplerConfig {
                top_k: SAMPLE_CAP,
                top_p: 0.5,
                ..cfg.clone()
            },
            &flat,
        ),
        (cfg.clone(), &peaked),
        (
            SamplerConfig {
                top_p: 0.95,
                ..cfg.clone()
            },
            &peaked,
        ),
        (
            SamplerConfig {
                top_k: 5000,
                top_p: 0.9,
                ..cfg.clone()
            },
            &peaked,
        ),
        (
            SamplerConfig {
                min_p: 0.05,
                ..cfg.clone()
            },
            &floor,
        ),
    ];
    let mut tally = Tally::default();
    for (cfg, l) in cases {
        let rig = Rig::new(&g, &cfg, n);
        for step in 0..4 {
            let got = block_on(rig.pick(&g, l, &[], step));
            judge(&mut tally, &cfg, l, &[], step, got);
        }
    }
    assert_eq!(tally.on_cpu, 0, "{tally:?}");
}

#[test]
fn whole_softmax_differs_only_within_the_cpus_rounding() {
    // Sampling the whole softmax of a large vocabulary, the CPU's total weight is an f32
    // sum of every candidate in order, which drifts from the exact sum (3e-4 relative at
    // 128256 ids here); the GPU's is the head in order plus a tree of tail sums. A draw
    // within that drift of a boundary may go either way; `judge` checks that each
    // difference is one of those, and that the rest is the CPU's pick or sent to the CPU.
    let g = gpu();
    let mut tally = Tally::default();
    for n in [49152, 128256] {
        let cfg = SamplerConfig {
            seed: 5,
            ..plain(1.0)
        };
        let rig = Rig::new(&g, &cfg, n);
        let mut rng = Rng::new(n as u64);
        for step in 0..20 {
            let l: Vec<f32> = (0..n)
                .map(|i| rng.f32() * 3.0 + if i % 97 == 3 { 6.0 } else { 0.0 })
                .collect();
            let got = block_on(rig.pick(&g, &l, &[], step));
            judge(&mut tally, &cfg, &l, &[], step, got);
        }
    }
    println!("{tally:?}");
    assert!(tally.same > 2 * tally.rounding, "{tally:?}");
}

#[test]
fn pools_past_the_head_are_bounded_not_guessed() {
    // top_k 2000 over 128256 ids: the pool runs 976 candidates past the sorted head, and the
    // tail sums cover every other candidate too, so they only bound the pool's totals. A
    // pick is exact when both bounds agree, else it goes to the CPU; never a wrong id.
    let g = gpu();
    let n = 128256;
    let mut tally = Tally::default();
    for (head, top_p) in [(3.0f32, 1.0f32), (8.0, 0.9), (8.0, 0.5), (30.0, 0.9)] {
        let mut l = vec![0.0f32; n];
        for (i, v) in l.iter_mut().enumerate().take(SAMPLE_CAP) {
            *v = head + (i % 7) as f32 * 0.01;
        }
        let cfg = SamplerConfig {
            top_k: 2000,
            top_p,
            ..plain(1.0)
        };
        let rig = Rig::new(&g, &cfg, n);
        for step in 0..6 {
            let got = block_on(rig.pick(&g, &l, &[], step));
            judge(&mut tally, &cfg, &l, &[], step, got);
        }
    }
    // with a negligible tail (the last case) the bounds agree and the GPU decides
    assert!(tally.same >= 6 && tally.on_cpu >= 12, "{tally:?}");
}

#[test]
fn min_p_floor_is_exact_and_inclusive() {
    // a logit exactly at L + ln(min_p) is kept (probability 0.2 here)
    let g = gpu();
    let floor = 2.0f32 + 0.25f32.ln();
    let l = [2.0f32, floor, floor - 1e-6, -5.0];
    let cfg = SamplerConfig {
        min_p: 0.25,
        ..plain(1.0)
    };
    let d = Sampler::new(cfg.clone())
        .unwrap()
        .distribution(&l, &[])
        .unwrap();
    assert_eq!(d.len(), 2);
    let rig = Rig::new(&g, &cfg, l.len());
    let mut tally = Tally::default();
    let mut kept = 0;
    for step in 0..60 {
        let got = block_on(rig.pick(&g, &l, &[], step));
        judge(&mut tally, &cfg, &l, &[], step, got);
        kept += (got == 1) as usize;
    }
    assert!(kept > 0 && tally.same == 60, "{tally:?}");
}

#[test]
fn only_the_token_and_history_change() {
    let g = gpu();
    let n = 49152;
    let mut rng = Rng::new(6);
    let l = llm_logits(&mut rng, n, 50, 8.0);
    let cfg = SamplerConfig {
        top_k: 40,
        repeat_penalty: 1.2,
        ..plain(0.9)
    };
    let rig = Rig::new(&g, &cfg, n);
    let h = random_history(&mut rng, n, 30);
    let got = block_on(rig.pick(&g, &l, &h, 3));
    let read: Vec<f32> = rig.logits.read_blocking(&g).unwrap();
    assert!(
        read.iter().zip(&l).all(|(a, b)| a.to_bits() == b.to_bits()),
        "the logits changed"
    );
    let mut want = h.clone();
    want.push(got);
    assert_eq!(rig.sampler.history_blocking(&g).unwrap(), want);
    // run() checked the words around the token slot
}

#[test]
fn decode_loop_keeps_the_history_on_the_gpu() {
    // fixed logits and a strong penalty over a window of 8 in a ring of 8: the picks cycle
    // through the best tokens, and the GPU's own history must drive them as the CPU's does
    let g = gpu();
    let n = 1000;
    let mut rng = Rng::new(7);
    let l = llm_logits(&mut rng, n, 20, 6.0);
    for cfg in [
        SamplerConfig {
            repeat_penalty: 5.0,
            repeat_last_n: 8,
            ..greedy()
        },
        SamplerConfig {
            repeat_penalty: 3.0,
            repeat_last_n: 8,
            top_k: 30,
            ..plain(0.6)
        },
    ] {
        let sampler = GpuSampler::new(&g, &cfg, n, 8).unwrap();
        let logits = GpuTensor::from_slice(&g, &l, "logits");
        let token = GpuTensor::zeros(&g, 1, "token");
        let step = Step::default().buffer(&g);
        let ops = sampler.ops(&g, &logits, &token, 0, &step).unwrap();
        let mut history: Vec<u32> = vec![1, 2, 3];
        sampler.set_history(&g, &history);
        let mut tally = Tally::default();
        for k in 0..40u32 {
            Step {
                sample: k,
                ..Default::default()
            }
            .write(&g, &step);
            kernels::submit(&g, &ops);
            let got = token.read_blocking::<u32>(&g).unwrap()[0];
            judge(&mut tally, &cfg, &l, &history, k, got);
            history.push(got);
        }
        assert_eq!(
            sampler.history_blocking(&g).unwrap(),
            history[history.len() - 8..]
        );
        let distinct: std::collections::BTreeSet<u32> = history.iter().copied().collect();
        assert!(distinct.len() > 8, "the penalty had no effect: {history:?}");
        assert_eq!(tally.on_cpu, 0);
    }
}

#[test]
fn bad_settings_and_shapes_are_errors() {
    let g = gpu();
    assert!(GpuSampler::new(&g, &greedy(), 0, 8).is_err());
    assert!(GpuSampler::new(&g, &greedy(), 10, 0).is_err());
    let bad = SamplerConfig {
        top_p: 0.0,
        ..plain(1.0)
    };
    assert!(GpuSampler::new(&g, &bad, 10, 8).is_err());
    let long_window = SamplerConfig {
        repeat_penalty: 1.1,
        repeat_last_n: 9,
        ..plain(1.0)
    };
    assert!(GpuSampler::new(&g, &long_window, 10, 8).is_err());
    let mut s = GpuSampler::new(&g, &plain(1.0), 10, 8).unwrap();
    assert!(s.set_config(&g, &long_window).is_err());
    assert_eq!(s.config(), &plain(1.0));
    let step = Step::default().buffer(&g);
    let short = GpuTensor::zeros(&g, 9, "logits");
    let logits = GpuTensor::zeros(&g, 10, "logits");
    let token = GpuTensor::zeros(&g, 2, "token");
    assert!(s.ops(&g, &short, &token, 0, &step).is_err());
    assert!(s.ops(&g, &logits, &token, 2, &step).is_err());
    assert!(s.ops(&g, &logits, &token, 1, &step).is_ok());
}
