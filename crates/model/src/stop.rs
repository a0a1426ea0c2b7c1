//! Stop strings (OpenAI's `stop`): the answer ends before the first of them, which is not
//! emitted. A streamed piece is held back while it could be the start of one, so no
//! streamed text is ever taken back.

use crate::{ModelError, Result};

/// Most stop strings a request may give (OpenAI's limit).
pub const MAX_STOPS: usize = 4;

/// The stop strings of one answer and the text held back so far.
#[derive(Clone, Debug, Default)]
pub struct StopText {
    stops: Vec<String>,
    held: String,
    stopped: bool,
}

impl StopText {
    /// Checks `stops`: at most [`MAX_STOPS`], none empty.
    pub fn new(stops: &[String]) -> Result<StopText> {
        if stops.len() > MAX_STOPS {
            return Err(ModelError::Request(format!(
                "stop: at most {MAX_STOPS} strings, not {}",
                stops.len()
            )));
        }
        if stops.iter().any(String::is_empty) {
            return Err(ModelError::Request("stop: an empty string".into()));
        }
        Ok(StopText {
            stops: stops.to_vec(),
            ..StopText::default()
        })
    }

    /// Whether a stop string was seen.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Takes the next streamed piece; returns the text that may be shown now (everything
    /// but a tail that could still begin a stop string, and nothing from a stop string on).
    pub fn push(&mut self, piece: &str) -> String {
        if self.stopped {
            return String::new();
        }
        self.held.push_str(piece);
        if let Some(at) = self.first_stop(&self.held) {
            self.stopped = true;
            let out = self.held[..at].to_string();
            self.held.clear();
            return out;
        }
        // keep the longest tail that is a prefix of some stop string
        let keep = self
            .stops
            .iter()
            .map(|s| longest_prefix_suffix(&self.held, s))
            .max()
            .unwrap_or(0);
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        out
    }

    /// The text still held at the end of the answer (no stop string came).
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// `text` cut before the first stop string in it.
    pub fn cut<'a>(&self, text: &'a str) -> &'a str {
        match self.first_stop(text) {
            Some(at) => &text[..at],
            None => text,
        }
    }

    fn first_stop(&self, text: &str) -> Option<usize> {
        self.stops
            .iter()
            .filter_map(|s| text.find(s.as_str()))
            .min()
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of `stop`, on char
/// boundaries.
fn longest_prefix_suffix(text: &str, stop: &str) -> usize {
    let most = text.len().min(stop.len().saturating_sub(1));
    (1..=most)
        .rev()
        .find(|&n| {
            text.is_char_boundary(text.len() - n)
                && stop.is_char_boundary(n)
                && text.ends_with(&stop[..n])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut s = StopText::new(&stops).unwrap();
        let mut out: String = pieces.iter().map(|p| s.push(p)).collect();
        if !s.stopped() {
            out.push_str(&s.finish());
        }
        (out, s.stopped())
    }

    #[test]
    fn stops_before_the_string_even_across_pieces() {
        assert_eq!(
            run(&["\n\n"], &["Hello", "\n", "\nmore"]),
            ("Hello".into(), true)
        );
        assert_eq!(
            run(&["END"], &["abc E", "N", "D tail"]),
            ("abc ".into(), true)
        );
        // the first of several, wherever it starts
        assert_eq!(run(&["b", "xyz"], &["axy", "zb"]), ("a".into(), true));
        // a held prefix that does not become the string is given back
        assert_eq!(run(&["END"], &["an E", "Nd"]), ("an ENd".into(), false));
        assert_eq!(run(&["é!"], &["café", " ok"]), ("café ok".into(), false));
        assert_eq!(run(&[], &["free"]), ("free".into(), false));
    }

    #[test]
    fn bad_stops_are_errors() {
        let five: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        assert!(StopText::new(&five).is_err());
        assert!(StopText::new(&[String::new()]).is_err());
        let s = StopText::new(&["\n".into()]).unwrap();
        assert_eq!(s.cut("a\nb"), "a");
    }
}
