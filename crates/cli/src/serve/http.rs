//! HTTP/1.1 request heads as hearth reads them: bounded in size and header count, parsed
//! from untrusted bytes without panics; request paths decoded into checked segments; and
//! HTTP dates.

use std::io::{self, Read};
use std::net::TcpStream;
use std::path::{Component, Path};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The most bytes a request head (request line and headers) may take.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most header lines a request may have.
pub const MAX_HEADERS: usize = 100;

/// A parsed request head. Header names are lowercase.
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times header `name` (lowercase) occurs.
    pub fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n == name).count()
    }
}

/// Why no request head could be read.
pub enum ReadError {
    /// The head is over [`MAX_HEAD`] bytes (answered with 431).
    TooLarge,
    /// The client closed the connection, timed out or failed before a whole head came.
    Gone,
}

/// Reads from `stream` up to the blank line ending a request head, within `timeout` in
/// all, and returns the head without that blank line. Bytes after it are left unread or
/// dropped: hearth closes the connection after each response.
pub fn read_head(stream: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>, ReadError> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((head, _)) = head_end(&buf) {
            buf.truncate(head);
            return Ok(buf);
        }
        if buf.len() >= MAX_HEAD {
            return Err(ReadError::TooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return Err(ReadError::Gone);
        }
        let want = chunk.len().min(MAX_HEAD + 4 - buf.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(ReadError::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(ReadError::Gone),
        }
    }
}

/// Where the head ends in `buf`: (length of the head, length with its blank line). Lines
/// may end in CRLF or, leniently, in LF.
fn head_end(buf: &[u8]) -> Option<(usize, usize)> {
    buf.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            None
        } else if buf.get(i + 1) == Some(&b'\n') {
            Some((i + 1, i + 2))
        } else if buf.get(i + 1..i + 3) == Some(b"\r\n") {
            Some((i + 1, i + 3))
        } else {
            None
        }
    })
}

/// Parses a request head (as [`read_head`] returns it) or gives the status code to answer
/// with: 400 for anything malformed, 431 for too many headers, 505 for an HTTP version
/// other than 1.0 and 1.1.
pub fn parse_head(head: &[u8]) -> Result<Request, u16> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .skip_while(|line| line.is_empty()); // RFC 9112 §2.2: empty lines may come first
    let request_line = lines.next().ok_or(400u16)?;
    let request_line = std::str::from_utf8(request_line).map_err(|_| 400u16)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    if !is_token(method) || target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(400);
    }
    match version {
        "HTTP/1.1" | "HTTP/1.0" => {}
        v if v.starts_with("HTTP/") && v.len() == 8 => return Err(505),
        _ => return Err(400),
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue; // the trailing line break of the last header
        }
        if headers.len() == MAX_HEADERS {
            return Err(431);
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(400u16)?;
        let name = std::str::from_utf8(&line[..colon]).map_err(|_| 400u16)?;
        if !is_token(name) {
            return Err(400); // also rejects obsolete line folding and `Name :`
        }
        // values are never echoed; bytes that are not UTF-8 (old cookies) are replaced
        let value = String::from_utf8_lossy(&line[colon + 1..]);
        let value = value.trim_matches([' ', '\t']).to_owned();
        headers.push((name.to_ascii_lowercase(), value));
    }
    Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
        headers,
    })
}

/// An RFC 9110 token (method, header name).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The path of an origin-form request target (`/a/b%20c?query`) as percent-decoded
/// segments, or 400. Empty segments are dropped (`/` is no segment at all). A segment is
/// refused if it is `.` or `..`, holds `/`, `\`, NUL or a control character once decoded,
/// is not UTF-8, or is not one plain file name on this system (a drive prefix, a root). A
/// target that does not start with `/` (absolute form, `*`) is refused too.
pub fn path_segments(target: &str) -> Result<Vec<String>, u16> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let Some(path) = path.strip_prefix('/') else {
        return Err(400);
    };
    let mut segments = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let segment = String::from_utf8(percent_decode(raw).ok_or(400u16)?).map_err(|_| 400u16)?;
        let plain = matches!(
            Path::new(&segment).components().collect::<Vec<_>>()[..],
            [Component::Normal(name)] if name == segment.as_str()
        );
        if !plain
            || segment == "."
            || segment == ".."
            || segment
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            return Err(400);
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// Decodes `%XX` escapes; `None` for a `%` not followed by two hex digits.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// `t` as an HTTP date (IMF-fixdate), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. Times before
/// 1970 are written as 1970.
pub fn http_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // civil date from days since 1970-01-01 (H. Hinnant's algorithm)
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let t = |s| http_date(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(t(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(t(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(t(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn heads() {
        let r = parse_head(b"GET /a?b HTTP/1.1\r\nHost: x\r\nRange:  bytes=0-1 \r\n").unwrap();
        assert_eq!((r.method.as_str(), r.target.as_str()), ("GET", "/a?b"));
        assert_eq!(r.header("range"), Some("bytes=0-1"));
        assert_eq!(
            parse_head(b"\r\nGET / HTTP/1.0\n").unwrap().version,
            "HTTP/1.0"
        );
        for bad in [
            &b""[..],
            b"GARBAGE",
            b"GET / HTTP/1.1 x",
            b"GET  / HTTP/1.1",
            b"GET / HTTP/1.1\r\n folded",
            b"GET / HTTP/1.1\r\nName : v",
            b"GET / HTTP/1.1\r\nno colon",
            b"G\xffT / HTTP/1.1",
        ] {
            assert_eq!(parse_head(bad).err(), Some(400), "{bad:?}");
        }
        assert_eq!(parse_head(b"GET / HTTP/2.0").err(), Some(505));
        let many = format!("GET / HTTP/1.1{}", "\r\nA: b".repeat(MAX_HEADERS + 1));
        assert_eq!(parse_head(many.as_bytes()).err(), Some(431));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nrest"), Some((16, 18)));
        assert_eq!(head_end(b"GET /\n\nrest"), Some((6, 7)));
    }

    #[test]
    fn paths() {
        assert_eq!(path_segments("/").unwrap(), Vec::<String>::new());
        assert_eq!(path_segments("/a//b%20c?x=/..").unwrap(), ["a", "b c"]);
        for bad in [
            "/..",
            "/a/../b",
            "/%2e%2e/x",
            "/%2E%2E",
            "/.",
            "/a%2fb",
            "/a%5cb",
            "/a\\b",
            "/%00",
            "/%zz",
            "/%e2",
            "/%",
            "x",
            "*",
            "http://h/a",
        ] {
            assert_eq!(path_segments(bad), Err(400), "{bad:?}");
        }
    }
}
