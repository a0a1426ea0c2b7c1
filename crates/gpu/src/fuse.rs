//! The calls of a forward pass as the block made them, and the fusions the GPU records in
//! their place: a norm folded into the matvec after it, gate and up with SwiGLU (or GeGLU)
//! in one matvec, RoPE of q and k with the KV store. A fusion leaves some activation unwritten
//! (the normed rows, the gate and up rows, the rotated keys), so it applies only where no
//! later call reads that activation before writing it: the whole call list is known
//! before anything is recorded.

use hearth_model::arch::Act;

use crate::kernels::Glu;
use crate::{GpuTensor, GpuWeights};

/// One call of the block (`hearth_model::arch::Backend`), with its weights.
pub(crate) enum Call {
    Embedding {
        out: Act,
        table: GpuWeights,
        scale: f32,
    },
    RmsNorm {
        out: Act,
        x: Act,
        w: GpuTensor,
        eps: f32,
    },
    /// x += rms_norm(y) · w: never folded into a matvec (it writes the residual, not a
    /// normed input).
    NormAdd {
        x: Act,
        y: Act,
        w: GpuTensor,
        eps: f32,
    },
    Linear {
        x: Act,
        outs: Vec<(Act, GpuWeights)>,
        accumulate: bool,
    },
    Rope {
        x: Act,
        n_heads: usize,
        /// The sliding-window layers' table.
        local: bool,
    },
    AddBias {
        x: Act,
        b: GpuTensor,
    },
    /// Recorded as an RMSNorm of the heads into [`HEAD_NORM_SCRATCH`] and a copy back.
    HeadNorm {
        x: Act,
        n_heads: usize,
        w: GpuTensor,
        eps: f32,
    },
    KvStore {
        layer: usize,
        k: Act,
        v: Act,
    },
    Attention {
        layer: usize,
        out: Act,
        q: Act,
        window: Option<usize>,
    },
    /// silu_mul (`act` Silu) or gelu_mul (Gelu).
    GluMul {
        act: Glu,
        out: Act,
        gate: Act,
        up: Act,
    },
    OutputRows {
        out: Act,
        x: Act,
    },
}

impl Call {
    /// Whether the call reads activation `a`.
    fn reads(&self, a: Act) -> bool {
        match self {
            Call::Embedding { .. } => false,
            Call::RmsNorm { x, .. }
            | Call::Rope { x, .. }
            | Call::AddBias { x, .. }
            | Call::HeadNorm { x, .. }
            | Call::OutputRows { x, .. } => *x == a,
            Call::Linear {
                x,
                outs,
                accumulate,
            } => *x == a || (*accumulate && outs.iter().any(|(o, _)| *o == a)),
            Call::NormAdd { x, y, .. } => *x == a || *y == a,
            Call::KvStore { k, v, .. } => *k == a || *v == a,
            Call::Attention { q, .. } => *q == a,
            Call::GluMul { gate, up, .. } => *gate == a || *up == a,
        }
    }

    /// Whether the call writes activation `a`.
    fn writes(&self, a: Act) -> bool {
        match self {
            Call::Embedding { out, .. }
            | Call::RmsNorm { out, .. }
            | Call::Attention { out, .. }
            | Call::GluMul { out, .. }
            | Call::OutputRows { out, .. } => *out == a,
            Call::Rope { x, .. } | Call::AddBias { x, .. } | Call::NormAdd { x, .. } => *x == a,
            Call::HeadNorm { x, .. } => *x == a || a == HEAD_NORM_SCRATCH,
            Call::Linear { outs, .. } => outs.iter().any(|(o, _)| *o == a),
            Call::KvStore { .. } => false,
        }
    }
}

/// The activation a head norm writes its normed heads to before they are copied back (free
/// between the q/k projections and attention, and q_dim wide, enough for q or k).
pub(crate) const HEAD_NORM_SCRATCH: Act = Act::AttOut;

