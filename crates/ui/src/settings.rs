//! The chat's settings: the sampling fields (hearth_protocol::sampling's table, with the
//! chat's starting values and the limits the form's values are clamped to) and the
//! system-prompt presets.

pub use hearth_protocol::sampling::{FIELDS, from_form};

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
}
