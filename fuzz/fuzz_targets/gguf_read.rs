//! Feeds arbitrary bytes to the GGUF reader. Every outcome must be `Ok` or `Err`, never a
//! panic, an overflow or an out-of-memory; an accepted file must also satisfy the
//! container's invariants, read back the same from a header prefix, survive a rewrite
//! by `GgufWriter`, and dequantize (up to a size cap) without panicking.

#![no_main]

use hearth_gguf::{GgmlType, Gguf, GgufError, GgufWriter, dequantize_vec};
use libfuzzer_sys::fuzz_target;

/// Largest tensor (in bytes) that is dequantized on each input.
const DEQUANT_CAP: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = Gguf::read(data) {
        check_accepted(&g, data);
    }
    // The header API with a claimed file length taken from the input's last 8 bytes.
    if let Some((body, len)) = data.split_last_chunk::<8>() {
        let file_len = u64::from_le_bytes(*len);
        match Gguf::read_header(body, file_len) {
            Ok(g) => {
                assert_eq!(g.file_len, file_len);
                for t in &g.tensors {
                    assert!(g.tensor_range(t).end <= file_len);
                    // the data may lie past the prefix: an error then, never a panic
                    let _ = g.tensor_bytes(body, t);
                }
            }
            Err(GgufError::Truncated { needed, have, .. }) => {
                assert!(
                    needed > have,
                    "truncated, yet needs {needed} of {have} bytes"
                )
            }
            Err(_) => {}
        }
    }
});

fn check_accepted(g: &Gguf, data: &[u8]) {
    assert!(g.version == 2 || g.version == 3);
    assert!(g.alignment.is_power_of_two());
    assert_eq!(g.data_start % g.alignment, 0);
    assert_eq!(g.file_len, data.len() as u64);

    // Tensors: aligned, inside the file, pairwise disjoint, data of the computed size.
    let mut spans = Vec::new();
    for t in &g.tensors {
        assert!(!t.dims.is_empty() && t.dims.len() <= 4 && !t.dims.contains(&0));
        assert_eq!(t.offset % g.alignment, 0);
        let bytes = g
            .tensor_data(data, &t.name)
            .expect("an accepted tensor lies inside the file");
        assert_eq!(bytes.len() as u64, t.n_bytes());
        assert_eq!(t.n_bytes(), t.row_bytes() * t.rows());
        let r = g.tensor_range(t);
        spans.push((r.start, r.end));
        if bytes.len() <= DEQUANT_CAP {
            match dequantize_vec(t.ty, bytes) {
                Ok(v) => assert_eq!(v.len() as u64, t.n_elements()),
                Err(e) => assert!(matches!(t.ty, GgmlType::Q8_1 | GgmlType::Q8_K), "{e}"),
            }
        }
    }
    spans.sort_unstable();
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "overlapping tensors accepted"
    );

    // The header alone (up to the data section) reads the same when told the file length.
    let prefix = &data[..(g.data_start as usize).min(data.len())];
    let h = Gguf::read_header(prefix, data.len() as u64).expect("header prefix");
    assert_eq!(
        (&h.tensors, h.data_start, h.alignment),
        (&g.tensors, g.data_start, g.alignment)
    );
    assert_eq!(h.metadata.0.len(), g.metadata.0.len());

    // Rewriting the file with the writer gives a file with the same content.
    let mut w = GgufWriter::new();
    w.set_version(g.version).expect("version");
    for (k, v) in &g.metadata.0 {
        w.add_metadata(k.clone(), v.clone())
            .expect("metadata the reader accepted");
    }
    for t in &g.tensors {
        let bytes = g.tensor_bytes(data, t).expect("tensor data");
        w.add_tensor(t.name.clone(), &t.dims, t.ty, bytes)
            .expect("a tensor the reader accepted");
    }
    let out = w.finish();
    let again = Gguf::read(&out).expect("the writer's output reads back");
    assert_eq!(again.alignment, g.alignment);
    assert_eq!(again.metadata.0.len(), g.metadata.0.len());
    for (a, b) in again.tensors.iter().zip(&g.tensors) {
        assert_eq!((&a.name, &a.dims, a.ty), (&b.name, &b.dims, b.ty));
        assert_eq!(
            again.tensor_data(&out, &a.name).ok(),
            g.tensor_data(data, &b.name).ok()
        );
    }
}
