// render.mjs: the cost of drawing a streamed answer, for the notes, not a test. A
// 2,000-token Markdown answer (≈ 8,000 characters: prose, lists, code, a table) streamed
// in pieces of 4 characters (about a token each) into a detached element in headless
// chromium, rebuilt whole after each piece (how the chat drew before issue 13) and
// patched (how it draws now), then patched with the code highlighted (Prism, as the chat
// does once syntax.js has loaded). Prints per piece: the whole time (parse, highlighting
// and DOM) and the DOM part alone, over 3 runs each.
//   node web/bench/render.mjs [--chars 8000] [--step 4]
import { serve, browser, newProfile, dropProfile } from "../tests/harness.mjs";

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const chars = Number(arg("--chars")) || 8000;
const step = Number(arg("--step")) || 4;

const BLOCK =
  "## A section\n\nThe lighthouse keeper climbed the *hundred and twelve* steps every night, " +
  "and wrote what he saw in a **log** that nobody read.\n\n" +
  "* the lamp, cleaned\n* the lens, turned\n* the weather: `wind from the west`\n\n" +
  "```python\ndef light(lamp):\n    lamp.trim()\n    return lamp.on()\n```\n\n" +
  "| hour | ships |\n|---|---|\n| 21:00 | 2 |\n| 03:00 | 0 |\n\n";
const text = BLOCK.repeat(Math.ceil(chars / BLOCK.length)).slice(0, chars);

const server = await serve();
const profile = newProfile();
const { context, page } = await browser(profile);
try {
  await page.goto(`${server.url}manifest.webmanifest`);
  const runs = await page.evaluate(
    async ({ text, step }) => {
      const m = await import("/pkg-ui/hearth_ui.js");
      await m.default({ module_or_path: "/pkg-ui/hearth_ui_bg.wasm" });
      const out = { full: [], patch: [], highlighted: [] };
      const run = (mode, as) => {
        const { ms, render_ms, pieces } = JSON.parse(m.stream_render(text, step, mode));
        out[as].push({ ms, render_ms, pieces });
      };
      for (let r = 0; r < 3; r++) {
        run("full", "full");
        run("patch", "patch");
      }
      const syntax = await import("/syntax.js");
      m.set_highlighter(syntax.tokenize, syntax.languages());
      for (let r = 0; r < 3; r++) run("patch", "highlighted");
      return out;
    },
    { text, step },
  );
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of ["full", "patch", "highlighted"]) {
    const rs = runs[mode];
    const per = median(rs.map((r) => r.ms / r.pieces));
    const dom = median(rs.map((r) => r.render_ms / r.pieces));
    console.log(`${mode.padEnd(11)} ${rs[0].pieces} pieces of ${step} chars (${text.length} chars): ${per.toFixed(3)} ms per piece, of which DOM ${dom.toFixed(3)} ms; whole answer ${median(rs.map((r) => r.ms)).toFixed(0)} ms`);
  }
} finally {
  await context.close();
  await server.stop();
  dropProfile(profile);
}