/// Whether no call after `calls[i]` reads `a` before one writes it. The logits are read
/// once the program ends; every other activation is scratch.
pub(crate) fn dead_after(calls: &[Call], i: usize, a: Act) -> bool {
    for c in &calls[i + 1..] {
        if c.reads(a) {
            return false;
        }
        if c.writes(a) {
            return true;
        }
    }
    a != Act::Logits
}

/// What a run of calls from some index becomes.
pub(crate) enum Fused<'c> {
    /// A norm, the matvec after it, and (when `glu` is Some: its activation and output)
    /// SwiGLU or GeGLU after that: `calls` consumed.
    Matvec {
        norm: Option<(Act, &'c GpuTensor, f32)>,
        x: Act,
        outs: &'c [(Act, GpuWeights)],
        accumulate: bool,
        glu: Option<(Glu, Act)>,
        calls: usize,
    },
    /// RoPE on `q` and `k` (both with the sliding-window layers' table when `local`), then
    /// `k` and `v` into `layer`'s cache: three calls.
    RopeStore {
        layer: usize,
        q: (Act, usize),
        k: (Act, usize),
        v: Act,
        local: bool,
    },
}

/// The fusion that starts at `calls[i]`, if any. `one_row`: the call runs one token
/// (decode), where the matvec fusions apply; `neox`: the model's RoPE pairs dims i and
/// i + d/2, which rope_store.wgsl does not do (the rotation runs apart then).
pub(crate) fn fusion(calls: &[Call], i: usize, one_row: bool, neox: bool) -> Option<Fused<'_>> {
    let rope = if neox { None } else { rope_store(calls, i) };
    rope.or_else(|| if one_row { matvec(calls, i) } else { None })
}

fn rope_store(calls: &[Call], i: usize) -> Option<Fused<'_>> {
    let [
        Call::Rope {
            x: a,
            n_heads: na,
            local,
        },
        Call::Rope {
            x: b,
            n_heads: nb,
            local: local_b,
        },
        Call::KvStore { layer, k, v },
    ] = calls.get(i..i + 3)?
    else {
        return None;
    };
    if local != local_b {
        return None;
    }
    let (q, kr) = if k == b {
        ((*a, *na), (*b, *nb))
    } else if k == a {
        ((*b, *nb), (*a, *na))
    } else {
        return None;
    };
    let distinct = q.0 != kr.0 && *v != q.0 && *v != kr.0;
    (distinct && dead_after(calls, i + 2, kr.0)).then_some(Fused::RopeStore {
        layer: *layer,
        q,
        k: kr,
        v: *v,
        local: *local,
    })
}

fn matvec(calls: &[Call], i: usize) -> Option<Fused<'_>> {
    let (norm, at) = match &calls[i] {
        Call::RmsNorm { out, x, w, eps } => match calls.get(i + 1) {
            // the normed rows feed only this matvec, which does not write the norm's input
            Some(Call::Linear { x: lx, outs, .. })
                if lx == out
                    && dead_after(calls, i + 1, *out)
                    && outs.iter().all(|(o, _)| o != x) =>
            {
                (Some((*x, w, *eps)), i + 1)
            }
            _ => return None,
        },
        _ => (None, i),
    };
    let Call::Linear {
        x,
        outs,
        accumulate,
    } = &calls[at]
    else {
        return None;
    };
    let x = norm.map_or(*x, |(src, _, _)| src);
    // gate and up of one format and shape, then act(gate) · up, the two dead after
    let glu = match (&outs[..], calls.get(at + 1)) {
        ([(g, gw), (u, uw)], Some(Call::GluMul { act, out, gate, up }))
            if !accumulate
                && gate == g
                && up == u
                && g != u
                && *out != x
                && gw.ty == uw.ty
                && gw.rows == uw.rows
                && gw.cols == uw.cols
                && gw.parts.len() == uw.parts.len()
                && dead_after(calls, at + 1, *g)
                && dead_after(calls, at + 1, *u) =>
        {
            Some((*act, *out))
        }
        _ => None,
    };
    let calls = at - i + 1 + glu.is_some() as usize;
    Some(Fused::Matvec {
        norm,
        x,
        outs,
        accumulate: *accumulate,
        glu,
        calls,
    })
}
