// adapter.js: the browser's WebGPU adapter, as hearth's Rust wants to know it (the Worker's
// choose_backend, the catalog's fit marks on the page): whether there is one, its info
// strings, and whether it calls itself a fallback adapter. Which adapters are software is
// decided in Rust (hearth_protocol::adapter).

/** {found, names, fallback} of the high-performance adapter. */
export async function adapterFacts() {
  let adapter = null;
  try {
    adapter = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    // as no adapter
  }
  if (!adapter) return { found: false, names: "", fallback: false };
  const info = adapter.info || {};
  const names = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ");
  return { found: true, names, fallback: Boolean(info.isFallbackAdapter) };
}
