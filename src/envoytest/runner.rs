//! Runs one scenario file through a real Envoy: the stubs, the bootstrap, Envoy started and
//! judged ready, each case sent as a real request (or connection) and checked with the same
//! comparison as gw's host, on what Envoy's client, upstream, stats and log show.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use super::observe;
use super::plan::{self, Placement};
use super::stubs::{Stubs, Upstream};
use super::wire::{self, Message};
use super::{Error, Judge, bootstrap};
use crate::envoy::{self, Admin, Launch, Process};
use crate::wasmhost::scenario::{Case, ConnectionSpec, MessageSpec, Scenario};
use crate::wasmhost::{self, CaseReport, FileReport, LocalResponse, Observed, Verdict};

/// How long Envoy may take to be ready, a request to be answered, and a case to settle.
const READY: Duration = Duration::from_secs(20);
const ANSWER: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_secs(5);
/// A connection is quiet when nothing moved for this long.
const QUIET: Duration = Duration::from_millis(100);
/// Envoy's log is complete for a case when it has not grown for this long after the case's end.
const LOG_QUIET: Duration = Duration::from_millis(3);

pub fn run_file(judge: &Judge, wasm: &Path, file: &Path) -> FileReport {
    let started = Instant::now();
    let scenario = match Scenario::load(file) {
        Ok(scenario) => scenario,
        Err(error) => return FileReport::from_error(file.to_path_buf(), &error),
    };
    let cases = match run_scenario(judge, wasm, &scenario) {
        Ok(cases) => cases,
        Err(error) => vec![failed("Envoy", vec![error.to_string()])],
    };
    FileReport { file: file.to_path_buf(), cases, duration: started.elapsed() }
}

fn failed(name: &str, lines: Vec<String>) -> CaseReport {
    report(name, Verdict::Failed(lines), Duration::ZERO, Observed::default(), Vec::new())
}

fn report(name: &str, outcome: Verdict, duration: Duration, observed: Observed, notes: Vec<String>) -> CaseReport {
    CaseReport { name: name.to_string(), outcome, duration, observed, notes }
}

fn run_scenario(judge: &Judge, wasm: &Path, scenario: &Scenario) -> Result<Vec<CaseReport>, Error> {
    let mut reports = Vec::new();
    if let Some(reason) = plan::file_skip(scenario) {
        if scenario.expect_start_failure {
            reports.push(report(
                "plugin start",
                Verdict::Skipped(reason.clone()),
                Duration::ZERO,
                Observed::default(),
                vec![],
            ));
        }
        for case in &scenario.cases {
            reports.push(report(
                &case.name,
                Verdict::Skipped(reason.clone()),
                Duration::ZERO,
                Observed::default(),
                vec![],
            ));
        }
        return Ok(reports);
    }
    let placement = plan::placement(scenario);
    let upstream = if placement == Placement::Http { Upstream::Http } else { Upstream::Tcp };
    let stubs = Stubs::start(upstream, &plan::call_clusters(scenario)).map_err(Error::Stub)?;
    let dir = tempfile::Builder::new().prefix("gw-test-envoy-").tempdir().map_err(Error::Stub)?;
    let _cleanup = crate::interrupt::RemoveOnInterrupt::new(dir.path()).map_err(Error::Stub)?;
    let access_log = dir.path().join("access.log");
    let config = bootstrap::render(&bootstrap::Inputs {
        scenario,
        placement,
        wasm,
        default_name: wasm.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        upstream_port: stubs.upstream_port,
        call_ports: &stubs.call_ports,
        access_log: &access_log,
    });
    let config_file = dir.path().join("envoy.json");
    fs_err::write(&config_file, serde_json::to_vec_pretty(&config).unwrap_or_default()).map_err(Error::Stub)?;

    let started = Instant::now();
    let mut envoy = Running::start(judge, &config_file, dir.path(), scenario)?;
    let start = envoy.wait_ready();
    if scenario.expect_start_failure {
        let outcome = match &start {
            Start::Refused(_) => Verdict::Passed,
            Start::Ready(_) => Verdict::Failed(vec![
                "start: expected the plugin to refuse to start, but Envoy started it and its listener serves".into(),
            ]),
        };
        let logs = observe::wasm_logs(&observe::tail(&envoy.stderr(), 0));
        let observed = Observed { logs, ..Observed::default() };
        reports.push(report("plugin start", outcome, started.elapsed(), observed, vec![]));
    }
    let (admin, port) = match start {
        Start::Ready(ready) => ready,
        Start::Refused(reason) => {
            for case in &scenario.cases {
                reports.push(failed(&case.name, vec![format!("the plugin did not start in Envoy: {reason}")]));
            }
            return Ok(reports);
        }
    };
    let session = Session { scenario, stubs: &stubs, admin: &admin, port, stderr: envoy.stderr(), access_log };
    let mut earlier_skipped = false;
    for case in &scenario.cases {
        if let Some(reason) = plan::case_skip(case, placement) {
            earlier_skipped = true;
            reports.push(report(&case.name, Verdict::Skipped(reason), Duration::ZERO, Observed::default(), vec![]));
            continue;
        }
        reports.push(session.repeated(case, placement, earlier_skipped));
    }
    envoy.stop();
    Ok(reports)
}

