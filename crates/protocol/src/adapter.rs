//! Which WebGPU adapters are software: the one rule the GPU engine (natively), the
//! Worker's choice of engine and the model catalog's fit marks (on the page) all use.

/// True for adapters that run on the CPU: a device type of CPU, or the name of a known
/// software rasteriser (llvmpipe/lavapipe, SwiftShader, WARP). `backend auto` runs the CPU
/// engine on these, natively and in the browser (which reports the name only).
pub fn is_software_adapter(name: &str, cpu_type: bool) -> bool {
    let name = name.to_ascii_lowercase();
    cpu_type
        || [
            "llvmpipe",
            "lavapipe",
            "swiftshader",
            "softpipe",
            "warp",
            "basic render",
        ]
        .iter()
        .any(|s| name.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names as the adapters give them: lavapipe natively, SwiftShader in headless
    /// Chromium (its info strings joined as the page joins them), a real GPU.
    #[test]
    fn software_rasterisers_are_known_by_name() {
        assert!(is_software_adapter(
            "llvmpipe (LLVM 19.1.7, 256 bits)",
            false
        ));
        assert!(is_software_adapter("google swiftshader subzero", false));
        assert!(is_software_adapter("Microsoft Basic Render Driver", false));
        assert!(is_software_adapter("anything", true));
        assert!(!is_software_adapter("nvidia hopper NVIDIA H200", false));
        assert!(!is_software_adapter("", false));
    }
}
