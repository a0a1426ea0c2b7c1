//! Split GGUF files (llama.cpp's `gguf-split` layout): part `k` of `n` is a whole GGUF
//! named `<stem>-0000k-of-0000n.gguf` holding some of the tensors, in order; the first
//! part also holds the model's metadata. Every part carries `split.no` (u16, from 0),
//! `split.count` (u16) and `split.tensors.count` (i32, the tensors of all parts).

use crate::{Gguf, GgufError, GgufWriter, Result, Value};

/// Metadata key: this part's index, from 0.
pub const SPLIT_NO: &str = "split.no";
/// Metadata key: how many parts.
pub const SPLIT_COUNT: &str = "split.count";
/// Metadata key: tensors in all parts together.
pub const SPLIT_TENSORS_COUNT: &str = "split.tensors.count";

/// The file names of the `n` parts of `stem` (`model` → `model-00001-of-00003.gguf`, …).
pub fn split_names(stem: &str, n: usize) -> Vec<String> {
    (1..=n)
        .map(|k| format!("{stem}-{k:05}-of-{n:05}.gguf"))
        .collect()
}

/// For a part's file name or URL, `(index from 0, count, the name of part k)`: None when
/// the name is not of the split form.
pub fn split_of(name: &str) -> Option<(usize, usize, impl Fn(usize) -> String + '_)> {
    let base = name.strip_suffix(".gguf")?;
    let (head, count) = base.rsplit_once("-of-")?;
    let (stem, no) = head.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(no) || !digits(count) {
        return None;
    }
    let (no, count): (usize, usize) = (no.parse().ok()?, count.parse().ok()?);
    if no == 0 || no > count {
        return None;
    }
    Some((no - 1, count, move |k: usize| {
        format!("{stem}-{:05}-of-{count:05}.gguf", k + 1)
    }))
}

/// Cuts the GGUF `file` (parsed as `gguf`) into `parts` files of about equal data size,
/// tensors kept whole and in order. One part gives a single file with the split keys.
pub fn split(gguf: &Gguf, file: &[u8], parts: usize) -> Result<Vec<Vec<u8>>> {
    let n = gguf.tensors.len();
    if parts == 0 || parts > n.max(1) || parts > u16::MAX as usize {
        return Err(GgufError::BadSplit(format!(
            "cannot split {n} tensors into {parts} parts"
        )));
    }
    let total: u64 = gguf.tensors.iter().map(|t| t.n_bytes()).sum();
    // tensor i goes to the part its midpoint falls in, by cumulative bytes
    let mut part_of = Vec::with_capacity(n);
    let mut at = 0u64;
    for t in &gguf.tensors {
        let mid = at + t.n_bytes() / 2;
        part_of.push(((mid as u128 * parts as u128) / total.max(1) as u128) as usize);
        at += t.n_bytes();
    }
    // part k starts at its first tensor, each part keeping at least one
    let mut bounds = vec![0usize; parts + 1];
    for k in 1..parts {
        let first = part_of.iter().position(|&p| p >= k).unwrap_or(n);
        bounds[k] = first.clamp(bounds[k - 1] + 1, n - (parts - k));
    }
    bounds[parts] = n;
    let mut out = Vec::with_capacity(parts);
    for k in 0..parts {
        let mut w = GgufWriter::new();
        w.set_alignment(gguf.alignment as u32)?;
        if k == 0 {
            for (key, value) in &gguf.metadata.0 {
                if !key.starts_with("split.") && key != "general.alignment" {
                    w.add_metadata(key.clone(), value.clone())?;
                }
            }
        }
        w.add_metadata(SPLIT_NO, Value::U16(k as u16))?;
        w.add_metadata(SPLIT_COUNT, Value::U16(parts as u16))?;
        w.add_metadata(SPLIT_TENSORS_COUNT, Value::I32(n as i32))?;
        for t in &gguf.tensors[bounds[k]..bounds[k + 1]] {
            w.add_tensor(
                t.name.clone(),
                &t.dims,
                t.ty,
                gguf.tensor_bytes(file, t)?.to_vec(),
            )?;
        }
        out.push(w.finish());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_parts() {
        let names = split_names("m", 3);
        assert_eq!(names[0], "m-00001-of-00003.gguf");
        let (i, n, name) = split_of("https://x/y/model-q4-00002-of-00003.gguf").unwrap();
        assert_eq!((i, n), (1, 3));
        assert_eq!(name(0), "https://x/y/model-q4-00001-of-00003.gguf");
        for bad in [
            "m.gguf",
            "m-00000-of-00003.gguf",
            "m-00004-of-00003.gguf",
            "m-1-of-3.gguf",
        ] {
            assert!(split_of(bad).is_none(), "{bad}");
        }
    }
}
