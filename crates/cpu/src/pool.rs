//! A fixed pool of threads for the ops of one forward pass. An op is one call of
//! [`Pool::run`]: every thread (the caller is thread 0) runs the same closure with its
//! index, and the call returns when all are done. Workers spin between ops (an op every few
//! microseconds during generation) and sleep on a condvar after a while idle, so a pool
//! costs nothing between answers. Which thread computes which output is fixed by the index,
//! and each output is computed whole by one thread, so results do not depend on the count.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// How many times an idle worker polls before it sleeps (≈ a millisecond).
const SPINS: u32 = 1 << 16;

type Job = &'static (dyn Fn(usize) + Sync);

struct Shared {
    epoch: AtomicU64,
    job: UnsafeCell<Option<Job>>,
    done: AtomicUsize,
    /// A worker's op panicked (the owner panics in turn, rather than wait forever).
    panicked: AtomicBool,
    sleepers: AtomicUsize,
    quit: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}
// SAFETY: `job` is written only by the owner while no op runs (workers read it after the
// epoch's Release/Acquire), and read only while the owner waits for the op.
unsafe impl Sync for Shared {}

/// The thread pool of a CPU model.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<std::thread::JoinHandle<()>>,
    n: usize,
}

impl Pool {
    /// A pool of `n` threads in all (the caller and n − 1 workers); 0 means one per core.
    pub fn new(n: usize) -> Pool {
        let n = match n {
            0 => default_threads(),
            n => n,
        };
        let shared = Arc::new(Shared {
            epoch: AtomicU64::new(0),
            job: UnsafeCell::new(None),
            done: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            quit: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        let mut workers = Vec::new();
        let mut spawned = 1;
        for i in 1..n {
            let s = shared.clone();
            if !spawn(move || worker(&s, i), &mut workers) {
                break; // no threads here (a wasm32 page without them): run with fewer
            }
            spawned += 1;
        }
        let n = spawned;
        Pool { shared, workers, n }
    }

    /// Threads in the pool, the caller included.
    pub fn threads(&self) -> usize {
        self.n
    }

    /// Runs `f(i)` on every thread i in 0..threads() and returns when all have finished.
    pub fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        if self.n == 1 {
            return f(0);
        }
        let s = &*self.shared;
        // SAFETY: the borrow outlives the op: this call returns only after every worker
        // has finished with it (`done`), and the slot is cleared before returning
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
        unsafe { *s.job.get() = Some(job) };
        s.done.store(0, Ordering::Relaxed);
        s.epoch.fetch_add(1, Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            let _g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
            s.wake.notify_all();
        }
        // the workers must be done with `f` before this frame may unwind
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(0)));
        while s.done.load(Ordering::Acquire) < self.n - 1 {
            std::hint::spin_loop();
        }
        unsafe { *s.job.get() = None };
        if let Err(p) = mine {
            std::panic::resume_unwind(p);
        }
        if s.panicked.swap(false, Ordering::SeqCst) {
            panic!("a thread of the CPU engine's pool panicked");
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let s = &*self.shared;
        s.quit.store(true, Ordering::SeqCst);
        s.epoch.fetch_add(1, Ordering::SeqCst);
        {
            let _g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
            s.wake.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// Starts `f` on a thread of its own; false where there are none.
#[cfg(not(all(target_arch = "wasm32", feature = "rayon-threads")))]
fn spawn(
    f: impl FnOnce() + Send + 'static,
    handles: &mut Vec<std::thread::JoinHandle<()>>,
) -> bool {
    match std::thread::Builder::new()
        .name("hearth-cpu".into())
        .spawn(f)
    {
        Ok(h) => {
            handles.push(h);
            true
        }
        Err(_) => false,
    }
}

/// Starts `f` on one of rayon's threads (Web Workers started by wasm-bindgen-rayon's
/// `initThreadPool`, one per worker of this pool); it holds that thread until the pool
/// drops. Without enough rayon threads the pool takes fewer.
#[cfg(all(target_arch = "wasm32", feature = "rayon-threads"))]
fn spawn(
    f: impl FnOnce() + Send + 'static,
    handles: &mut Vec<std::thread::JoinHandle<()>>,
) -> bool {
    let _ = handles;
    static USED: AtomicUsize = AtomicUsize::new(0);
    if USED.fetch_add(1, Ordering::SeqCst) >= rayon::current_num_threads() {
        USED.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    rayon::spawn(move || {
        f();
        USED.fetch_sub(1, Ordering::SeqCst);
    });
    true
}

/// One per core the OS gives this process.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn worker(s: &Shared, index: usize) {
    let mut seen = 0u64;
    loop {
        let mut spins = 0u32;
        loop {
            let e = s.epoch.load(Ordering::Acquire);
            if e != seen {
                seen = e;
                break;
            }
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            // sleep until the next op (the owner notifies when it sees a sleeper)
            s.sleepers.fetch_add(1, Ordering::SeqCst);
            let mut g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
            while s.epoch.load(Ordering::SeqCst) == seen {
                g = s.wake.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            drop(g);
            s.sleepers.fetch_sub(1, Ordering::SeqCst);
            spins = 0;
        }
        if s.quit.load(Ordering::SeqCst) {
            return;
        }
        // SAFETY: the owner set the job before bumping the epoch and waits for `done`
        if let Some(f) = unsafe { *s.job.get() }
            && std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(index))).is_err()
        {
            s.panicked.store(true, Ordering::SeqCst);
        }
        s.done.fetch_add(1, Ordering::Release);
    }
}

/// Thread `i` of `n`'s share of `0..len`, in whole multiples of `align` (the last share
/// takes the rest).
pub fn share(len: usize, i: usize, n: usize, align: usize) -> std::ops::Range<usize> {
    let units = len.div_ceil(align);
    let (lo, hi) = (units * i / n, units * (i + 1) / n);
    (lo * align).min(len)..(hi * align).min(len)
}
