//! `hearth serve` run as a user runs it: the built binary on a temporary folder, talked to
//! with raw HTTP/1.1 over TCP (a tiny client below), so that what is checked is the bytes
//! on the wire.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Size of the pseudo-random model file: a few MB, not a multiple of any chunk size.
const BIG: usize = 3 * 1024 * 1024 + 4321;

const INDEX: &str = "<!doctype html><title>hearth</title><p>hi</p>\n";
const WASM: &[u8] = b"\0asm\x01\0\0\0";

/// Deterministic bytes (xorshift64*), so that any range can be checked.
fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// A temporary folder with an app and a models folder, removed on drop.
struct Site {
    dir: PathBuf,
}

impl Site {
    fn new(name: &str) -> Site {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        let app = dir.join("app");
        let models = dir.join("models");
        std::fs::create_dir_all(app.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(&models).unwrap();
        let files: [(&Path, &str, &[u8]); 12] = [
            (&app, "index.html", INDEX.as_bytes()),
            (&app, "hearth_bg.wasm", WASM),
            (&app, "app.js", b"export {};\n"),
            (&app, "worker.mjs", b"export {};\n"),
            (&app, "style.css", b"p{}\n"),
            (&app, "data.json", b"{}\n"),
            (&app, "manifest.webmanifest", b"{}\n"),
            (
                &app,
                "icon.svg",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
            ),
            (&app, "icon.png", b"\x89PNG\r\n\x1a\n"),
            (&app, "hearth.d.ts", b"export {};\n"),
            (&app, "sub/deeper/index.html", b"<p>deeper</p>\n"),
            (&dir, "secret.txt", b"secret\n"),
        ];
        for (folder, name, bytes) in files {
            std::fs::write(folder.join(name), bytes).unwrap();
        }
        std::fs::write(models.join("model.gguf"), pseudo_random(BIG)).unwrap();
        std::fs::write(models.join("empty.bin"), b"").unwrap();
        std::fs::write(models.join("blob.xyz"), b"?").unwrap();
        #[cfg(unix)]
        {
            // a link out of the root, and one that stays inside it
            std::os::unix::fs::symlink(dir.join("secret.txt"), models.join("escape.txt")).unwrap();
            std::os::unix::fs::symlink(models.join("blob.xyz"), models.join("inside.xyz")).unwrap();
        }
        Site { dir }
    }

    fn app(&self) -> PathBuf {
        self.dir.join("app")
    }

    fn models(&self) -> PathBuf {
        self.dir.join("models")
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `hearth serve`, killed on drop.
struct Server {
    child: Child,
    port: u16,
    /// The line printed on start.
    line: String,
    /// What it wrote on stderr so far.
    stderr: Arc<Mutex<String>>,
    /// Kept open so that the server's stdout stays writable.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Server {
    fn start(site: &Site, extra: &[&str]) -> Server {
        Server::start_with(&site.app(), &site.models(), extra)
    }

    fn start_with(app: &Path, models: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("serve")
            .args(["--port", "0", "--app"])
            .arg(app)
            .arg("--models")
            .arg(models)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hearth serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the start line");
        let mut server = Server {
            child,
            port: 0,
            line,
            stderr,
            _stdout: stdout,
        };
        let rest = server
            .line
            .strip_prefix("hearth serve: http://127.0.0.1:")
            .unwrap_or_else(|| panic!("start line {:?}", server.line));
        server.port = rest[..rest.find('/').unwrap()].parse().unwrap();
        assert_ne!(server.port, 0);
        server
    }

    /// Sends `raw` bytes as they are and reads the response to the end.
    fn raw(&self, raw: &[u8]) -> Response {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        // the server may answer and close before taking every byte of an oversized request
        let _ = stream.write_all(raw);
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        Response::parse(&bytes)
    }

    /// A request with `method`, `path` and extra `headers`.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("\r\n");
        self.raw(raw.as_bytes())
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let r = self.request("GET", path, headers);
        if r.status != 304 {
            assert_eq!(
                r.header("content-length")
                    .map(|l| l.parse::<usize>().unwrap()),
                Some(r.body.len()),
                "Content-Length of GET {path}"
            );
        }
        r
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn parse(bytes: &[u8]) -> Response {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(bytes)));
        let head = std::str::from_utf8(&bytes[..end]).expect("ASCII head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
        let status = parts.next().unwrap().parse().unwrap();
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(": ").expect("header line");
                (name.to_ascii_lowercase(), value.to_owned())
            })
            .collect();
        Response {
            status,
            headers,
            body: bytes[end + 4..].to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let first = values.next().map(|(_, v)| v.as_str());
        assert!(values.next().is_none(), "{name} twice");
        first
    }
}

#[test]
fn start_line_and_whole_files() {
    let site = Site::new("whole");
    let server = Server::start(&site, &[]);
    assert_eq!(
        server.line,
        format!(
            "hearth serve: http://127.0.0.1:{}/ (app {}, models {})\n",
            server.port,
            site.app().display(),
            site.models().display()
        )
    );

    let r = server.get("/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, INDEX.as_bytes());
    assert_eq!(server.get("/index.html", &[]).body, INDEX.as_bytes());
    assert_eq!(server.get("/sub/deeper/", &[]).body, b"<p>deeper</p>\n");
    assert_eq!(server.get("/sub/deeper", &[]).body, b"<p>deeper</p>\n");
    assert_eq!(server.get("/hearth_bg.wasm?v=3#x", &[]).body, WASM);

    let model = pseudo_random(BIG);
    let r = server.get("/models/model.gguf", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert!(r.header("content-range").is_none());
    assert!(r.body == model, "the model's bytes");
    let r = server.get("/models/empty.bin", &[]);
    assert_eq!((r.status, r.body.len()), (200, 0));
    // a link that stays inside the root is followed
    assert_eq!(server.get("/models/inside.xyz", &[]).body, b"?");

    let head = server.request("HEAD", "/models/model.gguf", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(BIG.to_string().as_str())
    );
    assert_eq!(
        head.header("etag"),
        r_etag(&server, "/models/model.gguf").as_deref()
    );
    assert!(head.body.is_empty());
    assert_eq!(server.request("HEAD", "/nope", &[]).status, 404);
    assert!(server.request("HEAD", "/nope", &[]).body.is_empty());

    for path in ["/nope", "/models/nope.gguf", "/models/", "/models", "/sub/"] {
        assert_eq!(server.get(path, &[]).status, 404, "{path}");
    }
    let r = server.request("POST", "/", &[]);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    // a CORS preflight for a cross-origin range request
    let r = server.request(
        "OPTIONS",
        "/models/m.gguf",
        &[
            ("Origin", "http://127.0.0.1:1"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "range, if-range"),
        ],
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-methods"), Some("GET, HEAD"));
    let allowed = r.header("access-control-allow-headers").unwrap_or("");
    assert!(
        allowed.contains("Range") && allowed.contains("If-Range"),
        "{allowed}"
    );
    assert!(r.body.is_empty());
}

fn r_etag(server: &Server, path: &str) -> Option<String> {
    server.get(path, &[]).header("etag").map(str::to_owned)
}

#[test]
fn ranges() {
    let site = Site::new("ranges");
    let server = Server::start(&site, &[]);
    let model = pseudo_random(BIG);
    let size = BIG as u64;
    let cases: [(&str, u64, u64); 7] = [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=1000000-2048575", 1_000_000, 2_048_575),
        ("bytes=3000000-", 3_000_000, size - 1),
        ("bytes=-4321", size - 4321, size - 1),
        ("bytes=-999999999", 0, size - 1),
        ("bytes=100-99999999999999999999999", 100, size - 1),
    ];
    for (range, start, end) in cases {
        let r = server.get("/models/model.gguf", &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {start}-{end}/{size}").as_str()),
            "{range}"
        );
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        assert!(
            r.body == model[start as usize..=end as usize],
            "bytes of {range}"
        );
    }
    // HEAD of a range: the same head, no body
    let r = server.request("HEAD", "/models/model.gguf", &[("Range", "bytes=10-19")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-length"), Some("10"));
    assert!(r.body.is_empty());

    let unsatisfiable = [
        format!("bytes={size}-"),
        format!("bytes={size}-{}", size + 10),
        "bytes=-0".to_owned(),
    ];
    for range in &unsatisfiable {
        let r = server.get("/models/model.gguf", &[("Range", range)]);
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes */{size}").as_str())
        );
        assert!(r.body.is_empty());
    }
    let r = server.get("/models/empty.bin", &[("Range", "bytes=0-")]);
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */0"));

    // malformed, other units and several ranges: the whole file (documented choice)
    for range in [
        "bytes=5-1",
        "bytes=x-",
        "lines=0-1",
        "bytes=0-1,10-20",
        "bytes",
    ] {
        let r = server.get("/models/model.gguf", &[("Range", range)]);
        assert_eq!(r.status, 200, "{range}");
        assert_eq!(r.body.len(), BIG, "{range}");
    }
    // app files take ranges too
    let r = server.get("/index.html", &[("Range", "bytes=0-8")]);
    assert_eq!((r.status, r.body.as_slice()), (206, &INDEX.as_bytes()[..9]));
}

#[test]
fn etags_and_conditional_requests() {
    let site = Site::new("etags");
    let server = Server::start(&site, &[]);
    let r = server.get("/models/model.gguf", &[]);
    let etag = r.header("etag").unwrap().to_owned();
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{etag}"
    );
    assert!(!etag.starts_with("W/"));
    let last_modified = r.header("last-modified").unwrap().to_owned();
    assert!(last_modified.ends_with(" GMT"), "{last_modified}");
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    // the same file, the same tag; another file, another tag
    assert_eq!(r_etag(&server, "/models/model.gguf").unwrap(), etag);
    assert_ne!(r_etag(&server, "/index.html").unwrap(), etag);

    for tags in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_owned(),
    ] {
        let r = server.get("/models/model.gguf", &[("If-None-Match", &tags)]);
        assert_eq!(r.status, 304, "{tags}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
    }
    let r = server.get("/models/model.gguf", &[("If-None-Match", "\"other\"")]);
    assert_eq!((r.status, r.body.len()), (200, BIG));

    // If-Range: the range holds only for the current version
    let range = ("Range", "bytes=10-19");
    let r = server.get("/models/model.gguf", &[range, ("If-Range", &etag)]);
    assert_eq!((r.status, r.body.len()), (206, 10));
    let r = server.get("/models/model.gguf", &[range, ("If-Range", &last_modified)]);
    assert_eq!((r.status, r.body.len()), (206, 10));
    for stale in [
        "\"stale\"",
        &format!("W/{etag}"),
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ] {
        let r = server.get("/models/model.gguf", &[range, ("If-Range", stale)]);
        assert_eq!((r.status, r.body.len()), (200, BIG), "{stale}");
        assert!(r.header("content-range").is_none());
    }

    // a changed file gets a new tag
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(site.models().join("model.gguf"), b"new").unwrap();
    let r = server.get("/models/model.gguf", &[("If-None-Match", &etag)]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"new"[..]));
    assert_ne!(r.header("etag"), Some(etag.as_str()));
}

#[test]
fn mime_types_and_security_headers() {
    let site = Site::new("mime");
    let server = Server::start(&site, &["--connect-src", "https://huggingface.co"]);
    let expected = [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript"),
        ("/worker.mjs", "text/javascript"),
        ("/hearth_bg.wasm", "application/wasm"),
        ("/style.css", "text/css"),
        ("/data.json", "application/json"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/icon.svg", "image/svg+xml"),
        ("/icon.png", "image/png"),
        ("/hearth.d.ts", "text/plain; charset=utf-8"),
        ("/models/model.gguf", "application/octet-stream"),
        ("/models/blob.xyz", "application/octet-stream"),
    ];
    for (path, mime) in expected {
        let r = server.get(path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(mime), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(r.header("connection"), Some("close"), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        let csp = r.header("content-security-policy");
        if mime.starts_with("text/html") || mime.starts_with("text/javascript") {
            assert_eq!(
                csp,
                Some(
                    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                     style-src 'self'; img-src 'self' data:; \
                     connect-src 'self' https://huggingface.co; worker-src 'self' blob:; \
                     object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
                ),
                "{path}"
            );
        } else {
            assert_eq!(csp, None, "{path}");
        }
    }
    // error responses too
    let r = server.get("/nope", &[]);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));

    // the default CSP, and an option that would break out of the header
    let plain = Server::start(&site, &[]);
    let csp = plain
        .get("/", &[])
        .header("content-security-policy")
        .unwrap()
        .to_owned();
    assert!(csp.contains("; connect-src 'self'; "), "{csp}");
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args([
            "serve",
            "--port",
            "0",
            "--connect-src",
            "https://a.b; script-src *",
        ])
        .arg("--models")
        .arg(site.models())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: --connect-src"), "{err}");
}

#[test]
fn traversal_is_rejected() {
    let site = Site::new("traversal");
    let server = Server::start(&site, &[]);
    let attempts = [
        "/../secret.txt",
        "/models/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/models/%2e%2e/%2e%2e/secret.txt",
        "/models/..%2f..%2fsecret.txt",
        "/models/..%5c..%5csecret.txt",
        "/models\\..\\..\\secret.txt",
        "/index.html%00.png",
        "/./index.html",
        "/%zz",
        "//secret.txt",
        "/models/escape.txt",
        "http://127.0.0.1/../secret.txt",
        "secret.txt",
        "*",
    ];
    for path in attempts {
        let r = server.request("GET", path, &[]);
        assert!(r.status == 400 || r.status == 404, "{path}: {}", r.status);
        assert!(!r.body.starts_with(b"secret"), "{path}");
    }
    // and absolute paths of the system name nothing under the roots
    let abs = site.dir.join("secret.txt");
    let r = server.request("GET", &format!("/{}", abs.display()), &[]);
    assert_eq!(r.status, 404);
}

#[test]
fn bad_requests_do_not_stop_the_server() {
    let site = Site::new("garbage");
    let server = Server::start(&site, &[]);
    let cases: [(&[u8], u16); 9] = [
        (b"GARBAGE\r\n\r\n", 400),
        (b"\xff\xfe\x00\x01\r\n\r\n", 400),
        (b"GET /\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400), // no Host
        (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"GET / HTTP/1.0\r\n\r\n", 200),
        (b"GET / HTTP/1.1\nHost: a\n\n", 200),
    ];
    for (raw, status) in cases {
        let r = server.raw(raw);
        assert_eq!(r.status, status, "{:?}", String::from_utf8_lossy(raw));
    }
    // an oversized head and too many headers
    let long = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "a".repeat(40_000)
    );
    assert_eq!(server.raw(long.as_bytes()).status, 431);
    let many = format!(
        "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
        "X: y\r\n".repeat(200)
    );
    assert_eq!(server.raw(many.as_bytes()).status, 431);

    // clients that go away: before a head, mid-head, mid-body
    drop(TcpStream::connect(("127.0.0.1", server.port)).unwrap());
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(b"GET /models/mod").unwrap();
    drop(s);
    for _ in 0..4 {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.write_all(b"GET /models/model.gguf HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let mut some = [0u8; 1000];
        s.read_exact(&mut some).unwrap();
        drop(s);
    }
    let r = server.get("/models/model.gguf", &[("Range", "bytes=5-9")]);
    assert_eq!(r.body, pseudo_random(10)[5..]);
    assert!(
        !server.stderr.lock().unwrap().contains("panicked"),
        "{}",
        server.stderr.lock().unwrap()
    );
}

#[test]
fn no_range_option() {
    let site = Site::new("norange");
    let server = Server::start(&site, &["--no-range"]);
    let r = server.get("/models/model.gguf", &[("Range", "bytes=0-99")]);
    assert_eq!((r.status, r.body.len()), (200, BIG));
    assert!(r.header("accept-ranges").is_none());
    assert!(r.header("content-range").is_none());
    let r = server.get("/models/model.gguf", &[("Range", "bytes=-0")]);
    assert_eq!(r.status, 200);
    assert!(server.get("/", &[]).header("accept-ranges").is_none());
}

#[test]
fn parallel_ranges() {
    let site = Site::new("parallel");
    let server = Arc::new(Server::start(&site, &[]));
    let model = Arc::new(pseudo_random(BIG));
    let chunk = 256 * 1024 + 17;
    let next = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (server, model, next) = (server.clone(), model.clone(), next.clone());
            std::thread::spawn(move || {
                loop {
                    let start = next.fetch_add(1, Ordering::SeqCst) * chunk;
                    if start >= BIG {
                        break;
                    }
                    let end = (start + chunk).min(BIG) - 1;
                    let range = format!("bytes={start}-{end}");
                    let r = server.get("/models/model.gguf", &[("Range", &range)]);
                    assert_eq!(r.status, 206);
                    let expected = format!("bytes {start}-{end}/{BIG}");
                    assert_eq!(r.header("content-range"), Some(expected.as_str()));
                    assert!(r.body == model[start..=end], "{range}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn missing_app_serves_models() {
    let site = Site::new("noapp");
    let server = Server::start_with(&site.dir.join("no-such-app"), &site.models(), &[]);
    assert_eq!(server.get("/", &[]).status, 404);
    assert_eq!(server.get("/models/blob.xyz", &[]).body, b"?");
    let t0 = Instant::now();
    let stderr = loop {
        let stderr = server.stderr.lock().unwrap().clone();
        if stderr.contains("no app at") || t0.elapsed() > Duration::from_secs(5) {
            break stderr;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(stderr.contains("no app at"), "{stderr}");

    // a missing models folder is an error
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--port", "0", "--models"])
        .arg(site.dir.join("no-such-models"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: models folder"), "{err}");
}

#[test]
fn throttle_limits_model_bodies() {
    let site = Site::new("throttle");
    let server = Server::start(&site, &["--throttle", "200000"]);
    let t0 = Instant::now();
    let r = server.get("/models/model.gguf", &[("Range", "bytes=0-99999")]);
    let took = t0.elapsed();
    assert_eq!(r.body, pseudo_random(100_000));
    assert!(took >= Duration::from_millis(400), "{took:?}");
    // app files are not throttled
    let t0 = Instant::now();
    server.get("/index.html", &[]);
    assert!(t0.elapsed() < Duration::from_millis(400));
}
