//! The chat's sampling settings: the form fields, their defaults and limits, and the
//! request fields they become. Values come from a form the user edits, so each is parsed
//! and clamped here rather than trusted.

use serde_json::{Map, Value};

/// One numeric setting.
pub struct Field {
    /// The request's name for it (the OpenAI client's).
    pub key: &'static str,
    /// The label the form shows.
    pub label: &'static str,
    /// Its default, as the form shows it ("" for none).
    pub default: &'static str,
    pub min: f64,
    pub max: f64,
    pub step: &'static str,
    /// Whole numbers only.
    pub integer: bool,
}

/// The settings, in the order the form shows them (the system prompt comes first, apart).
pub const FIELDS: [Field; 7] = [
    Field {
        key: "temperature",
        label: "Temperature",
        default: "0.7",
        min: 0.0,
        max: 2.0,
        step: "0.05",
        integer: false,
    },
    Field {
        key: "top_k",
        label: "Top-k",
        default: "40",
        min: 0.0,
        max: 1000.0,
        step: "1",
        integer: true,
    },
    Field {
        key: "top_p",
        label: "Top-p",
        default: "0.95",
        min: 0.0,
        max: 1.0,
        step: "0.01",
        integer: false,
    },
    Field {
        key: "min_p",
        label: "Min-p",
        default: "0.05",
        min: 0.0,
        max: 1.0,
        step: "0.01",
        integer: false,
    },
    Field {
        key: "repetition_penalty",
        label: "Repetition penalty",
        default: "1.0",
        min: 0.5,
        max: 2.0,
        step: "0.05",
        integer: false,
    },
    Field {
        key: "max_tokens",
        label: "Max tokens",
        default: "512",
        min: 1.0,
        max: 32768.0,
        step: "1",
        integer: true,
    },
    Field {
        key: "seed",
        label: "Seed (empty: random)",
        default: "",
        min: 0.0,
        max: 4294967295.0,
        step: "1",
        integer: true,
    },
];

/// System-prompt presets the Settings panel offers: a name and the prompt it writes into
/// the system prompt ("None" empties it). Any other text is shown as "Custom".
pub const PRESETS: [(&str, &str); 5] = [
    ("None", ""),
    (
        "Helpful assistant",
        "You are a helpful assistant. Answer clearly and accurately.",
    ),
    (
        "Concise",
        "Answer in as few words as the question allows. No preamble.",
    ),
    (
        "Explain simply",
        "Explain things simply, as to someone new to the subject, with a short example.",
    ),
    (
        "Code helper",
        "You are an expert programmer. Answer with working code in fenced blocks and a \
         brief explanation.",
    ),
];

/// The preset whose prompt `system` is, or "Custom".
pub fn preset_of(system: &str) -> &'static str {
    PRESETS
        .iter()
        .find(|(_, p)| *p == system.trim())
        .map_or("Custom", |(name, _)| name)
}

/// The request fields of the form's `values` (one string per [`FIELDS`] entry): a value
/// that is empty or not a number is left out (the engine's default applies), others are
/// clamped to their field's range.
pub fn sampling(values: &[String]) -> Map<String, Value> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_found_by_their_prompt() {
        for (name, prompt) in PRESETS {
            assert_eq!(preset_of(prompt), name);
        }
        assert_eq!(preset_of("Talk like a pirate."), "Custom");
        assert_eq!(preset_of("  "), "None");
    }

    #[test]
    fn defaults_parse_and_bad_values_are_dropped_or_clamped() {
        let defaults: Vec<String> = FIELDS.iter().map(|f| f.default.to_string()).collect();
        let s = sampling(&defaults);
        assert_eq!(s["temperature"], 0.7);
        assert_eq!(s["top_k"], 40);
        assert_eq!(s["max_tokens"], 512);
        assert!(!s.contains_key("seed"));
        let odd: Vec<String> = ["9", "-3", "abc", "NaN", "1e9", "12.6", " 7 "]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = sampling(&odd);
        assert_eq!(s["temperature"], 2.0);
        assert_eq!(s["top_k"], 0);
        assert!(!s.contains_key("top_p") && !s.contains_key("min_p"));
        assert_eq!(s["repetition_penalty"], 2.0);
        assert_eq!(s["max_tokens"], 13);
        assert_eq!(s["seed"], 7);
    }
}
