// demo.js: the JS API demo page (demo.html), which the API tests drive: loads the default model
// (or ?model=URL) with createEngine (?backend=auto|gpu|cpu) and streams answers into the page
// as text.
import { createEngine } from "./hearth.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const model = params.get("model") || "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

function mb(n) {
  return (n / 1e6).toFixed(1);
}

const engine = await createEngine({
  model,
  backend: params.get("backend") || "auto",
  onProgress: (p) => {
    $("status").textContent = `${p.phase}: ${mb(p.loaded)} of ${mb(p.total)} MB (${mb(p.rate)} MB/s)`;
  },
}).catch((e) => {
  $("status").textContent = `Error: ${e.message}`;
  throw e;
});
const where = engine.info.backend === "gpu" ? `the GPU (${engine.info.adapter})` : `the CPU engine (${engine.info.isa})`;
$("status").textContent = `Ready: ${engine.info.name || model} on ${where}: ${engine.info.backend_reason}`;
$("ask").hidden = false;
window.hearthEngine = engine;

$("ask").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("answer").textContent = "";
  const stream = await engine.chat.completions.create({
    messages: [{ role: "user", content: $("question").value }],
    temperature: 0,
    max_tokens: 256,
    stream: true,
  });
  for await (const chunk of stream) {
    $("answer").textContent += chunk.choices[0].delta.content ?? "";
  }
});
