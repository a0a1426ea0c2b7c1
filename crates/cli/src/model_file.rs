//! Opening a GGUF file from disk: the header alone (cheap) or the whole file.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use hearth_gguf::{Gguf, GgufError};

/// Reads only as much of `path` as its header needs and parses it.
pub fn read_header(path: &Path) -> Result<Gguf, String> {
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
pub fn read_all(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}
