// syntax.js: the syntax highlighter of the chat's code blocks, which hearth-chat.js loads
// after the first paint. Prism (prism.js, web/vendor/prism: MIT) tokenizes; hearth-ui
// (crates/ui/src/highlight.rs) picks the language, checks the tokens and builds the spans.
import Prism from "./prism.js";

/** Prism's tokens for `code` in `language` (a name from `languages()`), as JSON. */
export function tokenize(language, code) {
  return JSON.stringify(Prism.tokenize(code, Prism.languages[language]), ["type", "content", "alias"]);
}

/** The names of the languages Prism has (its aliases included), separated by spaces. */
export function languages() {
  return Object.keys(Prism.languages)
    .filter((k) => typeof Prism.languages[k] === "object")
    .join(" ");
}
