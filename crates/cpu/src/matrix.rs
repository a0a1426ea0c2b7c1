//! A weight matrix as the CPU engine holds it: the GGUF tensor's own bytes, row by row.

use hearth_gguf::GgmlType;

use crate::kernel::{self, Input, Out};
use crate::quant::*;
use crate::{CpuError, Result};

/// `rows` weight rows of `cols` weights in GGUF format `ty`, kept as the file's blocks.
#[derive(Debug, Clone)]
pub struct QMatrix {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    row_bytes: usize,
    data: Vec<u8>,
}

impl QMatrix {
    /// Takes a tensor's bytes, checked to be exactly `rows` rows of `cols` weights.
    pub fn new(ty: GgmlType, rows: usize, cols: usize, data: Vec<u8>) -> Result<QMatrix> {
        let bad = |why: String| Err(CpuError::Shape(why));
        if matches!(ty, GgmlType::Q8_1 | GgmlType::Q8_K) {
            return bad(format!(
                "{ty:?} is an activation format, not a weight format"
            ));
        }
        if !cols.is_multiple_of(ty.block_elems()) {
            return bad(format!("{cols} columns are not whole {ty:?} blocks"));
        }
        let row_bytes = cols / ty.block_elems() * ty.block_bytes();
        if rows.checked_mul(row_bytes) != Some(data.len()) {
            return bad(format!(
                "{} bytes are not {rows} rows of {cols} {ty:?} weights",
                data.len()
            ));
        }
        Ok(QMatrix {
            ty,
            rows,
            cols,
            row_bytes,
            data,
        })
    }

    /// True when the kernels read 16-bit activations for this matrix (integer formats).
    pub fn wants_q16(&self) -> bool {
        !matches!(self.ty, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16)
    }

    /// Bytes of the weights.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Row `r` dequantized into `out` (`cols` floats) times `scale`: an embedding lookup
    /// (Gemma scales by √n_embd; the others by 1, which leaves the row exact).
    pub fn row_f32(&self, r: usize, scale: f32, out: &mut [f32]) -> Result<()> {
        let bytes = self
            .data
            .get(r * self.row_bytes..(r + 1) * self.row_bytes)
            .ok_or_else(|| CpuError::Shape(format!("row {r} of {}", self.rows)))?;
        hearth_gguf::dequantize(self.ty, bytes, out).map_err(|e| CpuError::Shape(e.to_string()))?;
        for v in out.iter_mut() {
            *v *= scale;
        }
        Ok(())
    }

    /// Outputs `rows` (a range of weight rows) of `x · Wᵀ` for every activation row of `x`.
    ///
    /// # Safety
    /// `out` holds x.n rows of at least `self.rows` floats at its stride, and no other
    /// thread writes these columns during the call; `x` has `self.cols` columns (and its
    /// 16-bit blocks when [`QMatrix::wants_q16`]).
    pub unsafe fn rows_into(&self, rows: std::ops::Range<usize>, x: Input, out: Out) {
        let (w, rb) = (&self.data[..], self.row_bytes);
        debug_assert!(rows.end <= self.rows && x.cols == self.cols);
        unsafe {
            match self.ty {
                GgmlType::Q4_0 => kernel::rows_int::<Q4_0>(w, rb, rows, x, out),
                GgmlType::Q4_1 => kernel::rows_int::<Q4_1>(w, rb, rows, x, out),
                GgmlType::Q5_0 => kernel::rows_int::<Q5_0>(w, rb, rows, x, out),
                GgmlType::Q5_1 => kernel::rows_int::<Q5_1>(w, rb, rows, x, out),
                GgmlType::Q8_0 => kernel::rows_int::<Q8_0>(w, rb, rows, x, out),
                GgmlType::Q2_K => kernel::rows_int::<Q2K>(w, rb, rows, x, out),
                GgmlType::Q3_K => kernel::rows_int::<Q3K>(w, rb, rows, x, out),
                GgmlType::Q4_K => kernel::rows_int::<Q4K>(w, rb, rows, x, out),
                GgmlType::Q5_K => kernel::rows_int::<Q5K>(w, rb, rows, x, out),
                GgmlType::Q6_K => kernel::rows_int::<Q6K>(w, rb, rows, x, out),
                GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {
                    kernel::rows_float(self.ty, w, rb, rows, x, out)
                }
                // refused by `new`
                GgmlType::Q8_1 | GgmlType::Q8_K => {}
            }
        }
    }
}
