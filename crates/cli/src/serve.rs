//! `hearth serve`: a small static HTTP/1.1 server, on 127.0.0.1 only, for the built web
//! app (at `/`) and a models folder (at `/models/<name>`).
//!
//! What it does, and the decisions taken:
//! * GET and HEAD, and OPTIONS for CORS preflights (405 otherwise). Every response allows
//!   any origin (`Access-Control-Allow-Origin: *`, no credentials): the app and models are
//!   public files, and a page on another origin that embeds `<hearth-chat>` loads the
//!   element's modules, wasm and model from here. One thread per connection, at most
//!   [`MAX_CONNECTIONS`] at once (more are closed unanswered). Every response carries
//!   `Connection: close`: no keep-alive, so no request bodies or pipelining to get right;
//!   on loopback a new connection per request costs next to nothing.
//! * One byte range per request (`bytes=a-b`, `a-`, `-n`) gets 206 with `Content-Range`;
//!   an unsatisfiable one 416 with `Content-Range: bytes */size`; several ranges at once
//!   are ignored and the whole file is sent with 200 (see `range`).
//! * Strong `ETag`s from a file's size and modification time, `Last-Modified`,
//!   `If-None-Match` (304) and `If-Range` (the whole file with 200 unless it holds).
//!   `If-Modified-Since` is not read: browsers send `If-None-Match` along with it, and
//!   that one wins.
//! * Bodies are streamed from disk in chunks. A client that goes away mid-body ends only
//!   its own connection.
//! * Untrusted bytes: request heads are bounded (`http::MAX_HEAD`, `http::MAX_HEADERS`),
//!   paths are percent-decoded and checked segment by segment (`..`, `\`, NUL, … give
//!   400), and the file found is canonicalized and must lie inside its folder (404
//!   otherwise), so no symbolic link leads out. Folders are never listed.
//! * Cross-origin isolation on every response (`Cross-Origin-Opener-Policy: same-origin`,
//!   `Cross-Origin-Embedder-Policy: require-corp`), so pages get `SharedArrayBuffer` for
//!   wasm threads, and `Cross-Origin-Resource-Policy: cross-origin`, so isolated pages of
//!   other origins may still load the app's files and models.
//! * `X-Content-Type-Options: nosniff` and `Cache-Control: no-cache` (a new build or model
//!   is picked up; the ETag makes revalidating cheap) on every file, and [`CSP`] on HTML
//!   and JavaScript (a worker's script carries its own policy: the Worker that downloads
//!   models is held to it too).

mod files;
mod http;
mod range;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use files::Root;
use http::{ReadError, Request};
use range::RangeAsk;

/// The Content-Security-Policy of every HTML response: the app's own scripts and WebAssembly
/// (`'wasm-unsafe-eval'` lets it compile the engine), no inline script or style, fetches to
/// its own origin only; workers from the app's own scripts or from blobs those make (the
/// CPU engine's thread pool starts its Web Workers from a blob of its own helper script).
/// `--connect-src` appends origins to `connect-src` (e.g. a host to
/// download models from).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'self'";

/// The most connections served at once.
const MAX_CONNECTIONS: usize = 256;
/// How long a client has to send its whole request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one write to a client may block before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);
/// Bytes read from a file and written to the socket at a time.
const CHUNK: usize = 256 * 1024;

/// Options of `hearth serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Port to listen on, on 127.0.0.1 (0: any free port; the one taken is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Folder whose files are served at /models/<name>.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// The built web app, served at / (without it, only /models/ is served).
    #[arg(long, default_value = "web/dist")]
    app: PathBuf,
    /// Origins added to the CSP's connect-src (e.g. https://huggingface.co); repeatable or
    /// comma-separated.
    #[arg(long = "connect-src", value_name = "ORIGIN", value_delimiter = ',')]
    connect_src: Vec<String>,
    // The two options below are for browser tests only, hence hidden from --help.
    /// Ignore Range headers and never send Accept-Ranges (a host without Range support).
    #[arg(long, hide = true)]
    no_range: bool,
    /// Limit the body of every /models response to this many bytes per second (so that a
    /// test can stop the server mid-download).
    #[arg(long, hide = true, value_name = "BYTES_PER_SEC",
          value_parser = clap::value_parser!(u64).range(1..))]
    throttle: Option<u64>,
}

/// What every connection needs to know.
struct Site {
    app: Option<Root>,
    models: Root,
    csp: String,
    ranges: bool,
    throttle: Option<u64>,
}

