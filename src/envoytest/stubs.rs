//! The servers behind the Envoy under test, on loopback: the upstream (HTTP, answering with the
//! case's `response`, or TCP, sending the case's `upstream` chunks) and one server per cluster
//! the scenario's `http_calls` name, answering as the scenario says. Each records what reached
//! it during the current case.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::wire::{self, Message};
use crate::wasmhost::HttpCallRecord;
use crate::wasmhost::scenario::{HttpCallSpec, MessageSpec};

/// How long a stub waits on a silent connection before it lets it go.
const IDLE: Duration = Duration::from_secs(30);

/// What one case set up and what reached the stubs during it.
#[derive(Debug, Default)]
struct State {
    response: MessageSpec,
    answers: Vec<HttpCallSpec>,
    requests: Vec<Message>,
    calls: Vec<HttpCallRecord>,
    tcp_received: Vec<u8>,
    tcp_connection: Option<TcpStream>,
}

/// What reached the stubs during one case.
#[derive(Debug, Default)]
pub struct Seen {
    pub requests: Vec<Message>,
    pub calls: Vec<HttpCallRecord>,
    pub tcp_received: Vec<u8>,
}

pub struct Stubs {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accepters: Vec<JoinHandle<()>>,
    pub upstream_port: u16,
    /// (cluster name, port), one per cluster the scenario's http_calls name.
    pub call_ports: Vec<(String, u16)>,
}

#[derive(Clone, Copy)]
pub enum Upstream {
    Http,
    Tcp,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A handler that panicked leaves consistent data behind (plain records).
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Stubs {
    pub fn start(upstream: Upstream, call_clusters: &[String]) -> std::io::Result<Stubs> {
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut accepters = Vec::new();
        let upstream_port = match upstream {
            Upstream::Http => serve(&state, &stop, &mut accepters, http_upstream)?,
            Upstream::Tcp => serve(&state, &stop, &mut accepters, tcp_upstream)?,
        };
        let mut call_ports = Vec::new();
        for cluster in call_clusters {
            let name = cluster.clone();
            let port = serve(&state, &stop, &mut accepters, move |stream, state| call(stream, state, &name))?;
            call_ports.push((cluster.clone(), port));
        }
        Ok(Stubs { state, stop, accepters, upstream_port, call_ports })
    }

    /// Forgets what the last case saw and sets what this one answers.
    pub fn begin_case(&self, response: MessageSpec, answers: Vec<HttpCallSpec>) {
        let mut state = lock(&self.state);
        *state = State { response, answers, tcp_connection: state.tcp_connection.take(), ..State::default() };
    }

    pub fn seen(&self) -> Seen {
        let mut state = lock(&self.state);
        Seen {
            requests: std::mem::take(&mut state.requests),
            calls: std::mem::take(&mut state.calls),
            tcp_received: std::mem::take(&mut state.tcp_received),
        }
    }

    /// How many bytes the TCP upstream has received so far in this case.
    pub fn tcp_received_len(&self) -> usize {
        lock(&self.state).tcp_received.len()
    }

    /// Sends `data` to the client through Envoy from the TCP upstream's current connection;
    /// false when Envoy opened none (the filter closed the connection first).
    pub fn send_upstream(&self, data: &[u8]) -> bool {
        let stream = lock(&self.state).tcp_connection.as_ref().and_then(|s| s.try_clone().ok());
        stream.is_some_and(|mut s| s.write_all(data).is_ok())
    }

    /// Whether Envoy has opened a connection to the TCP upstream in this case.
    pub fn has_tcp_connection(&self) -> bool {
        lock(&self.state).tcp_connection.is_some()
    }

    /// Closes the TCP upstream's connection at the end of a case.
    pub fn close_tcp(&self) {
        if let Some(stream) = lock(&self.state).tcp_connection.take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Stubs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for accepter in self.accepters.drain(..) {
            let _ = accepter.join();
        }
    }
}

/// Accepts on a fresh loopback port until stopped, one thread per connection.
fn serve<F>(
    state: &Arc<Mutex<State>>,
    stop: &Arc<AtomicBool>,
    accepters: &mut Vec<JoinHandle<()>>,
    handle: F,
) -> std::io::Result<u16>
where
    F: Fn(TcpStream, &Mutex<State>) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let (state, stop) = (Arc::clone(state), Arc::clone(stop));
    let handle = Arc::new(handle);
    accepters.push(thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(IDLE));
                    let (state, handle) = (Arc::clone(&state), Arc::clone(&handle));
                    thread::spawn(move || handle(stream, &state));
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
    }));
    Ok(port)
}

/// `:status` and the other fields of a scenario message, apart.
fn status_and_headers(spec: &MessageSpec) -> (String, Vec<(String, String)>) {
    let status = spec.headers.0.iter().find(|(k, _)| k == ":status").map(|(_, v)| v.clone());
    let headers = spec.headers.0.iter().filter(|(k, _)| !k.starts_with(':')).cloned().collect();
    (status.unwrap_or_else(|| "200".into()), headers)
}

fn respond(stream: &mut TcpStream, spec: &MessageSpec) -> std::io::Result<()> {
    let (status, headers) = status_and_headers(spec);
    wire::write_message(stream, &format!("HTTP/1.1 {status} gw"), &headers, &spec.body.0, &spec.trailers.0, true)
}

fn http_upstream(stream: TcpStream, state: &Mutex<State>) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = wire::read_request(&mut reader) {
        let response = {
            let mut state = lock(state);
            state.requests.push(request);
            state.response.clone()
        };
        if respond(&mut writer, &response).is_err() {
            return;
        }
    }
}

fn tcp_upstream(stream: TcpStream, state: &Mutex<State>) {
    let Ok(mut reader) = stream.try_clone() else { return };
    lock(state).tcp_connection = Some(stream);
    let mut buf = [0u8; 16 << 10];
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            return;
        }
        lock(state).tcp_received.extend_from_slice(&buf[..n]);
    }
}

/// One cluster of the scenario's http_calls: answers the first matching declaration, or
/// resets the call (a failure, as Envoy reports a timeout or reset) when it says `fail` or
/// none matches.
fn call(stream: TcpStream, state: &Mutex<State>, cluster: &str) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = wire::read_request(&mut reader) {
        let mut headers =
            vec![(":method".to_string(), request.method.clone()), (":path".to_string(), request.path.clone())];
        if let Some(host) = request.header("host") {
            headers.push((":authority".into(), host.to_string()));
        }
        headers.extend(request.headers.iter().filter(|(k, _)| k != "host").cloned());
        let spec = {
            let state = lock(state);
            state.answers.iter().find(|s| s.matches(cluster, Some(&request.path), Some(&request.method))).cloned()
        };
        let answer = spec.as_ref().filter(|s| !s.fail).map(|s| s.response.clone().unwrap_or_default());
        lock(state).calls.push(HttpCallRecord {
            cluster: cluster.to_string(),
            headers,
            body: request.body,
            trailers: request.trailers,
            timeout_ms: 0,
            answered_status: answer.as_ref().map(|a| status_and_headers(a).0),
            unmatched: spec.is_none(),
        });
        match answer {
            Some(answer) if respond(&mut writer, &answer).is_ok() => {}
            _ => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}
