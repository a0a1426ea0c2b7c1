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
