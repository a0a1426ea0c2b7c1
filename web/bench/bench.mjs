// bench.mjs: hearth in headless chromium, for the notes, not a test. Prints: first-visit
// load time, cached start to first token (the message sent at once, and sent 8 s after
// the engine is ready, as a user writes it), prefill tokens/s (a ≈ 200-token prompt), decode
// tokens/s, the wasm memory after loading (its peak), and the bytes the app ships (gzipped).
//   node web/bench/bench.mjs [--tokens 64] [--backend auto|gpu|cpu]
// (auto: the CPU engine here, where WebGPU is SwiftShader; gpu: WebGPU on SwiftShader)
import { gzipSync } from "node:zlib";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT, serve, browser, newProfile, dropProfile } from "../tests/harness.mjs";

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const tokens = Number(arg("--tokens")) || 64;
/** How long a user takes to write the first message, for the second cached start. */
const PAUSE_MS = 8000;
const backend = arg("--backend") || "auto";
/** A long prompt for prefill: ≈ 200 tokens of plain prose. */
const LONG = "The lighthouse stood on a rock at the edge of the bay, and every night its keeper climbed the hundred and twelve steps to light the lamp. ".repeat(7);

function shipped(dir) {
  let raw = 0;
  let gz = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      const sub = shipped(path);
      raw += sub.raw;
      gz += sub.gz;
    } else if (/\.(js|wasm|html|css)$/.test(name)) {
      const bytes = readFileSync(path);
      raw += bytes.length;
      gz += gzipSync(bytes, { level: 9 }).length;
    }
  }
  return { raw, gz };
}

/** Opens the app, waits `pauseMs` after it is ready (a user writing the first message),
 * asks one question streaming, and times it from navigation on. */
async function visit(page, url, { pauseMs = 0, n = tokens } = {}) {
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => window.hearthEngine, null, { timeout: 600_000, polling: 100 });
  const ready = Date.now() - t0;
  await page.waitForTimeout(pauseMs);
  const r = await page.evaluate(async (n) => {
    const t = performance.now();
    const stamps = [];
    const stream = await window.hearthEngine.chat.completions.create({
      messages: [{ role: "user", content: "Write a long story about a lighthouse keeper." }],
      temperature: 0,
      max_tokens: n,
      stream: true,
    });
    let promptN = null;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content !== undefined) stamps.push(performance.now() - t);
      if (chunk.usage) promptN = chunk.usage.prompt_tokens;
    }
    return { stamps, info: window.hearthEngine.info, promptN };
  }, n);
  const first = r.stamps[0];
  const result = { ready, firstToken: ready + first, sentToFirst: first, chatPromptN: r.promptN, info: r.info };
  if (n === 1) return result;
  const decode = (r.stamps.length - 1) / ((r.stamps.at(-1) - first) / 1000);
  // prefill: a fresh context (a completion of another prompt), one token generated
  const p = await page.evaluate(async (prompt) => {
    const t = performance.now();
    const c = await window.hearthEngine.completions.create({ prompt, max_tokens: 1, temperature: 0 });
    return { ms: performance.now() - t, n: c.usage.prompt_tokens };
  }, LONG);
  return { ...result, decode, n: r.stamps.length, prefill: p.n / (p.ms / 1000), prefillN: p.n };
}

const server = await serve();
const profile = newProfile();
try {
  let { context, page } = await browser(profile);
  // the API demo page: window.hearthEngine is what the figures are read from
  const demo = `${server.url}demo.html?backend=${backend}`;
  const cold = await visit(page, demo);
  await context.close();
  ({ context, page } = await browser(profile));
  const warm = await visit(page, demo);
  await context.close();
  // the same, the first message sent a while after the engine is ready: the pipelines
  // (created at load) compile in that while
  ({ context, page } = await browser(profile));
  const paused = await visit(page, demo, { pauseMs: PAUSE_MS, n: 1 });
  await context.close();
  const ship = shipped(join(ROOT, "web/dist"));
  const engine =
    warm.info.backend === "gpu"
      ? `GPU: ${warm.info.adapter || "(unnamed)"}, ${warm.info.kv_cache} KV cache, ${warm.info.matvec} matvec`
      : `CPU engine: ${warm.info.threads} thread(s), ${warm.info.isa}`;
  console.log(`engine:                       ${engine} (${warm.info.backend_reason})`);
  console.log(`first visit, ready:           ${(cold.ready / 1000).toFixed(1)} s (download + load)`);
  console.log(`cached start, ready:          ${(warm.ready / 1000).toFixed(1)} s`);
  if (warm.info.load_ms) {
    const t = warm.info.load_ms;
    console.log(`  of which (ms):               wasm ${t.wasm}, headers ${t.headers}, weights ${t.weights} (into the engine ${t.push}), finish ${t.finish}`);
  }
  console.log(`cached start to first token:  ${(warm.firstToken / 1000).toFixed(1)} s (ready, then the chat's prompt of ${warm.chatPromptN} tokens: ${(warm.sentToFirst / 1000).toFixed(1)} s)`);
  const compiled = warm.info.pipelines === undefined ? "" : ` (${warm.info.pipelines} pipelines created at load)`;
  console.log(`  sent ${PAUSE_MS / 1000} s after ready:         first token ${(paused.sentToFirst / 1000).toFixed(1)} s after sending${compiled}`);
  // what the pause took off the first token's path: the pipelines' compiles, done in it
  // (prefill and the pick are the same in both)
  console.log(`  saved by the pause:         ${((warm.sentToFirst - paused.sentToFirst) / 1000).toFixed(1)} s (pipeline compiles done meanwhile)`);
  console.log(`prefill:                      ${warm.prefill.toFixed(1)} tokens/s (${warm.prefillN} tokens, to the first token)`);
  console.log(`decode:                       ${warm.decode.toFixed(1)} tokens/s (${warm.n} tokens)`);
  console.log(`wasm memory after loading:    ${(warm.info.wasm_memory_bytes / 2 ** 20).toFixed(1)} MiB`);
  console.log(`shipped (js, wasm, html, css): ${(ship.raw / 1e6).toFixed(2)} MB, ${(ship.gz / 1e6).toFixed(2)} MB gzipped`);
} finally {
  await server.stop();
  dropProfile(profile);
}
