//! Split GGUF files (llama.cpp's `gguf-split` layout): part `k` of `n` is a whole GGUF
//! named `<stem>-0000k-of-0000n.gguf` holding some of the tensors, in order; the first
//! part also holds the model's metadata. Every part carries `split.no` (u16, from 0),
//! `split.count` (u16) and `split.tensors.count` (i32, the tensors of all parts).

use crate::{DEFAULT_ALIGNMENT, Gguf, GgufError, GgufWriter, Result, Value};

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

/// The model's header from the headers of its files: the first file's metadata, every
/// file's tensors in order (their offsets stay relative to their own file). One file
/// without split keys is itself; the files of a split GGUF must say they are parts
/// 0..n of n, and no tensor may be in two.
pub fn merge_headers(headers: &[Gguf]) -> Result<Gguf> {
    let first = headers
        .first()
        .ok_or_else(|| GgufError::BadSplit("a model needs at least one file".into()))?;
    let mut gguf = first.clone();
    if headers.len() == 1 && first.metadata.get(SPLIT_COUNT).is_none() {
        return Ok(gguf);
    }
    for (i, h) in headers.iter().enumerate() {
        let no = h.metadata.u64(SPLIT_NO)?;
        let count = h.metadata.u64(SPLIT_COUNT)?;
        if no != Some(i as u64) || count != Some(headers.len() as u64) {
            return Err(GgufError::BadSplit(format!(
                "file {} of {}: it says it is part {no:?} of {count:?}",
                i + 1,
                headers.len()
            )));
        }
        if i > 0 {
            for t in &h.tensors {
                if gguf.tensor(&t.name).is_some() {
                    return Err(GgufError::BadSplit(format!(
                        "tensor {:?} is in two files",
                        t.name
                    )));
                }
                gguf.tensors.push(t.clone());
            }
        }
    }
    if let Some(n) = first.metadata.u64(SPLIT_TENSORS_COUNT)?
        && n != gguf.tensors.len() as u64
    {
        return Err(GgufError::BadSplit(format!(
            "the parts hold {} tensors, the first says {n}",
            gguf.tensors.len()
        )));
    }
    Ok(gguf)
}

/// Joins the `parts` of a split GGUF (each file's bytes, in order) into one GGUF file
/// without split keys: what [`split`] cut, whole again.
pub fn join(parts: &[&[u8]]) -> Result<Vec<u8>> {
    let headers = parts
        .iter()
        .map(|p| Gguf::read(p))
        .collect::<Result<Vec<_>>>()?;
    merge_headers(&headers)?;
    let mut w = GgufWriter::new();
    if headers[0].alignment != DEFAULT_ALIGNMENT {
        w.set_alignment(headers[0].alignment as u32)?;
    }
    for (key, value) in &headers[0].metadata.0 {
        if !key.starts_with("split.") && key != "general.alignment" {
            w.add_metadata(key.clone(), value.clone())?;
        }
    }
    for (h, bytes) in headers.iter().zip(parts) {
        for t in &h.tensors {
            w.add_tensor(
                t.name.clone(),
                &t.dims,
                t.ty,
                h.tensor_bytes(bytes, t)?.to_vec(),
            )?;
        }
    }
    Ok(w.finish())
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

    #[test]
    fn join_undoes_split_and_checks_the_parts() {
        let mut w = GgufWriter::new();
        w.add_metadata("general.name", Value::String("tiny".into()))
            .unwrap();
        for i in 0..5 {
            let v: Vec<f32> = (0..8 * (i + 1)).map(|k| (k * 7 + i) as f32).collect();
            w.add_f32_tensor(format!("t{i}"), &[8, i as u64 + 1], &v)
                .unwrap();
        }
        let whole = w.finish();
        let gguf = Gguf::read(&whole).unwrap();
        let parts = split(&gguf, &whole, 3).unwrap();
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        assert_eq!(join(&refs).unwrap(), whole);
        // merged headers: every tensor, the first part's metadata
        let headers: Vec<Gguf> = refs.iter().map(|p| Gguf::read(p).unwrap()).collect();
        let merged = merge_headers(&headers).unwrap();
        let names: Vec<&str> = merged.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t0", "t1", "t2", "t3", "t4"]);
        assert_eq!(merged.metadata.str("general.name").unwrap(), Some("tiny"));
        // out of order, missing or repeated parts are refused
        for bad in [
            vec![refs[1], refs[0], refs[2]],
            vec![refs[0], refs[1]],
            vec![refs[0], refs[1], refs[1]],
        ] {
            assert!(matches!(join(&bad), Err(GgufError::BadSplit(_))));
        }
    }
}
