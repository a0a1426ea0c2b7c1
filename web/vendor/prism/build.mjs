// Builds web/vendor/prism/prism.js, the syntax highlighter of the chat's code blocks: Prism
// (the npm package prismjs, MIT), its core and the languages in LANGUAGES, minified as the
// package ships them, concatenated in the load order its own dependencies.js gives, and
// wrapped as one ES module that exports Prism and leaves the page's globals as it found
// them. `node web/vendor/prism/build.mjs [PACKAGE_DIR]` (default node_modules/prismjs,
// which the root package.json pins); web/tests/highlight.test.mjs checks that the kept file
// is exactly what this makes from the pinned package.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The languages an assistant's answers use most; their requirements come along. */
export const LANGUAGES = [
  "markup", "css", "javascript", "typescript", "jsx", "tsx", "json", "python", "rust", "c", "cpp",
  "csharp", "java", "kotlin", "go", "swift", "ruby", "php", "lua", "r", "bash", "sql", "yaml",
  "toml", "ini", "diff", "markdown", "docker", "makefile",
];

const HERE = dirname(fileURLToPath(import.meta.url));

/** The module's text, made from the prismjs package in `dir`. */
export function build(dir) {
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const components = JSON.parse(readFileSync(join(dir, "components.json"), "utf8"));
  const getLoader = createRequire(join(dir, "x.js"))("./dependencies.js");
  const ids = getLoader(components, LANGUAGES).getIds();
  const part = (id) => readFileSync(join(dir, "components", `prism-${id}.min.js`), "utf8").trim();
  const licence = readFileSync(join(dir, "LICENSE"), "utf8").trim();
  return [
    `/* Prism ${meta.version} (https://prismjs.com), as the npm package prismjs ships it: its core and`,
    `   ${ids.join(", ")};`,
    "   made into one ES module by web/vendor/prism/build.mjs. Do not edit.",
    "",
    licence.replace(/\*\//g, "* /"),
    "*/",
    // manual: Prism must not highlight the page's own code elements on load
    'const had = Object.prototype.hasOwnProperty.call(globalThis, "Prism"), pagePrism = globalThis.Prism;',
    "globalThis.Prism = { manual: true, disableWorkerMessageHandler: true };",
    part("core"),
    ...ids.map(part),
    "if (had) globalThis.Prism = pagePrism; else delete globalThis.Prism;",
    "export default Prism;",
    "",
  ].join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] || join(HERE, "../../../node_modules/prismjs"));
  writeFileSync(join(HERE, "prism.js"), build(dir));
  console.log(`web/vendor/prism/prism.js from ${dir}`);
}