/// Serves until the process is stopped.
pub fn run(args: &ServeArgs) -> Result<(), String> {
    let csp = csp(&args.connect_src)?;
    let models = Root::new(&args.models, false)
        .map_err(|e| format!("models folder {}: {e}", args.models.display()))?;
    let app = match Root::new(&args.app, true) {
        Ok(app) => Some(app),
        Err(e) => {
            eprintln!(
                "hearth serve: no app at {} ({e}): serving only /models/",
                args.app.display()
            );
            None
        }
    };
    let site = Arc::new(Site {
        app,
        models,
        csp,
        ranges: !args.no_range,
        throttle: args.throttle,
    });
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let mut stdout = io::stdout().lock();
    writeln!(
        stdout,
        "hearth serve: http://127.0.0.1:{port}/ (app {}, models {})",
        args.app.display(),
        args.models.display()
    )
    .and_then(|()| stdout.flush())
    .map_err(|e| format!("stdout: {e}"))?;
    drop(stdout);

    let live = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) => {
                // out of file descriptors and the like: wait for connections to end
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if live.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            live.fetch_sub(1, Ordering::SeqCst);
            continue; // dropped: closed unanswered
        }
        let guard = Live(live.clone());
        let site = site.clone();
        // a thread that cannot be started drops its stream and guard: closed unanswered
        let _ = std::thread::Builder::new()
            .name("hearth-serve".into())
            .spawn(move || {
                let _guard = guard;
                connection(stream, &site);
            });
    }
    Ok(())
}

/// Counts one live connection; dropped (even by a panic) when the connection ends.
struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// [`CSP`] with `extra` origins appended to `connect-src`; an error for an origin that
/// could break out of the header or the directive.
fn csp(extra: &[String]) -> Result<String, String> {
    for origin in extra {
        if origin.is_empty()
            || !origin
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b";,'\"".contains(&b))
        {
            return Err(format!("--connect-src {origin:?} is not an origin"));
        }
    }
    let directives: Vec<String> = CSP
        .split("; ")
        .map(|directive| {
            let mut directive = directive.to_owned();
            if directive.starts_with("connect-src ") {
                for origin in extra {
                    directive.push(' ');
                    directive.push_str(origin);
                }
            }
            directive
        })
        .collect();
    Ok(directives.join("; "))
}

/// Serves one request on `stream`, then closes it.
fn connection(mut stream: TcpStream, site: &Site) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let result = match http::read_head(&mut stream, HEAD_TIMEOUT) {
        Ok(head) => match http::parse_head(&head) {
            Ok(request) => respond(&mut stream, site, &request),
            Err(code) => plain(&mut stream, code, &[], false),
        },
        Err(ReadError::TooLarge) => plain(&mut stream, 431, &[], false),
        Err(ReadError::Gone) => return,
    };
    // a write error means the client went away or stalled: only its connection ends
    if result.is_ok() {
        // End our side, then read what the client may still send (a body, the rest of an
        // oversized head) for a moment, so that closing does not reset the connection and
        // destroy the response before the client has read it.
        let _ = stream.flush();
        let _ = stream.shutdown(Shutdown::Write);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let _ = io::copy(&mut (&stream).take(1 << 20), &mut io::sink());
    }
}

/// Answers a parsed request.
fn respond(stream: &mut TcpStream, site: &Site, request: &Request) -> io::Result<()> {
    let head_only = match request.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        // a CORS preflight (a cross-origin Range fetch with If-Range, say)
        "OPTIONS" => return preflight(stream),
        _ => {
            return plain(
                stream,
                405,
                &[("Allow", "GET, HEAD, OPTIONS".into())],
                false,
            );
        }
    };
    if request.version == "HTTP/1.1" && request.count("host") != 1 {
        return plain(stream, 400, &[], head_only); // RFC 9112 §3.2
    }
    let segments = match http::path_segments(&request.target) {
        Ok(segments) => segments,
        Err(code) => return plain(stream, code, &[], head_only),
    };
    let (root, rest, is_model) = match segments.split_first() {
        Some((first, rest)) if first == "models" => (Some(&site.models), rest, true),
        _ => (site.app.as_ref(), &segments[..], false),
    };
    let opened = root
        .and_then(|root| root.resolve(rest))
        .and_then(|path| Some((File::open(&path).ok()?, path)));
    let Some((mut file, path)) = opened else {
        return plain(stream, 404, &[], head_only);
    };
    let Ok(meta) = file.metadata() else {
        return plain(stream, 404, &[], head_only);
    };
    let size = meta.len();
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{size:x}-{nanos:x}\"");
    let last_modified = http::http_date(modified);
    let mime = files::mime(&path);

    let mut headers = vec![
        ("ETag", etag.clone()),
        ("Last-Modified", last_modified.clone()),
        ("Cache-Control", "no-cache".to_owned()),
    ];
    if site.ranges {
        headers.push(("Accept-Ranges", "bytes".to_owned()));
    }
    if files::is_html(mime) || mime.starts_with("text/javascript") {
        headers.push(("Content-Security-Policy", site.csp.clone()));
    }
    if let Some(tags) = request.header("if-none-match")
        && range::none_match(tags, &etag)
    {
        // RFC 9110 §8.6: a 304 may carry the Content-Length that a 200 would have had
        headers.push(("Content-Length", size.to_string()));
        return write_head(stream, 304, &headers);
    }
    let mut ask = RangeAsk::Whole;
    if site.ranges
        && let (Some(value), 1) = (request.header("range"), request.count("range"))
        && request
            .header("if-range")
            .is_none_or(|v| range::if_range_holds(v, &etag, &last_modified))
    {
        ask = range::parse_range(value, size);
    }
    let (code, start, len) = match ask {
        RangeAsk::Whole => (200, 0, size),
        RangeAsk::Part { start, end } => {
            headers.push(("Content-Range", format!("bytes {start}-{end}/{size}")));
            (206, start, end - start + 1)
        }
        RangeAsk::Unsatisfiable => {
            headers.push(("Content-Range", format!("bytes */{size}")));
            headers.push(("Content-Length", "0".to_owned()));
            return write_head(stream, 416, &headers);
        }
    };
    headers.push(("Content-Type", mime.to_owned()));
    headers.push(("Content-Length", len.to_string()));
    write_head(stream, code, &headers)?;
    if head_only {
        return Ok(());
    }
    let throttle = if is_model { site.throttle } else { None };
    send_file(stream, &mut file, start, len, throttle)
}

