//! The model catalog: recommended GGUFs that the Models panel offers, read from a JSON file
//! a deployment may replace (`<hearth-chat catalog="URL">`; the app's is `catalog.json`),
//! each marked whether it fits this device before any byte downloads. The file is
//! untrusted: its size, count and every field are bounded, URLs are http(s) or relative,
//! and entries that do not read are counted, not shown.
//!
//! ```json
//! {"models": [{"name": "SmolLM2 135M Instruct", "family": "Llama", "size": 98362432,
//!   "licence": "Apache-2.0", "context": 8192, "url": "models/SmolLM2-135M-Instruct.Q4_1.gguf"}]}
//! ```

use serde::Deserialize;

/// The largest catalog file read, in bytes.
pub const MAX_BYTES: usize = 256 * 1024;
/// The most entries shown.
pub const MAX_ENTRIES: usize = 200;
/// The longest text field kept, in characters.
const MAX_TEXT: usize = 200;
/// The longest URL kept.
const MAX_URL: usize = 2048;

/// One recommended model.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub name: String,
    /// The family people know ("Llama", "Qwen3", "Gemma 3").
    pub family: String,
    /// Bytes of the file (all parts of a split GGUF).
    pub size: f64,
    /// The model's licence ("Apache-2.0", "Gemma Terms of Use").
    pub licence: String,
    /// The context it was trained for, in tokens.
    pub context: u64,
    /// Where the GGUF is: http(s), or relative to the catalog.
    pub url: String,
}

