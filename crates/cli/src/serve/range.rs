//! The `Range`, `If-Range` and `If-None-Match` request headers (RFC 9110 §13, §14).
//!
//! One byte range is served as such. A `Range` naming several ranges (`bytes=0-1,5-9`) is
//! ignored, as RFC 9110 allows, and the whole file goes back with 200: no client of hearth
//! asks for several ranges at once, and `multipart/byteranges` is not worth its code here.

/// What a request's `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAsk {
    /// No usable range: send the whole file (200). The header was malformed, not in bytes,
    /// or named several ranges.
    Whole,
    /// Bytes `start..=end` of the file (206), `end` below the file's size.
    Part { start: u64, end: u64 },
    /// A well-formed range that no byte of the file satisfies (416).
    Unsatisfiable,
}

/// Reads a `Range` header value (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against a file of
/// `size` bytes. A last position past the end is clamped to the end, as the RFC says.
pub fn parse_range(value: &str, size: u64) -> RangeAsk {
    let Some((unit, spec)) = value.split_once('=') else {
        return RangeAsk::Whole;
    };
    let spec = spec.trim();
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeAsk::Whole;
    };
    if first.is_empty() {
        // `-n`: the last n bytes
        return match number(last) {
            None => RangeAsk::Whole,
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if size == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Part {
                start: size - n.min(size),
                end: size - 1,
            },
        };
    }
    let Some(start) = number(first) else {
        return RangeAsk::Whole;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(end) if end >= start => end,
            _ => return RangeAsk::Whole,
        }
    };
    if start >= size {
        return RangeAsk::Unsatisfiable;
    }
    RangeAsk::Part {
        start,
        end: end.min(size - 1),
    }
}

/// A decimal number of digits only; too large a number saturates at `u64::MAX` (a position
/// past any file's end).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// `If-None-Match`: whether `*` or one of the listed entity tags matches `etag` by the
/// weak comparison (a `W/` prefix is ignored), i.e. whether the client's copy is current.
pub fn none_match(value: &str, etag: &str) -> bool {
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// `If-Range`: whether the range may be honoured, i.e. the value is exactly our (strong)
/// `etag` or our `last_modified` date. Anything else means the client's part is of another
/// version of the file, and the whole file is sent.
pub fn if_range_holds(value: &str, etag: &str, last_modified: &str) -> bool {
    let value = value.trim();
    value == etag || value == last_modified
}

#[cfg(test)]
mod tests {
    use super::RangeAsk::{Part, Unsatisfiable, Whole};
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Part { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=90-", 100), Part { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=-10", 100), Part { start: 90, end: 99 });
        assert_eq!(parse_range("bytes=-1000", 100), Part { start: 0, end: 99 });
        assert_eq!(parse_range("BYTES=5-500", 100), Part { start: 5, end: 99 });
        let huge = "bytes=1-99999999999999999999999999";
        assert_eq!(parse_range(huge, 100), Part { start: 1, end: 99 });
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
        for bad in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=5-3",
            "bytes=a-b",
            "bytes=+1-2",
            "bytes=1-2-3",
            "items=0-1",
            "bytes=0-1,5-9",
            "bytes= 0 -1",
        ] {
            assert_eq!(parse_range(bad, 100), Whole, "{bad:?}");
        }
    }

    #[test]
    fn validators() {
        assert!(none_match("\"a\"", "\"a\""));
        assert!(none_match("\"x\", W/\"a\"", "\"a\""));
        assert!(none_match("*", "\"a\""));
        assert!(!none_match("\"b\"", "\"a\""));
        assert!(if_range_holds("\"a\"", "\"a\"", "date"));
        assert!(if_range_holds("date", "\"a\"", "date"));
        assert!(!if_range_holds("W/\"a\"", "\"a\"", "date"));
    }
}