enum Start {
    Ready((Admin, u16)),
    /// Envoy exited or never served the listener; its reason.
    Refused(String),
}

/// The Envoy under test; stopped (and reaped) when dropped.
struct Running {
    process: Option<Process>,
    dir: std::path::PathBuf,
}

impl Running {
    fn start(judge: &Judge, config: &Path, dir: &Path, scenario: &Scenario) -> Result<Running, Error> {
        let level = format!("wasm:{}", observe::wasm_log_level(scenario.log_level));
        let args = ["-c", &config.display().to_string(), "--disable-hot-restart", "--concurrency", "1"]
            .into_iter()
            .chain(["--log-level", "warning", "--component-log-level", &level, "--file-flush-interval-msec", "1"])
            .map(Into::into)
            .collect();
        let launch = Launch {
            binary: judge.binary.clone(),
            args,
            echo_stdout: Box::new(std::io::sink()),
            echo_stderr: Box::new(std::io::sink()),
        };
        let process = Process::start(launch, dir.to_path_buf()).map_err(Error::Envoy)?;
        Ok(Running { process: Some(process), dir: dir.to_path_buf() })
    }

    fn stderr(&self) -> std::path::PathBuf {
        self.dir.join("stderr.log")
    }

    fn wait_ready(&mut self) -> Start {
        let deadline = Instant::now() + READY;
        let Some(process) = self.process.as_mut() else { return Start::Refused("Envoy is not running".into()) };
        loop {
            if let Ok(Some(status)) = process.try_wait() {
                // Give the log a moment to reach its file: the reason is its last lines.
                std::thread::sleep(Duration::from_millis(50));
                let code = envoy::exit_code(status);
                return Start::Refused(format!("Envoy exited with code {code}: {}", self.reason()));
            }
            if let Some(admin) = process.admin()
                && admin.is_ready()
            {
                return match admin.listener_port(bootstrap::LISTENER) {
                    Some(port) => Start::Ready((admin, port)),
                    None => {
                        Start::Refused(format!("Envoy is ready without the scenario's listener: {}", self.reason()))
                    }
                };
            }
            if Instant::now() > deadline {
                return Start::Refused(format!("Envoy was not ready within {} s: {}", READY.as_secs(), self.reason()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Envoy's own words: the plugin's lines and the error it stopped on.
    fn reason(&self) -> String {
        let text = observe::tail(&self.stderr(), 0);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("][wasm]") || l.contains("][critical]") || l.contains("][error]"))
            .map(|l| l.rsplit_once("] ").map(|(_, m)| m).unwrap_or(l))
            .collect();
        if lines.is_empty() { "it logged no reason".into() } else { lines[lines.len().saturating_sub(6)..].join("; ") }
    }

    fn stop(&mut self) {
        let Some(mut process) = self.process.take() else { return };
        process.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(process.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        process.signal(libc::SIGKILL);
        let _ = process.try_wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Session<'a> {
    scenario: &'a Scenario,
    stubs: &'a Stubs,
    admin: &'a Admin,
    port: u16,
    stderr: std::path::PathBuf,
    access_log: std::path::PathBuf,
}

impl Session<'_> {
    /// The case `repeat` times, stopping at the first run that fails.
    fn repeated(&self, case: &Case, placement: Placement, earlier_skipped: bool) -> CaseReport {
        let times = case.repeat.get();
        let started = Instant::now();
        let mut last = self.case(case, placement, earlier_skipped);
        for run in 2..=times {
            if !last.outcome.is_passed() {
                break;
            }
            last = self.case(case, placement, earlier_skipped);
            if let Verdict::Failed(lines) = &mut last.outcome {
                lines.insert(0, format!("run {run} of {times} (the earlier ones passed):"));
            }
        }
        last.duration = started.elapsed();
        last
    }

    fn case(&self, case: &Case, placement: Placement, earlier_skipped: bool) -> CaseReport {
        let started = Instant::now();
        let answers = case.http_calls.iter().chain(&self.scenario.http_calls).cloned().collect();
        self.stubs.begin_case(case.response.clone().unwrap_or_default(), answers);
        let log_from = envoy::logs::offset(&self.stderr);
        let result = match (placement, &case.connection) {
            (Placement::Network, Some(connection)) => self.connection(connection),
            _ => self.request(case),
        };
        let mut observed = match result {
            Ok(observed) => observed,
            Err(error) => return failed(&case.name, vec![format!("through Envoy: {error}")]),
        };
        // The filter's last lines (on_log, on_done) follow the request's end by a moment.
        self.quiet_log();
        observed.logs = observe::wasm_logs(&observe::tail(&self.stderr, log_from));
        observed.metrics = observe::custom_metrics(self.admin.stats("^wasmcustom\\.").unwrap_or_default());
        let (expect, notes) = plan::observable(&case.expect, earlier_skipped);
        let differences = wasmhost::compare(&expect, &observed, case.connection.is_none());
        let outcome = if differences.is_empty() { Verdict::Passed } else { Verdict::Failed(differences) };
        report(&case.name, outcome, started.elapsed(), observed, notes)
    }

    fn connect(&self) -> std::io::Result<TcpStream> {
        let stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(ANSWER))?;
        stream.set_write_timeout(Some(ANSWER))?;
        Ok(stream)
    }

    fn request(&self, case: &Case) -> std::io::Result<Observed> {
        let spec = case.request.clone().unwrap_or_default();
        let stream = self.connect()?;
        // The access log gets one line per request once Envoy has finished it (and the filter
        // has seen its end): that line says the case is over, and how the response was made.
        let details_from = envoy::logs::offset(&self.access_log);
        send_request(&stream, &spec)?;
        let mut reader = BufReader::new(stream.try_clone()?);
        // A reset or a close without an answer is how a client sees a stream the filter ended.
        let response = wire::read_response(&mut reader).ok().flatten();
        let _ = stream.shutdown(Shutdown::Both);
        let line = || observe::tail(&self.access_log, details_from).lines().next().map(str::to_string);
        self.settle(|| line().is_some());
        let details = line();

        let seen = self.stubs.seen();
        let mut observed =
            Observed { forwarded: !seen.requests.is_empty(), http_calls: seen.calls, ..Observed::default() };
        if let Some(upstream) = seen.requests.last() {
            observed.request_headers = with_pseudo(upstream);
            observed.request_body = upstream.body.clone();
            observed.request_trailers = upstream.trailers.clone();
        }
        match response {
            None => observed.closed = true,
            Some(response) => {
                let mut headers = vec![(":status".to_string(), response.status.to_string())];
                headers.extend(response.headers.iter().cloned());
                let local = match &details {
                    Some(details) => details != "via_upstream",
                    None => !observed.forwarded,
                };
                if local {
                    observed.local_response = Some(LocalResponse {
                        status: u32::from(response.status),
                        details: details.unwrap_or_default(),
                        body: response.body.clone(),
                        headers: response.headers.clone(),
                        grpc_status: -1,
                    });
                }
                observed.response_headers = headers;
                observed.response_body = response.body;
                observed.response_trailers = response.trailers;
            }
        }
        Ok(observed)
    }

    fn connection(&self, spec: &ConnectionSpec) -> std::io::Result<Observed> {
        let mut stream = self.connect()?;
        stream.set_read_timeout(Some(Duration::from_millis(10)))?;
        let mut client = Client { received: Vec::new(), closed: false };
        let events = spec.downstream.iter().map(|d| (true, d)).chain(spec.upstream.iter().map(|u| (false, u))).chain(
            spec.events
                .iter()
                .flat_map(|e| e.downstream.iter().map(|d| (true, d)).chain(e.upstream.iter().map(|u| (false, u)))),
        );
        for (downstream, data) in events {
            if client.closed {
                break;
            }
            if downstream {
                if stream.write_all(data.as_bytes()).is_err() {
                    client.closed = true;
                }
            } else {
                self.settle(|| self.stubs.has_tcp_connection() || client.closed);
                self.stubs.send_upstream(data.as_bytes());
            }
            client.quiet(&mut stream, self.stubs);
        }
        client.quiet(&mut stream, self.stubs);
        // Taken before the teardown: the client's close reaches the filter as one more (empty)
        // data callback, and what the filter adds to it is not part of the scenario.
        let seen = self.stubs.seen();
        let _ = stream.shutdown(Shutdown::Both);
        self.stubs.close_tcp();
        // The connection's end reaches the filter (and its counters) once Envoy has closed it.
        self.settle(|| self.gauge_is_zero("listener.127.0.0.1_", ".downstream_cx_active"));
        Ok(Observed {
            forwarded: !seen.tcp_received.is_empty(),
            upstream_data: seen.tcp_received,
            downstream_data: client.received,
            closed: client.closed,
            ..Observed::default()
        })
    }

    fn gauge_is_zero(&self, prefix: &str, suffix: &str) -> bool {
        let filter = format!("^{}.*{}$", regex::escape(prefix), regex::escape(suffix));
        self.admin.stats(&filter).is_some_and(|s| s.values().all(|v| *v == 0))
    }

    /// Waits (a bounded time) until `done`.
    fn settle(&self, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + SETTLE;
        while !done() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits until Envoy's log has not grown for [`LOG_QUIET`] (at most 100 ms).
    fn quiet_log(&self) {
        let deadline = Instant::now() + Duration::from_millis(100);
        let mut size = envoy::logs::offset(&self.stderr);
        let mut since = Instant::now();
        while since.elapsed() < LOG_QUIET && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
            let now = envoy::logs::offset(&self.stderr);
            if now != size {
                size = now;
                since = Instant::now();
            }
        }
    }
}

/// What the client of a connection case has seen.
struct Client {
    received: Vec<u8>,
    /// Envoy closed the connection before the client did.
    closed: bool,
}

impl Client {
    /// Reads what arrives until nothing has moved either way for [`QUIET`] (at most [`SETTLE`]).
    fn quiet(&mut self, stream: &mut TcpStream, stubs: &Stubs) {
        let deadline = Instant::now() + SETTLE;
        let mut last_change = Instant::now();
        let mut upstream_seen = stubs.tcp_received_len();
        let mut buf = [0u8; 16 << 10];
        while !self.closed && Instant::now() < deadline && last_change.elapsed() < QUIET {
            match stream.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => {
                    self.received.extend_from_slice(&buf[..n]);
                    last_change = Instant::now();
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => self.closed = true,
            }
            let now_seen = stubs.tcp_received_len();
            if now_seen != upstream_seen {
                upstream_seen = now_seen;
                last_change = Instant::now();
            }
        }
    }
}

/// The request line and Host as the pseudo-headers the scenario and the host speak of.
fn with_pseudo(message: &Message) -> Vec<(String, String)> {
    let mut headers =
        vec![(":method".to_string(), message.method.clone()), (":path".to_string(), message.path.clone())];
    if let Some(host) = message.header("host") {
        headers.push((":authority".into(), host.to_string()));
    }
    headers.extend(message.headers.iter().filter(|(k, _)| k != "host").cloned());
    headers
}

/// The scenario's request as HTTP/1.1: `:method`, `:path` and `:authority` (with the host's
/// defaults) make the request line and Host.
fn send_request(mut stream: &TcpStream, spec: &MessageSpec) -> std::io::Result<()> {
    let pseudo = |name: &str, default: &str| {
        spec.headers.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_else(|| default.to_string())
    };
    let start = format!("{} {} HTTP/1.1", pseudo(":method", "GET"), pseudo(":path", "/"));
    let mut headers = vec![("host".to_string(), pseudo(":authority", "example.com"))];
    headers
        .extend(spec.headers.0.iter().filter(|(k, _)| !k.starts_with(':') && !k.eq_ignore_ascii_case("host")).cloned());
    wire::write_message(&mut stream, &start, &headers, &spec.body.0, &spec.trailers.0, false)
}