#[derive(Deserialize)]
struct File {
    models: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Raw {
    name: String,
    #[serde(default)]
    family: String,
    size: f64,
    #[serde(default)]
    licence: String,
    #[serde(default)]
    context: u64,
    url: String,
}

/// A catalog read: its entries, and how many were left out (unreadable, or past the
/// bounds).
#[derive(Debug, Default, PartialEq)]
pub struct Catalog {
    pub entries: Vec<Entry>,
    pub skipped: usize,
}

fn text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Whether `url` may name a model: http(s), or a path relative to the catalog (no other
/// scheme, such as `javascript:` or `data:`).
fn usable_url(url: &str) -> bool {
    if url.is_empty() || url.len() > MAX_URL || url.chars().any(|c| c.is_control() || c == ' ') {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return true;
    }
    // a scheme is letters, digits, + - . before the first ':' that comes before any '/'
    match url.find(':') {
        Some(colon) => url[..colon].contains('/'),
        None => !url.starts_with("//"),
    }
}

/// Reads a catalog file's text.
pub fn parse(json: &str) -> Result<Catalog, String> {
    if json.len() > MAX_BYTES {
        return Err(format!(
            "the catalog is {} bytes, above the {MAX_BYTES} read",
            json.len()
        ));
    }
    let file: File = serde_json::from_str(json)
        .map_err(|e| format!("the catalog is not a {{\"models\": [...]}} file: {e}"))?;
    let mut out = Catalog::default();
    for v in file.models {
        if out.entries.len() == MAX_ENTRIES {
            out.skipped += 1;
            continue;
        }
        let Ok(r) = serde_json::from_value::<Raw>(v) else {
            out.skipped += 1;
            continue;
        };
        let name = text(&r.name);
        if name.is_empty() || !usable_url(&r.url) || !(r.size.is_finite() && r.size > 0.0) {
            out.skipped += 1;
            continue;
        }
        out.entries.push(Entry {
            name,
            family: text(&r.family),
            size: r.size,
            licence: text(&r.licence),
            context: r.context,
            url: r.url,
        });
    }
    Ok(out)
}

/// What the host knows of this device, before anything downloads.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Device {
    /// The browser gave a WebGPU adapter.
    #[serde(default)]
    pub adapter: bool,
    /// Its info strings (vendor, architecture, device, description), and whether it
    /// calls itself a fallback adapter.
    #[serde(default)]
    pub adapter_names: String,
    #[serde(default)]
    pub fallback: bool,
    /// Bytes the site may still store (quota less usage).
    #[serde(default)]
    pub storage_free: Option<f64>,
    /// The device's memory, in GiB, as the browser rounds it (`navigator.deviceMemory`).
    #[serde(default)]
    pub memory_gib: Option<f64>,
}

impl Device {
    /// A hardware adapter: where `backend auto` runs the GPU engine (the Worker decides by
    /// the same rule).
    pub fn hardware_gpu(&self) -> bool {
        self.adapter
            && !self.fallback
            && !hearth_protocol::adapter::is_software_adapter(&self.adapter_names, false)
    }
}

/// The wasm heap of the CPU engine: 4 GiB of 32-bit memory.
pub const WASM_HEAP: f64 = 4.0 * 1073741824.0;
/// What the CPU engine needs beside the weights: its KV cache at the default 2,048
/// positions and working buffers, a generous bound for the models hearth runs.
const CPU_OVERHEAD: f64 = 512.0 * 1048576.0;

/// Whether an entry fits, and the reasons (shown beside it).
#[derive(Debug, PartialEq)]
pub struct Fit {
    pub fits: bool,
    pub notes: Vec<String>,
}

/// Whether `e` fits `d`, `stored` of its bytes being here already.
pub fn fit(e: &Entry, d: &Device, stored: f64) -> Fit {
    let mb = crate::models::megabytes;
    let mut fits = true;
    let mut notes = Vec::new();
    let needed = (e.size - stored).max(0.0);
    match d.storage_free {
        Some(free) if needed > free => {
            fits = false;
            notes.push(format!(
                "needs {} of storage, {} free",
                mb(needed),
                mb(free)
            ));
        }
        Some(_) if needed > 0.0 => notes.push(format!("{} to download", mb(needed))),
        _ => {}
    }
    if let Some(gib) = d.memory_gib.filter(|g| *g > 0.0) {
        // the browser caps deviceMemory at 8 GiB: only a small device can be told apart
        if gib < 8.0 && e.size > gib * 1073741824.0 / 2.0 {
            fits = false;
            notes.push(format!(
                "larger than half of this device's {gib} GiB of memory"
            ));
        }
    }
    let cpu = e.size + CPU_OVERHEAD <= WASM_HEAP;
    if d.hardware_gpu() {
        notes.push("runs on the GPU".into());
    } else if cpu {
        notes.push("runs on the CPU engine (no hardware GPU)".into());
    } else {
        fits = false;
        notes.push("too large for the CPU engine's 4 GiB, and no hardware GPU".into());
    }
    Fit { fits, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: f64) -> Entry {
        Entry {
            name: "M".into(),
            family: "Llama".into(),
            size,
            licence: "Apache-2.0".into(),
            context: 8192,
            url: "models/m.gguf".into(),
        }
    }

    #[test]
    fn reads_entries_and_counts_the_unreadable() {
        let c = parse(
            r#"{"models": [
              {"name": "SmolLM2 135M", "family": "Llama", "size": 98362432, "licence": "Apache-2.0",
               "context": 8192, "url": "models/SmolLM2-135M-Instruct.Q4_1.gguf"},
              {"name": "Remote", "size": 1e9, "url": "https://example.org/m.gguf"},
              {"name": "script", "size": 10, "url": "javascript:alert(1)"},
              {"name": "data", "size": 10, "url": "DATA:text/plain,x"},
              {"name": "protocol-relative", "size": 10, "url": "//evil.example/m.gguf"},
              {"name": "no size", "url": "m.gguf"},
              {"name": "negative", "size": -1, "url": "m.gguf"},
              {"name": "  ", "size": 1, "url": "m.gguf"},
              "not an object"
            ]}"#,
        )
        .unwrap();
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.skipped, 7);
        assert_eq!(c.entries[0].family, "Llama");
        assert_eq!(c.entries[0].context, 8192);
        assert_eq!(c.entries[1].licence, "");
    }

    #[test]
    fn bounds_the_file_and_its_fields() {
        assert!(parse(&" ".repeat(MAX_BYTES + 1)).is_err());
        assert!(parse("[1, 2]").is_err());
        assert!(parse("{\"models\": 3}").is_err());
        let many = format!(
            "{{\"models\": [{}]}}",
            vec![r#"{"name": "m", "size": 1, "url": "m.gguf"}"#; MAX_ENTRIES + 5].join(",")
        );
        let c = parse(&many).unwrap();
        assert_eq!((c.entries.len(), c.skipped), (MAX_ENTRIES, 5));
        let long = format!(
            r#"{{"models": [{{"name": "{}\u0007x", "size": 1, "url": "m.gguf"}}]}}"#,
            "n".repeat(500)
        );
        let c = parse(&long).unwrap();
        assert_eq!(c.entries[0].name.chars().count(), MAX_TEXT);
        assert!(!c.entries[0].name.contains('\u{7}'));
    }

    #[test]
    fn marks_what_fits() {
        let roomy = Device {
            adapter: true,
            adapter_names: "Google SwiftShader".into(),
            fallback: false,
            storage_free: Some(1e10),
            memory_gib: Some(8.0),
        };
        let f = fit(&entry(1e8), &roomy, 0.0);
        assert!(f.fits, "{f:?}");
        assert!(f.notes.iter().any(|n| n.contains("CPU engine")));
        // storage: what is already stored does not count again
        let tight = Device {
            storage_free: Some(5e7),
            ..roomy.clone()
        };
        assert!(!fit(&entry(1e8), &tight, 0.0).fits);
        assert!(fit(&entry(1e8), &tight, 6e7).fits);
        // the CPU engine's heap, unless there is a GPU
        let big = entry(4.2e9);
        assert!(!fit(&big, &roomy, 0.0).fits);
        let gpu = Device {
            adapter_names: "nvidia hopper".into(),
            ..roomy.clone()
        };
        assert!(fit(&big, &gpu, 0.0).fits);
        // a small device's memory
        let small = Device {
            memory_gib: Some(2.0),
            ..gpu
        };
        assert!(!fit(&entry(1.5e9), &small, 0.0).fits);
        assert!(fit(&entry(2e8), &small, 0.0).fits);
    }
}
