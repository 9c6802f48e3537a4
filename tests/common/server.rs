//! A tiny HTTP/1.1 file server for integration tests (plain std::net, a thread
//! per connection, every response `Connection: close`).
//!
//! ```ignore
//! let server = TestServer::start();
//! server.route("/envoy.tar.xz", Reply::bytes(200, tarball).throttle(4096, Duration::from_millis(20)));
//! let url = server.url("/envoy.tar.xz");
//! assert_eq!(server.hits("/envoy.tar.xz"), 1);
//! ```
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the server answers for one route.
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    body: Arc<[u8]>,
    headers: Vec<(String, String)>,
    truncate_at: Option<usize>,
    throttle: Option<(usize, Duration)>,
    shape: Shape,
}

/// How a reply misbehaves beyond its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Normal,
    /// Reads the request, then sends nothing for `Duration` and closes.
    Silent(Duration),
    /// Sends headers and the first `n` body bytes, then nothing for `Duration`.
    Stall(usize, Duration),
    /// No Content-Length; the body repeats until the client goes away.
    Endless,
}

impl Reply {
    /// `status` with `body` (Content-Type: application/octet-stream).
    pub fn bytes(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            body: body.into().into(),
            headers: Vec::new(),
            truncate_at: None,
            throttle: None,
            shape: Shape::Normal,
        }
    }

    /// 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::bytes(200, body)
    }

    /// `code` with a short text body such as `404 Not Found\n`.
    pub fn status(code: u16) -> Reply {
        Reply::bytes(code, format!("{code} {}\n", reason(code))).header("Content-Type", "text/plain")
    }

    /// A 302 redirect to `location` (an absolute URL or a path).
    pub fn redirect(location: &str) -> Reply {
        Reply::status(302).header("Location", location)
    }

    /// Adds a response header (Content-Length and Connection are always sent).
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Announces the full Content-Length but sends only the first `n` body
    /// bytes, then closes the connection.
    pub fn truncate_at(mut self, n: usize) -> Reply {
        self.truncate_at = Some(n);
        self
    }

    /// Writes the body `chunk_size` bytes at a time, sleeping `delay` after
    /// each chunk (for kill-mid-download tests).
    pub fn throttle(mut self, chunk_size: usize, delay: Duration) -> Reply {
        self.throttle = Some((chunk_size.max(1), delay));
        self
    }

    /// Never answers: reads the request, waits `for_` (or until the server stops), closes.
    pub fn silent(for_: Duration) -> Reply {
        Reply { shape: Shape::Silent(for_), ..Reply::ok(Vec::new()) }
    }

    /// Sends the headers and the first `n` bytes of the body, then nothing for `for_`.
    pub fn stall_after(mut self, n: usize, for_: Duration) -> Reply {
        self.shape = Shape::Stall(n, for_);
        self
    }

    /// Sends the body over and over without a Content-Length, until the client hangs up.
    pub fn endless(mut self) -> Reply {
        self.shape = Shape::Endless;
        self
    }

    /// The full body this reply represents.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    /// Replies sent instead of a route's to requests without an Authorization header.
    challenges: Mutex<HashMap<String, Reply>>,
    hits: Mutex<HashMap<String, usize>>,
    bytes_sent: Mutex<HashMap<String, u64>>,
    /// Every request as (method, path, headers), in arrival order.
    requests: Mutex<Vec<Request>>,
    stop: AtomicBool,
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The full request target, query string included.
    pub target: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, as long as its Content-Length said.
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl TestServer {
    /// Binds 127.0.0.1:0 and starts serving in a background thread.
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let sh = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if sh.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let sh = Arc::clone(&sh);
                    thread::spawn(move || handle(stream, &sh));
                }
            }
        });
        TestServer { addr, shared }
    }

    /// Registers (or replaces) the reply for `path` (matched without query string).
    pub fn route(&self, path: &str, reply: Reply) {
        self.shared.routes.lock().unwrap().insert(normalize(path), reply);
    }

    /// Like [`TestServer::route`], but a request without an Authorization header gets `challenge`.
    pub fn route_guarded(&self, path: &str, challenge: Reply, reply: Reply) {
        self.shared.challenges.lock().unwrap().insert(normalize(path), challenge);
        self.route(path, reply);
    }

    /// Removes a route; later requests for it get 404.
    pub fn unroute(&self, path: &str) {
        self.shared.routes.lock().unwrap().remove(&normalize(path));
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, normalize(path))
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Number of requests received for `path` (any method, any query string).
    pub fn hits(&self, path: &str) -> usize {
        self.shared.hits.lock().unwrap().get(&normalize(path)).copied().unwrap_or(0)
    }

    /// Number of requests received for all paths, including 404s.
    pub fn total_hits(&self) -> usize {
        self.shared.hits.lock().unwrap().values().sum()
    }

    /// Body bytes actually written for `path` so far, over all requests.
    pub fn bytes_sent(&self, path: &str) -> u64 {
        self.shared.bytes_sent.lock().unwrap().get(&normalize(path)).copied().unwrap_or(0)
    }

    /// All requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn normalize(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    if path.starts_with('/') { path.to_string() } else { format!("/{path}") }
}

