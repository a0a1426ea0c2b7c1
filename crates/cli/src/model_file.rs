//! Opening a GGUF model from disk: the header alone (cheap) or the whole model. A path
//! naming any part of a split GGUF (`…-0000k-of-0000n.gguf`) opens all its parts as one.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use hearth_gguf::split::{join, merge_headers, split_of};
use hearth_gguf::{Gguf, GgufError};

/// The files of the model at `path`: its parts, in order, when it names a part of a
/// split GGUF; else the file itself.
pub fn model_files(path: &Path) -> Vec<std::path::PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match split_of(name) {
        Some((_, count, part)) => (0..count).map(|k| path.with_file_name(part(k))).collect(),
        None => vec![path.to_path_buf()],
    }
}

/// Reads only as much of the model at `path` as its header (or the headers of its
/// parts) needs and parses it.
pub fn read_header(path: &Path) -> Result<Gguf, String> {
    let headers = model_files(path)
        .iter()
        .map(|p| read_file_header(p))
        .collect::<Result<Vec<_>, _>>()?;
    merge_headers(&headers).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads the whole model at `path` into memory, the parts of a split GGUF joined into
/// one file, and parses it.
pub fn read_model(path: &Path) -> Result<(Gguf, Vec<u8>), String> {
    let files = model_files(path);
    let bytes = if files.len() == 1 {
        read_all(path)?
    } else {
        let parts = files
            .iter()
            .map(|p| read_all(p))
            .collect::<Result<Vec<_>, _>>()?;
        let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        join(&parts).map_err(|e| format!("{}: {e}", path.display()))?
    };
    let gguf = Gguf::read(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((gguf, bytes))
}

/// Reads only as much of the file at `path` as its header needs and parses it.
fn read_file_header(path: &Path) -> Result<Gguf, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let len = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    let mut prefix = Vec::new();
    let mut want: u64 = 1 << 20;
    loop {
        let target = want.min(len);
        (&mut file)
            .take(target - prefix.len() as u64)
            .read_to_end(&mut prefix)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        match Gguf::read_header(&prefix, len) {
            Err(GgufError::Truncated { needed, .. }) if needed <= len && target < len => {
                want = needed.max(want * 2);
            }
            other => return other.map_err(|e| format!("{}: {e}", path.display())),
        }
    }
}

/// Reads the whole file into memory.
fn read_all(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
