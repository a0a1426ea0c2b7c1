// sampling.js: GENERATED from crates/protocol/src/sampling.rs (the one table of
// sampling fields); `cargo test -p hearth-protocol` checks it, and
// HEARTH_BLESS=1 cargo test -p hearth-protocol rewrites it. Do not edit.

/** Each sampling field: its request key, what the engine uses when it is absent
 * (`default`), what the chat and the Prompt API start with (`chat`), its limits. */
export const SAMPLING = {
  temperature: { label: "Temperature", default: 0, chat: 0.7, min: 0, max: 2, integer: false },
  top_k: { label: "Top-k", default: 40, chat: 40, min: 0, max: 1000, integer: true },
  top_p: { label: "Top-p", default: 0.95, chat: 0.95, min: 0, max: 1, integer: false },
  min_p: { label: "Min-p", default: 0.05, chat: 0.05, min: 0, max: 1, integer: false },
  repetition_penalty: { label: "Repetition penalty", default: 1, chat: 1, min: 0.5, max: 2, integer: false },
  max_tokens: { label: "Max tokens", default: null, chat: 512, min: 1, max: 32768, integer: true },
  seed: { label: "Seed (empty: random)", default: 0, chat: null, min: 0, max: 4294967295, integer: true },
};
