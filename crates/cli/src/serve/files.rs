//! The folders served and the files in them: path resolution confined to a root, and MIME
//! types.

use std::io;
use std::path::{Path, PathBuf};

/// A served folder.
pub struct Root {
    /// The folder, canonical (absolute, symbolic links resolved).
    dir: PathBuf,
    /// Whether a request for a folder gets the `index.html` in it.
    index: bool,
}

impl Root {
    /// Opens `dir` as a root; an error if it does not exist or is not a folder.
    pub fn new(dir: &Path, index: bool) -> io::Result<Root> {
        let dir = dir.canonicalize()?;
        if !dir.is_dir() {
            return Err(io::Error::other("not a folder"));
        }
        Ok(Root { dir, index })
    }

    /// The file that checked path `segments` (see `http::path_segments`) name under the
    /// root, canonical, or `None` (answered with 404): nothing there, not a file (no folder
    /// listings), or outside the root once symbolic links are followed. A folder gives its
    /// `index.html` where the root serves those.
    pub fn resolve(&self, segments: &[String]) -> Option<PathBuf> {
        let path = self.inside(&segments.iter().fold(self.dir.clone(), |p, s| p.join(s)))?;
        if path.is_file() {
            return Some(path);
        }
        if self.index && path.is_dir() {
            let index = self.inside(&path.join("index.html"))?;
            return index.is_file().then_some(index);
        }
        None
    }

    /// `path` canonicalized, if it exists and lies in the root.
    fn inside(&self, path: &Path) -> Option<PathBuf> {
        let path = path.canonicalize().ok()?;
        path.starts_with(&self.dir).then_some(path)
    }
}

/// The `Content-Type` of a file, by its extension; `application/octet-stream` for any
/// extension not listed (GGUF models included).
pub fn mime(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        // TypeScript declarations (`.d.ts`) shipped with the app are for reading
        "ts" | "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether a `Content-Type` is HTML (such responses carry the Content-Security-Policy).
pub fn is_html(mime: &str) -> bool {
    mime.starts_with("text/html")
}