fn handle(stream: TcpStream, sh: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.trim().is_empty() => break,
            Ok(_) => {
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let mut target = parts.next().unwrap_or("/").to_string();
    // Absolute-form targets (as sent to proxies): keep only the path.
    if let Some(rest) = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")) {
        target = rest.find('/').map_or("/".to_string(), |i| rest[i..].to_string());
    }
    let path = normalize(&target);
    let length = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok());
    let mut body = vec![0; length.unwrap_or(0)];
    if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
        body.clear();
    }
    *sh.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let authorized = headers.iter().any(|(k, _)| k == "authorization");
    sh.requests.lock().unwrap().push(Request { method: method.clone(), path: path.clone(), target, headers, body });

    let challenge = if authorized { None } else { sh.challenges.lock().unwrap().get(&path).cloned() };
    let reply =
        challenge.or_else(|| sh.routes.lock().unwrap().get(&path).cloned()).unwrap_or_else(|| Reply::status(404));
    let mut out = stream;
    let wait = |duration: Duration| {
        let until = std::time::Instant::now() + duration;
        while std::time::Instant::now() < until && !sh.stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(20));
        }
    };
    if let Shape::Silent(duration) = reply.shape {
        wait(duration);
        return;
    }
    if reply.shape == Shape::Endless {
        let head = format!("HTTP/1.1 {} {}\r\nConnection: close\r\n\r\n", reply.status, reason(reply.status));
        let piece = if reply.body.is_empty() { Arc::from(vec![0u8; 64 * 1024]) } else { Arc::clone(&reply.body) };
        if out.write_all(head.as_bytes()).is_err() {
            return;
        }
        while !sh.stop.load(Ordering::SeqCst) && out.write_all(&piece).is_ok() {
            *sh.bytes_sent.lock().unwrap().entry(path.clone()).or_default() += piece.len() as u64;
        }
        return;
    }
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    if !reply.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        head.push_str("Content-Type: application/octet-stream\r\n");
    }
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if out.write_all(head.as_bytes()).is_err() {
        return;
    }
    if let Shape::Stall(n, duration) = reply.shape {
        let _ = out.write_all(&reply.body[..n.min(reply.body.len())]);
        let _ = out.flush();
        wait(duration);
        return;
    }
    if method != "HEAD" {
        let limit = reply.truncate_at.unwrap_or(usize::MAX).min(reply.body.len());
        let body = &reply.body[..limit];
        let (chunk, delay) = reply.throttle.unwrap_or((64 * 1024, Duration::ZERO));
        for piece in body.chunks(chunk) {
            if sh.stop.load(Ordering::SeqCst) || out.write_all(piece).is_err() {
                break;
            }
            let _ = out.flush();
            *sh.bytes_sent.lock().unwrap().entry(path.clone()).or_default() += piece.len() as u64;
            if !delay.is_zero() {
                thread::sleep(delay);
            }
        }
    }
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Write);
    // Give the client a moment to read before the socket is fully closed, so
    // that unread request bytes do not turn the close into a reset.
    let mut sink = [0u8; 512];
    let _ = reader.get_ref().set_read_timeout(Some(Duration::from_millis(200)));
    while let Ok(n) = std::io::Read::read(&mut reader, &mut sink) {
        if n == 0 {
            break;
        }
    }
}
