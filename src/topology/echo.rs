//! gw's built-in upstream: answers every request with the request it got, as
//! JSON, so a user sees what the filters in front of it did (headers added,
//! removed, rewritten), and which endpoint of which service answered. A request
//! can ask for a fault: `x-echo-status: 503` answers with that status,
//! `x-echo-delay-ms: 200` answers that much later (at most 10 s),
//! `x-echo-fail-endpoint: 2` makes endpoint 2 alone answer 503, and
//! `x-echo-fail-first: 3` makes an endpoint answer 503 to the first 3 requests
//! that carry it (with `x-echo-fail-endpoint`, that endpoint's alone). In-process:
//! it goes when gw goes.

use std::io::Read;
use std::sync::Arc;
use std::thread::JoinHandle;

use serde::Serialize;

/// A running echo server; dropping it stops it.
pub struct Echo {
    server: Arc<tiny_http::Server>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Serialize)]
struct Echoed<'a> {
    /// Which service's upstream answered, and which of its endpoints (from 1).
    service: &'a str,
    endpoint: usize,
    method: String,
    path: String,
    /// In the order received; repeated names repeat.
    headers: Vec<(String, String)>,
    body: String,
}

impl Echo {
    /// Listens on a free loopback port as endpoint `endpoint` (from 1) of `service`.
    pub fn start(service: &str, endpoint: usize) -> std::io::Result<Echo> {
        Echo::on(std::net::TcpListener::bind("127.0.0.1:0")?, service, endpoint)
    }

    /// Serves on a listener already bound (in another network namespace, say).
    pub fn on(listener: std::net::TcpListener, service: &str, endpoint: usize) -> std::io::Result<Echo> {
        let server = tiny_http::Server::from_listener(listener, None).map_err(std::io::Error::other)?;
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let service = service.to_string();
        let thread = std::thread::Builder::new().name(format!("gw-echo-{service}")).spawn(move || {
            // Requests that asked for `x-echo-fail-first` so far (one thread serves them all).
            let mut fail_first_seen = 0;
            for request in serving.incoming_requests() {
                answer(&service, endpoint, &mut fail_first_seen, request);
            }
        })?;
        Ok(Echo { server, port, thread: Some(thread) })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// The longest `x-echo-delay-ms` honoured.
const MAX_DELAY_MS: u64 = 10_000;

fn answer(service: &str, endpoint: usize, fail_first_seen: &mut u64, mut request: tiny_http::Request) {
    let mut body = Vec::new();
    let _ = request.as_reader().take(1 << 20).read_to_end(&mut body);
    let asked = |name: &'static str| {
        request.headers().iter().find(|h| h.field.equiv(name)).and_then(|h| h.value.as_str().trim().parse::<u64>().ok())
    };
    let target = asked("x-echo-fail-endpoint");
    let failing = match asked("x-echo-fail-first") {
        Some(n) if target.is_none_or(|t| t == endpoint as u64) => {
            *fail_first_seen += 1;
            *fail_first_seen <= n
        }
        Some(_) => false,
        None => target == Some(endpoint as u64),
    };
    let status =
        if failing { 503 } else { asked("x-echo-status").filter(|s| (200..600).contains(s)).unwrap_or(200) as u16 };
    if let Some(delay) = asked("x-echo-delay-ms") {
        std::thread::sleep(std::time::Duration::from_millis(delay.min(MAX_DELAY_MS)));
    }
    let echoed = Echoed {
        service,
        endpoint,
        method: request.method().to_string(),
        path: request.url().to_string(),
        headers: request.headers().iter().map(|h| (h.field.to_string(), h.value.to_string())).collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let mut json = serde_json::to_vec_pretty(&echoed).unwrap_or_default();
    json.push(b'\n');
    let content_type = tiny_http::Header::from_bytes("content-type", "application/json").expect("a valid header");
    let response = tiny_http::Response::from_data(json).with_header(content_type).with_status_code(status);
    let _ = request.respond(response);
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_the_request_as_json() {
        let echo = Echo::start("users", 1).unwrap();
        let client = reqwest::blocking::Client::new();
        let response = client
            .post(format!("http://127.0.0.1:{}/a/b?c=1", echo.port()))
            .header("x-auth-user", "admin")
            .body("hello")
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = response.json().unwrap();
        assert_eq!(json["service"], "users");
        assert_eq!(json["method"], "POST");
        assert_eq!(json["path"], "/a/b?c=1");
        assert_eq!(json["body"], "hello");
        let headers = json["headers"].as_array().unwrap();
        assert!(headers.iter().any(|h| h[0].as_str().unwrap().eq_ignore_ascii_case("x-auth-user") && h[1] == "admin"));
    }

    #[test]
    fn the_first_requests_asking_for_it_fail_on_the_endpoint_named() {
        let (first, second) = (Echo::start("api", 1).unwrap(), Echo::start("api", 2).unwrap());
        let client = reqwest::blocking::Client::new();
        let status = |echo: &Echo, headers: &[(&str, &str)]| {
            let mut request = client.get(format!("http://127.0.0.1:{}/", echo.port()));
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send().unwrap().status().as_u16()
        };
        let fail_two = [("x-echo-fail-first", "2")];
        assert_eq!(status(&first, &[]), 200, "only requests that ask count");
        let statuses: Vec<u16> = (0..3).map(|_| status(&first, &fail_two)).collect();
        assert_eq!(statuses, [503, 503, 200]);
        let on_first = [("x-echo-fail-first", "1"), ("x-echo-fail-endpoint", "1")];
        assert_eq!(status(&second, &on_first), 200, "another endpoint's fault");
        assert_eq!(status(&second, &[("x-echo-fail-endpoint", "2")]), 503);
    }
}
