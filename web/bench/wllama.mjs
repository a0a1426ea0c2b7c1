// wllama.mjs: hearth and wllama (llama.cpp in wasm, @wllama/wllama from npm, exact pin) side
// by side in one headless Chromium, on the same GGUF and prompts, greedy: decode after a short
// chat prompt, prefill of a ≈ 200-token prompt, and the ratios. For the notes, not a test.
//   node web/bench/wllama.mjs [--tokens 64] [--threads 2] [--backend auto|gpu|cpu] [--rounds 3]
// `hearth serve` sends COOP/COEP, so wllama gets its threads (n_threads explicit: its
// default here is 1; n_gpu_layers 0: its WebGPU path needs shader-f16, absent here).
import { join } from "node:path";
import { ROOT, MODEL_FILE, serve, browser, newProfile, dropProfile } from "../tests/harness.mjs";

const arg = (name, d) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : d);
const tokens = Number(arg("--tokens", 64));
const threads = Number(arg("--threads", 2));
const backend = arg("--backend", "auto");
const rounds = Number(arg("--rounds", 3));
const CHAT = "<|im_start|>user\nWrite a long story about a lighthouse keeper.<|im_end|>\n<|im_start|>assistant\n";
const LONG = "The lighthouse stood on a rock at the edge of the bay, and every night its keeper climbed the hundred and twelve steps to light the lamp. ".repeat(7);

// a page that loads wllama from node_modules (served as a second app folder)
const runner = `import { Wllama } from "/wllama/esm/index.js";
window.runWllama = async (model, threads, tokens, chat, long) => {
  const w = new Wllama({ default: "/wllama/esm/wasm/wllama.wasm" });
  const t0 = performance.now();
  await w.loadModelFromUrl(model, { n_threads: threads, n_gpu_layers: 0, n_ctx: 2048, useCache: false });
  const load = performance.now() - t0;
  const out = [];
  for (let r = 0; r < ${rounds}; r++) {
    // decode: stamps of each streamed token after the first
    const stamps = [];
    const t = performance.now();
    const it = await w.createCompletion({ prompt: chat, max_tokens: tokens, temperature: 0, stream: true, ignore_eos: true });
    for await (const _ of it) stamps.push(performance.now() - t);
    const decode = (stamps.length - 1) / ((stamps.at(-1) - stamps[0]) / 1000);
    // prefill: a new prompt, one token
    const tp = performance.now();
    const c = await w.createCompletion({ prompt: "Round " + r + ". " + long, max_tokens: 1, temperature: 0 });
    const n = c.usage.prompt_tokens;
    out.push({ decode, prefill: n / ((performance.now() - tp) / 1000), n, tokens: stamps.length });
  }
  return { load, isolated: crossOriginIsolated, out };
};`;
// hearth serve holds HTML to its CSP (scripts from files of its own origin only)
const page = `<!doctype html><meta charset="utf-8"><script type="module" src="runner.js"></script>`;

async function hearth(p, url) {
  await p.goto(url);
  await p.waitForFunction(() => window.hearthEngine, null, { timeout: 600_000, polling: 100 });
  return p.evaluate(
    async ({ tokens, chat, long, rounds }) => {
      const e = window.hearthEngine;
      const out = [];
      for (let r = 0; r < rounds; r++) {
        const stamps = [];
        const t = performance.now();
        for await (const c of await e.completions.create({ prompt: chat, max_tokens: tokens, temperature: 0, stream: true })) {
          if (c.choices[0].text !== undefined || c.choices[0].delta?.content !== undefined) stamps.push(performance.now() - t);
        }
        const decode = (stamps.length - 1) / ((stamps.at(-1) - stamps[0]) / 1000);
        const tp = performance.now();
        const c = await e.completions.create({ prompt: `Round ${r}. ${long}`, max_tokens: 1, temperature: 0 });
        out.push({ decode, prefill: c.usage.prompt_tokens / ((performance.now() - tp) / 1000), n: c.usage.prompt_tokens, tokens: stamps.length });
      }
      return { info: e.info, isolated: crossOriginIsolated, out };
    },
    { tokens, chat: CHAT, long: LONG, rounds },
  );
}

