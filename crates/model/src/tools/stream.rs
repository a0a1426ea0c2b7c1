//! Streaming an answer that may hold tool calls: the content is shown as it comes, and
//! from where a call may begin the text is held back until the answer is whole, then
//! parsed (OpenAI streams calls as `delta.tool_calls`).
//!
//! Where a call may begin: Hermes blocks (`<tool_call>`) anywhere; Mistral's
//! `[TOOL_CALLS]`, Llama 3.1's `<|python_tag|>` or `{`, and the fallback's `{` only at the
//! answer's start (after whitespace).

use super::format::{ToolCall, ToolFormat};

/// Splits streamed text into content to show now and calls at the end.
#[derive(Debug)]
pub struct ToolStream {
    format: ToolFormat,
    text: String,
    /// Bytes of `text` shown so far.
    shown: usize,
    /// Whether a call has begun: nothing more is shown until the end.
    held: bool,
    /// For formats whose calls open the answer: whether the answer is known to be text.
    plain: bool,
}

impl ToolStream {
    /// A stream for answers in `format`.
    pub fn new(format: ToolFormat) -> ToolStream {
        ToolStream {
            format,
            text: String::new(),
            shown: 0,
            held: false,
            plain: false,
        }
    }

    /// The markers a call of this format opens with.
    fn openers(&self) -> &'static [&'static str] {
        match self.format {
            ToolFormat::Hermes => &["<tool_call>"],
            ToolFormat::Mistral => &["[TOOL_CALLS]"],
            ToolFormat::Llama3Json => &["<|python_tag|>", "{"],
            ToolFormat::Fallback => &["{"],
        }
    }

    /// Adds `piece` and returns the content that can be shown now.
    pub fn push(&mut self, piece: &str) -> String {
        self.text.push_str(piece);
        if self.held {
            return String::new();
        }
        let end = match self.format {
            ToolFormat::Hermes => {
                let marker = self.openers()[0];
                match self.text[self.shown..].find(marker) {
                    Some(i) => {
                        self.held = true;
                        self.shown + i
                    }
                    None => self.text.len() - partial_suffix(&self.text[self.shown..], marker),
                }
            }
            _ if self.plain => self.text.len(),
            _ => {
                let start = self.text.trim_start();
                if start.is_empty() {
                    return String::new();
                }
                if self.openers().iter().any(|o| start.starts_with(o)) {
                    self.held = true;
                    return String::new();
                }
                if self.openers().iter().any(|o| o.starts_with(start)) {
                    return String::new();
                }
                self.plain = true;
                self.text.len()
            }
        };
        let out = self.text[self.shown..end].to_string();
        self.shown = end;
        out
    }

    /// The answer is whole: the content not shown yet, and the calls.
    pub fn finish(&mut self) -> (String, Vec<ToolCall>) {
        let (content, calls) = self.format.parse_raw(&self.text);
        (self.rest(&content), calls)
    }

    /// All the text pushed so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What of the answer's final `content` has not been shown; all of it is shown then.
    pub(super) fn rest(&mut self, content: &str) -> String {
        let shown = &self.text[..self.shown];
        self.shown = self.text.len();
        content.strip_prefix(shown).unwrap_or_default().to_string()
    }
}

/// The length of the longest end of `text` that `marker` starts with (a marker that may
/// be arriving), at a char boundary.
fn partial_suffix(text: &str, marker: &str) -> usize {
    (1..marker.len().min(text.len() + 1))
        .rev()
        .find(|&n| {
            text.is_char_boundary(text.len() - n) && marker.starts_with(&text[text.len() - n..])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Streams `pieces`, returning what was shown, what came at the end, and the calls.
    fn run(format: ToolFormat, pieces: &[&str]) -> (String, String, Vec<String>) {
        let mut s = ToolStream::new(format);
        let shown: String = pieces.iter().map(|p| s.push(p)).collect();
        let (rest, calls) = s.finish();
        (shown, rest, calls.into_iter().map(|c| c.name).collect())
    }

    #[test]
    fn content_streams_and_calls_are_held() {
        let (shown, rest, calls) = run(
            ToolFormat::Hermes,
            &[
                "Let me ",
                "check.\n<tool",
                "_call>\n{\"name\": \"w\", ",
                "\"arguments\": {}}\n</tool_call>",
            ],
        );
        assert_eq!((shown.as_str(), rest.as_str()), ("Let me check.\n", ""));
        assert_eq!(calls, ["w"]);
        // a marker's start that turns out to be text is shown at the end
        let (shown, rest, calls) = run(ToolFormat::Hermes, &["a <tool", "box"]);
        assert_eq!(format!("{shown}{rest}"), "a <toolbox");
        assert!(calls.is_empty());
        // a call at the start of a Llama answer
        let (shown, _, calls) = run(
            ToolFormat::Llama3Json,
            &[" {\"name\"", ": \"w\", \"parameters\": {}}"],
        );
        assert_eq!((shown.as_str(), calls.len()), ("", 1));
        // text that opens like a call but is not one comes out whole at the end
        let (shown, rest, calls) = run(ToolFormat::Fallback, &["{not json", "}"]);
        assert_eq!(
            (shown.as_str(), rest.as_str(), calls.len()),
            ("", "{not json}", 0)
        );
        // plain text streams at once
        let (shown, rest, _) = run(ToolFormat::Mistral, &["[", "x] is", " fine"]);
        assert_eq!((shown.as_str(), rest.as_str()), ("[x] is fine", ""));
        let (shown, _, calls) = run(
            ToolFormat::Mistral,
            &["[TOOL_", "CALLS] [{\"name\": \"w\", \"arguments\": {}}]"],
        );
        assert_eq!((shown.as_str(), calls.len()), ("", 1));
    }

    #[test]
    fn partial_markers_respect_char_boundaries() {
        assert_eq!(partial_suffix("é<to", "<tool_call>"), 3);
        assert_eq!(partial_suffix("é", "<tool_call>"), 0);
        assert_eq!(partial_suffix("", "<tool_call>"), 0);
    }
}