/// Writes `len` bytes of `file` from `start` to `stream`, at most `throttle` bytes a
/// second if given. A file that fails or shrinks meanwhile ends the response short (the
/// client sees fewer bytes than `Content-Length`, and the connection closes).
fn send_file(
    stream: &mut TcpStream,
    file: &mut File,
    start: u64,
    len: u64,
    throttle: Option<u64>,
) -> io::Result<()> {
    if let Err(e) = file.seek(SeekFrom::Start(start)) {
        eprintln!("hearth serve: {e}");
        return Ok(());
    }
    // a throttled body goes in ~1/16 s pieces so that its rate is smooth
    let piece = throttle.map_or(CHUNK, |rate| (rate / 16).clamp(1, CHUNK as u64) as usize);
    let mut buf = vec![0u8; piece.min(len.try_into().unwrap_or(usize::MAX)).max(1)];
    let t0 = Instant::now();
    let mut sent = 0u64;
    while sent < len {
        let want = buf.len().min((len - sent).try_into().unwrap_or(usize::MAX));
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => {
                eprintln!("hearth serve: a file shrank while being sent");
                return Ok(());
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("hearth serve: {e}");
                return Ok(());
            }
        };
        stream.write_all(&buf[..n])?;
        sent += n as u64;
        if let Some(rate) = throttle {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            std::thread::sleep(due.saturating_sub(t0.elapsed()));
        }
    }
    Ok(())
}

/// A short text response: `code` and its reason phrase as the body.
fn plain(
    stream: &mut TcpStream,
    code: u16,
    extra: &[(&'static str, String)],
    head_only: bool,
) -> io::Result<()> {
    let body = format!("{code} {}\n", reason(code));
    let mut headers = extra.to_vec();
    headers.push(("Content-Type", "text/plain; charset=utf-8".to_owned()));
    headers.push(("Content-Length", body.len().to_string()));
    write_head(stream, code, &headers)?;
    if !head_only {
        stream.write_all(body.as_bytes())?;
    }
    Ok(())
}

/// Answers a CORS preflight: GET and HEAD from any origin, with the headers that range
/// and conditional requests use.
fn preflight(stream: &mut TcpStream) -> io::Result<()> {
    let headers = [
        ("Access-Control-Allow-Methods", "GET, HEAD".to_owned()),
        (
            "Access-Control-Allow-Headers",
            "Range, If-Range, If-None-Match".to_owned(),
        ),
        ("Access-Control-Max-Age", "600".to_owned()),
        ("Content-Length", "0".to_owned()),
    ];
    write_head(stream, 204, &headers)
}

/// Writes the status line and `headers`, plus those every response has.
fn write_head(
    stream: &mut TcpStream,
    code: u16,
    headers: &[(&'static str, String)],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {code} {}\r\n", reason(code));
    let date = http::http_date(SystemTime::now());
    let common = [
        ("Date", date.as_str()),
        ("Server", "hearth"),
        ("Connection", "close"),
        ("X-Content-Type-Options", "nosniff"),
        ("Access-Control-Allow-Origin", "*"),
        // cross-origin isolation (SharedArrayBuffer, so wasm threads), while every file
        // stays loadable from other origins' isolated pages
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Embedder-Policy", "require-corp"),
        ("Cross-Origin-Resource-Policy", "cross-origin"),
        (
            "Access-Control-Expose-Headers",
            "Content-Range, Content-Length, Accept-Ranges, ETag",
        ),
    ];
    let all = common
        .into_iter()
        .chain(headers.iter().map(|(n, v)| (*n, v.as_str())));
    for (name, value) in all {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())
}

/// The reason phrase of the status codes hearth sends.
fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
