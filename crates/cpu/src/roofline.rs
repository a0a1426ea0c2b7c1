//! The CPU's streaming-read bandwidth: what decode, which reads every weight once per
//! token, can at best reach (`hearth bench --backend cpu` reports against it).

use crate::pool::{Pool, share};

/// Bytes per second of the best of `reps` reads of a `bytes`-long buffer, its parts read
/// by the pool's threads at once (each summing its share, so nothing is optimised away).
pub fn stream_read_bandwidth(pool: &Pool, bytes: usize, reps: usize) -> f64 {
    let words = vec![1u64; bytes / 8];
    let n = pool.threads();
    let sums: Vec<std::sync::atomic::AtomicU64> = (0..n)
        .map(|_| std::sync::atomic::AtomicU64::new(0))
        .collect();
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = std::time::Instant::now();
        pool.run(&|i| {
            let mut acc = [0u64; 8];
            for c in words[share(words.len(), i, n, 64)].chunks_exact(8) {
                for k in 0..8 {
                    acc[k] = acc[k].wrapping_add(c[k]);
                }
            }
            sums[i].fetch_add(acc.iter().sum(), std::sync::atomic::Ordering::Relaxed);
        });
        best = best.min(t.elapsed().as_secs_f64());
    }
    let total: u64 = sums
        .iter()
        .map(|s| s.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    assert!(total > 0, "the read was optimised away");
    (words.len() * 8) as f64 / best
}
