//! gw's built-in upstream: answers every request with the request it got, as
//! JSON, so a user sees what the filters in front of it did (headers added,
//! removed, rewritten). In-process: it goes when gw goes.

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
    /// Which service's upstream answered.
    service: &'a str,
    method: String,
    path: String,
    /// In the order received; repeated names repeat.
    headers: Vec<(String, String)>,
    body: String,
}

impl Echo {
    /// Listens on a free loopback port.
    pub fn start(service: &str) -> std::io::Result<Echo> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(std::io::Error::other)?;
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let service = service.to_string();
        let thread = std::thread::Builder::new().name(format!("gw-echo-{service}")).spawn(move || {
            for request in serving.incoming_requests() {
                answer(&service, request);
            }
        })?;
        Ok(Echo { server, port, thread: Some(thread) })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

fn answer(service: &str, mut request: tiny_http::Request) {
    let mut body = Vec::new();
    let _ = request.as_reader().take(1 << 20).read_to_end(&mut body);
    let echoed = Echoed {
        service,
        method: request.method().to_string(),
        path: request.url().to_string(),
        headers: request.headers().iter().map(|h| (h.field.to_string(), h.value.to_string())).collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let mut json = serde_json::to_vec_pretty(&echoed).unwrap_or_default();
    json.push(b'\n');
    let content_type = tiny_http::Header::from_bytes("content-type", "application/json").expect("a valid header");
    let _ = request.respond(tiny_http::Response::from_data(json).with_header(content_type));
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
        let echo = Echo::start("users").unwrap();
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
}
