// hearth's TypeScript declarations (hearth.d.ts, hearth-chat.d.ts, prompt-api.d.ts, and
// protocol.d.ts generated from Rust)
// compile under tsc --strict, and a program written against them (types/uses-api.ts)
// type-checks; a broken program is rejected (the check can fail).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./harness.mjs";

const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const FLAGS = ["--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler", "--lib", "es2022,dom,dom.iterable"];

function tsc(files) {
  const r = spawnSync(process.execPath, [TSC, ...FLAGS, ...files], { encoding: "utf8" });
  return { code: r.status, out: r.stdout + r.stderr };
}

test("the declarations and a program using them type-check", () => {
  const decls = ["hearth.d.ts", "protocol.d.ts", "hearth-chat.d.ts", "prompt-api.d.ts"].map((f) => join(ROOT, "web/src", f));
  const r = tsc([...decls, join(ROOT, "web/tests/types/uses-api.ts")]);
  assert.equal(r.code, 0, r.out);
});

test("a program that misuses the API is rejected", () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-types-"));
  try {
    const bad = join(dir, "bad.ts");
    writeFileSync(bad, `import { createEngine } from ${JSON.stringify(join(ROOT, "web/src/hearth"))};
const e = await createEngine({ model: "m.gguf" });
const r = await e.chat.completions.create({ messages: [{ role: "user", content: "x" }], temperature: "hot" });
export const n: number = r.choices[0].message.content;
`);
    const r = tsc([bad]);
    assert.notEqual(r.code, 0);
    // line 3: a string temperature; line 4: content is string | null, not a number
    assert.match(r.out, /bad\.ts\(3,\d+\): error/);
    assert.match(r.out, /bad\.ts\(4,\d+\): error/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
