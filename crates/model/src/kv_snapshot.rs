//! A context's keys and values as bytes, so that a conversation's KV cache can be kept
//! (hearth-web's snapshot store) and put back into a context later instead of running
//! its prompt again. The layout of positions `[from, to)`: for each layer in order, its
//! key rows then its value rows, each row `kv_dim` values of [`KvSnapshot::value_bytes`]
//! bytes (4: f32, 2: f16, as the context holds them), little-endian. A snapshot fits only
//! a context of the same model, backend and value type; the bytes are checked for their
//! size here, and for their integrity by whoever stored them.

use std::future::Future;

use crate::conversation::Context;
use crate::{ModelError, Result};

/// A [`Context`] whose keys and values can be read out and written back.
pub trait KvSnapshot: Context {
    /// Layers, and values per position in each of K and V.
    fn kv_shape(&self) -> (usize, usize);
    /// Bytes of one value: 4 (f32) or 2 (f16).
    fn value_bytes(&self) -> usize;
    /// Bytes of one position: every layer's key and value rows.
    fn position_bytes(&self) -> usize {
        let (n_layer, kv_dim) = self.kv_shape();
        2 * n_layer * kv_dim * self.value_bytes()
    }
    /// The bytes of positions `[from, to)` (at most [`Context::len`]).
    fn export_kv(&mut self, from: usize, to: usize) -> impl Future<Output = Result<Vec<u8>>>;
    /// Writes `bytes` (a whole number of positions) at position `at` (at most
    /// [`Context::len`]); the context then holds `at` plus their positions. Returns how
    /// many positions they were.
    fn import_kv(&mut self, at: usize, bytes: &[u8]) -> Result<usize>;
}

/// Checks a span `[from, to)` to export from a context holding `len` positions.
pub fn check_export(from: usize, to: usize, len: usize) -> Result<()> {
    if from > to || to > len {
        return Err(ModelError::Request(format!(
            "positions {from}..{to} are not in the context's {len}"
        )));
    }
    Ok(())
}

/// How many positions `bytes` of a snapshot hold, checked to fit at position `at` of a
/// context holding `len` of at most `capacity` positions of `position_bytes` each.
pub fn check_import(
    bytes: usize,
    position_bytes: usize,
    at: usize,
    len: usize,
    capacity: usize,
) -> Result<usize> {
    if position_bytes == 0 || !bytes.is_multiple_of(position_bytes) {
        return Err(ModelError::Request(format!(
            "a KV snapshot of {bytes} bytes is not a whole number of {position_bytes}-byte positions"
        )));
    }
    let n = bytes / position_bytes;
    if at > len || at + n > capacity {
        return Err(ModelError::Request(format!(
            "a KV snapshot of {n} positions at {at} does not fit a context holding {len} of {capacity}"
        )));
    }
    Ok(n)
}

/// [`KvSnapshot::export_kv`] for caches kept as f32 rows per layer (`k[l]`, `v[l]`: `len ×
/// kv_dim` values), as the reference and the CPU engine keep them.
pub fn export_rows(
    k: &[Vec<f32>],
    v: &[Vec<f32>],
    kv_dim: usize,
    from: usize,
    to: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 * k.len() * (to - from) * kv_dim * 4);
    for (k, v) in k.iter().zip(v) {
        for rows in [k, v] {
            for x in &rows[from * kv_dim..to * kv_dim] {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    out
}

/// [`KvSnapshot::import_kv`] into such caches: `n` positions (already checked against
/// `bytes`) written at `at`, the rows after `at` dropped first.
pub fn import_rows(
    k: &mut [Vec<f32>],
    v: &mut [Vec<f32>],
    kv_dim: usize,
    at: usize,
    n: usize,
    bytes: &[u8],
) {
    let mut values = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    for (k, v) in k.iter_mut().zip(v.iter_mut()) {
        for rows in [k, v] {
            rows.truncate(at * kv_dim);
            rows.extend(values.by_ref().take(n * kv_dim));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_in_the_documented_layout() {
        // 2 layers, kv_dim 2, 3 positions: values number themselves
        let rows = |base: f32| (0..6).map(|i| base + i as f32).collect::<Vec<f32>>();
        let k = vec![rows(0.0), rows(100.0)];
        let v = vec![rows(10.0), rows(110.0)];
        let bytes = export_rows(&k, &v, 2, 1, 3);
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        // layer 0 K rows 1..3, layer 0 V rows 1..3, then layer 1's
        assert_eq!(
            values,
            [
                2.0, 3.0, 4.0, 5.0, 12.0, 13.0, 14.0, 15.0, 102.0, 103.0, 104.0, 105.0, 112.0,
                113.0, 114.0, 115.0
            ]
        );
        let (mut k2, mut v2) = (vec![rows(0.0), rows(100.0)], vec![rows(10.0), rows(110.0)]);
        for r in k2.iter_mut().chain(&mut v2) {
            r.truncate(2);
            r.push(-1.0); // a stale value past the import point goes
        }
        import_rows(&mut k2, &mut v2, 2, 1, 2, &bytes);
        assert_eq!((k2, v2), (k, v));
    }

    #[test]
    fn spans_that_do_not_fit_are_refused() {
        assert_eq!(check_import(96, 32, 0, 0, 8).unwrap(), 3);
        assert!(check_import(95, 32, 0, 0, 8).is_err(), "a partial position");
        assert!(
            check_import(96, 32, 2, 1, 8).is_err(),
            "past what the context holds"
        );
        assert!(check_import(96, 32, 6, 6, 8).is_err(), "past its capacity");
        assert!(check_import(0, 0, 0, 0, 8).is_err());
        assert!(check_export(2, 1, 4).is_err());
        assert!(check_export(0, 5, 4).is_err());
        assert!(check_export(1, 4, 4).is_ok());
    }
}