// wllama's page on its own small server (another origin, COOP/COEP for its threads; no
// CSP: wllama starts its workers from blob URLs, which hearth's CSP does not allow)
const { createServer } = await import("node:http");
const { statSync, createReadStream } = await import("node:fs");
const files = {
  "/index.html": ["text/html", () => page],
  "/runner.js": ["text/javascript", () => runner],
};
const otherServer = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const head = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };
  let file = null;
  let type = "application/octet-stream";
  if (path === "/") return res.writeHead(302, { Location: "/index.html" }).end();
  if (files[path]) {
    res.writeHead(200, { ...head, "Content-Type": files[path][0] });
    return res.end(files[path][1]());
  }
  if (path.startsWith("/wllama/esm/") && !path.includes("..")) {
    file = join(ROOT, "node_modules/@wllama/wllama", path.slice("/wllama/".length));
    type = path.endsWith(".js") ? "text/javascript" : path.endsWith(".wasm") ? "application/wasm" : type;
  } else if (path === `/models/${MODEL_FILE}`) {
    file = join(ROOT, "models", MODEL_FILE);
  }
  let size;
  try {
    size = statSync(file).size;
  } catch {
    return res.writeHead(404, head).end();
  }
  res.writeHead(200, { ...head, "Content-Type": type, "Content-Length": size });
  if (req.method === "HEAD") return res.end();
  createReadStream(file).pipe(res);
});
await new Promise((r) => otherServer.listen(0, "127.0.0.1", r));
const other = { url: `http://127.0.0.1:${otherServer.address().port}/`, stop: () => new Promise((r) => otherServer.close(r)) };
const server = await serve();
const profile = newProfile();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const { context, page: p } = await browser(profile);
  const h = await hearth(p, `${server.url}demo.html?backend=${backend}`);
  await p.goto(other.url);
  await p.waitForFunction(() => window.runWllama, null, { timeout: 60_000 });
  const w = await p.evaluate(
    ({ model, threads, tokens, chat, long }) => window.runWllama(model, threads, tokens, chat, long),
    { model: `${other.url}models/${MODEL_FILE}`, threads, tokens, chat: CHAT, long: LONG },
  );
  await context.close();
  const hd = median(h.out.map((o) => o.decode));
  const hp = median(h.out.map((o) => o.prefill));
  const wd = median(w.out.map((o) => o.decode));
  const wp = median(w.out.map((o) => o.prefill));
  const engine = h.info.backend === "gpu" ? `GPU ${h.info.adapter}` : `CPU engine, ${h.info.threads} thread(s), ${h.info.isa}`;
  console.log(`hearth: ${engine}; page isolated: ${h.isolated}`);
  console.log(`wllama 3.8.1: ${threads} thread(s) asked, n_gpu_layers 0; page isolated: ${w.isolated}; load ${(w.load / 1000).toFixed(2)} s`);
  console.log(`medians of ${rounds} rounds          hearth      wllama     ratio`);
  console.log(`decode (${tokens} tokens)        ${hd.toFixed(1).padStart(8)}  ${wd.toFixed(1).padStart(9)}  ${(hd / wd).toFixed(2).padStart(8)}×  tokens/s`);
  console.log(`prefill (${h.out[0].n} / ${w.out[0].n} tokens)  ${hp.toFixed(1).padStart(8)}  ${wp.toFixed(1).padStart(9)}  ${(hp / wp).toFixed(2).padStart(8)}×  tokens/s`);
  console.log(`rounds: hearth ${JSON.stringify(h.out.map((o) => [o.decode.toFixed(1), o.prefill.toFixed(1)]))} wllama ${JSON.stringify(w.out.map((o) => [o.decode.toFixed(1), o.prefill.toFixed(1)]))}`);
} finally {
  await server.stop();
  await other.stop();
  dropProfile(profile);
}
