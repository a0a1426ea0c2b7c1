//! Feeds arbitrary bytes to the request-head parser of `hearth serve`
//! (`crates/cli/src/serve/http.rs` and `range.rs`, compiled in here as modules through
//! `#[path]`, so the fuzzer runs the very code the server does without building the CLI's
//! engine dependencies). Every outcome must be an answer or a status code, never a panic;
//! an accepted head must hold what the parser promises: a token method, a printable
//! target, HTTP/1.0 or 1.1, at most `MAX_HEADERS` lowercase token-named headers with
//! trimmed one-line values; an accepted path has only plain segments (never empty, `.`,
//! `..`, nor holding `/`, `\`, NUL or control characters); an accepted byte range lies
//! inside the file.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/cli/src/serve/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../../crates/cli/src/serve/range.rs"]
mod range;

use range::RangeAsk;

fuzz_target!(|data: &[u8]| {
    // `read_head` never hands over more than this.
    let head = &data[..data.len().min(http::MAX_HEAD + 4)];
    if let Ok(req) = http::parse_head(head) {
        check_request(&req, data);
    }
    // The same bytes as a header value or a request target on their own.
    let text = String::from_utf8_lossy(data);
    check_path(&text);
    for size in sizes(data) {
        check_range(&text, size);
    }
    let etag = "\"5-1a2b3c\"";
    let _ = range::none_match(&text, etag);
    let _ = range::if_range_holds(&text, etag, "Sun, 06 Nov 1994 08:49:37 GMT");
});

fn check_request(req: &http::Request, data: &[u8]) {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    assert!(token(&req.method), "method {:?}", req.method);
    assert!(!req.target.is_empty() && req.target.bytes().all(|b| b.is_ascii_graphic()));
    assert!(req.version == "HTTP/1.1" || req.version == "HTTP/1.0");
    assert!(req.headers.len() <= http::MAX_HEADERS);
    for (name, value) in &req.headers {
        assert!(token(name) && !name.bytes().any(|b| b.is_ascii_uppercase()), "{name:?}");
        assert!(!value.contains('\n'), "{value:?}");
        assert_eq!(value.trim_matches([' ', '\t']), value);
        assert_eq!(req.header(name).is_some(), req.count(name) > 0);
    }
    check_path(&req.target);
    let etag = "\"5-1a2b3c\"";
    if let Some(value) = req.header("range") {
        for size in sizes(data) {
            check_range(value, size);
        }
    }
    if let Some(value) = req.header("if-none-match") {
        let _ = range::none_match(value, etag);
    }
    if let Some(value) = req.header("if-range") {
        let _ = range::if_range_holds(value, etag, "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}

fn check_path(target: &str) {
    let Ok(segments) = http::path_segments(target) else {
        return;
    };
    assert!(target.starts_with('/'), "{target:?}");
    for s in &segments {
        assert!(!s.is_empty() && s != "." && s != "..", "{target:?}: {s:?}");
        assert!(
            !s.chars()
                .any(|c| c == '/' || c == '\\' || c == '\0' || c.is_control()),
            "{target:?}: {s:?}"
        );
        let mut parts = std::path::Path::new(s).components();
        assert!(
            matches!(parts.next(), Some(std::path::Component::Normal(n)) if n == s.as_str())
                && parts.next().is_none(),
            "{target:?}: {s:?} is not one plain name"
        );
    }
}

/// File sizes to read a range against: edge cases and one taken from the input.
fn sizes(data: &[u8]) -> [u64; 5] {
    let tail = data
        .last_chunk::<8>()
        .map_or(7, |b| u64::from_le_bytes(*b));
    [0, 1, 100, u64::MAX, tail]
}

fn check_range(value: &str, size: u64) {
    match range::parse_range(value, size) {
        RangeAsk::Part { start, end } => {
            assert!(start <= end && end < size, "{value:?} of {size}: {start}..={end}");
        }
        RangeAsk::Unsatisfiable | RangeAsk::Whole => {}
    }
}
