//! The sampling fields of a request: their names (the OpenAI client's), what an absent
//! field means to the engine, what the chat starts with, and their limits. The engine
//! (`hearth_model::SamplerConfig::default`), the chat's Settings form and the Prompt API
//! adapter (through the generated `web/src/sampling.js`) all read this one table.
//!
//! Two defaults, on purpose: the API is greedy unless asked (temperature 0, as the CLI:
//! the same prompt gives the same answer, which tests and tools rely on), while the chat
//! and the Prompt API sample (temperature 0.7, a fresh seed per answer) as people expect
//! of a chat.

use serde_json::{Map, Value};

/// One numeric sampling field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    /// The request's name for it.
    pub key: &'static str,
    /// The label the chat's form shows.
    pub label: &'static str,
    /// What the engine uses when a request leaves it out (`None`: no limit, see `doc`).
    pub default: Option<f64>,
    /// What the chat's form and the Prompt API start with (`None`: left out; for the seed,
    /// a fresh one per answer).
    pub chat: Option<f64>,
    pub min: f64,
    pub max: f64,
    /// The form's step.
    pub step: &'static str,
    /// Whole numbers only.
    pub integer: bool,
}

/// Randomness: 0 picks the most likely token (greedy).
pub const TEMPERATURE: Field = Field {
    key: "temperature",
    label: "Temperature",
    default: Some(0.0),
    chat: Some(0.7),
    min: 0.0,
    max: 2.0,
    step: "0.05",
    integer: false,
};

/// Only the k most likely tokens are drawn from (0: all).
pub const TOP_K: Field = Field {
    key: "top_k",
    label: "Top-k",
    default: Some(40.0),
    chat: Some(40.0),
    min: 0.0,
    max: 1000.0,
    step: "1",
    integer: true,
};

/// Nucleus sampling: the most likely tokens whose probabilities sum to p.
pub const TOP_P: Field = Field {
    key: "top_p",
    label: "Top-p",
    default: Some(0.95),
    chat: Some(0.95),
    min: 0.0,
    max: 1.0,
    step: "0.01",
    integer: false,
};

/// Tokens less likely than min_p times the most likely one are left out.
pub const MIN_P: Field = Field {
    key: "min_p",
    label: "Min-p",
    default: Some(0.05),
    chat: Some(0.05),
    min: 0.0,
    max: 1.0,
    step: "0.01",
    integer: false,
};

/// Penalty on tokens of the last 64 (1: none).
pub const REPETITION_PENALTY: Field = Field {
    key: "repetition_penalty",
    label: "Repetition penalty",
    default: Some(1.0),
    chat: Some(1.0),
    min: 0.5,
    max: 2.0,
    step: "0.05",
    integer: false,
};

/// The answer's length limit (absent: what the context has room for).
pub const MAX_TOKENS: Field = Field {
    key: "max_tokens",
    label: "Max tokens",
    default: None,
    chat: Some(512.0),
    min: 1.0,
    max: 32768.0,
    step: "1",
    integer: true,
};

/// The seed of the random draws: the same seed gives the same tokens.
pub const SEED: Field = Field {
    key: "seed",
    label: "Seed (empty: random)",
    default: Some(0.0),
    chat: None,
    min: 0.0,
    max: 4294967295.0,
    step: "1",
    integer: true,
};

/// The fields, in the order the chat's form shows them.
pub const FIELDS: [Field; 7] = [
    TEMPERATURE,
    TOP_K,
    TOP_P,
    MIN_P,
    REPETITION_PENALTY,
    MAX_TOKENS,
    SEED,
];

impl Field {
    /// The chat's starting value as the form shows it ("" for none).
    pub fn chat_text(&self) -> String {
        self.chat.map(|x| x.to_string()).unwrap_or_default()
    }
}

/// The request fields of a form's `values` (one string per [`FIELDS`] entry): a value that
/// is empty or not a number is left out (the engine's default applies), others are clamped
/// to their field's range. The values come from a form the user edits: parsed, not trusted.
pub fn from_form(values: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    for (f, v) in FIELDS.iter().zip(values) {
        let Ok(x) = v.trim().parse::<f64>() else {
            continue;
        };
        if !x.is_finite() {
            continue;
        }
        let x = x.clamp(f.min, f.max);
        let value = if f.integer {
            Value::from(x.round() as u64)
        } else {
            Value::from(x)
        };
        out.insert(f.key.to_string(), value);
    }
    out
}

/// `web/src/sampling.js`: [`FIELDS`] for the JavaScript side (the Prompt API adapter).
pub fn js_module() -> String {
    let num = |x: Option<f64>| x.map_or("null".to_string(), |x| x.to_string());
    let mut s = String::from(
        "// sampling.js: GENERATED from crates/protocol/src/sampling.rs (the one table of\n\
         // sampling fields); `cargo test -p hearth-protocol` checks it, and\n\
         // HEARTH_BLESS=1 cargo test -p hearth-protocol rewrites it. Do not edit.\n\n\
         /** Each sampling field: its request key, what the engine uses when it is absent\n \
         * (`default`), what the chat and the Prompt API start with (`chat`), its limits. */\n\
         export const SAMPLING = {\n",
    );
    for f in FIELDS {
        s += &format!(
            "  {}: {{ label: {:?}, default: {}, chat: {}, min: {}, max: {}, integer: {} }},\n",
            f.key,
            f.label,
            num(f.default),
            num(f.chat),
            f.min,
            f.max,
            f.integer
        );
    }
    s += "};\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_values_parse_and_bad_values_are_dropped_or_clamped() {
        let chat: Vec<String> = FIELDS.iter().map(Field::chat_text).collect();
        let s = from_form(&chat);
        assert_eq!(s["temperature"], 0.7);
        assert_eq!(s["top_k"], 40);
        assert_eq!(s["max_tokens"], 512);
        assert!(!s.contains_key("seed"));
        let odd: Vec<String> = ["9", "-3", "abc", "NaN", "1e9", "12.6", " 7 "]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = from_form(&odd);
        assert_eq!(s["temperature"], 2.0);
        assert_eq!(s["top_k"], 0);
        assert!(!s.contains_key("top_p") && !s.contains_key("min_p"));
        assert_eq!(s["repetition_penalty"], 2.0);
        assert_eq!(s["max_tokens"], 13);
        assert_eq!(s["seed"], 7);
    }

    #[test]
    fn every_default_lies_in_its_range() {
        for f in FIELDS {
            for x in [f.default, f.chat].into_iter().flatten() {
                assert!(f.min <= x && x <= f.max, "{}: {x}", f.key);
                assert!(!f.integer || x.fract() == 0.0, "{}: {x}", f.key);
            }
        }
    }
}
