//! A small HTTP load generator for bench/gateway.sh: keep-alive connections,
//! one thread each, sending GETs for a fixed time; prints the answers by status
//! and the rate of the expected ones.
//!
//!   load URL [--ca PEM] [-H 'name: value']... [-c CONNECTIONS] [-s SECONDS] [--expect STATUS]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Options {
    url: String,
    ca: Option<String>,
    headers: Vec<(String, String)>,
    connections: usize,
    seconds: f64,
    expect: u16,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options =
        Options { url: String::new(), ca: None, headers: Vec::new(), connections: 4, seconds: 5.0, expect: 200 };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--ca" => options.ca = Some(value("--ca")?),
            "-H" => {
                let header = value("-H")?;
                let (name, v) = header.split_once(':').ok_or(format!("-H {header}: expected 'name: value'"))?;
                options.headers.push((name.trim().to_string(), v.trim().to_string()));
            }
            "-c" => options.connections = value("-c")?.parse().map_err(|e| format!("-c: {e}"))?,
            "-s" => options.seconds = value("-s")?.parse().map_err(|e| format!("-s: {e}"))?,
            "--expect" => options.expect = value("--expect")?.parse().map_err(|e| format!("--expect: {e}"))?,
            url if !url.starts_with('-') && options.url.is_empty() => options.url = url.to_string(),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    if options.url.is_empty() {
        return Err("usage: load URL [--ca PEM] [-H 'name: value']... [-c N] [-s SECONDS] [--expect STATUS]".into());
    }
    Ok(options)
}

fn client(options: &Options) -> Result<reqwest::blocking::Client, String> {
    let mut builder = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(10));
    if let Some(ca) = &options.ca {
        let pem = std::fs::read(ca).map_err(|e| format!("{ca}: {e}"))?;
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).map_err(|e| format!("{ca}: {e}"))?);
    }
    builder.build().map_err(|e| e.to_string())
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs_f64(options.seconds);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..options.connections {
            let client = match client(&options) {
                Ok(client) => client,
                Err(e) => {
                    eprintln!("load: {e}");
                    std::process::exit(2);
                }
            };
            let (counts, options) = (Arc::clone(&counts), &options);
            scope.spawn(move || {
                let mut mine: BTreeMap<String, u64> = BTreeMap::new();
                while Instant::now() < deadline {
                    let mut request = client.get(&options.url);
                    for (name, value) in &options.headers {
                        request = request.header(name, value);
                    }
                    let outcome = match request.send().and_then(|r| {
                        let status = r.status();
                        r.bytes().map(|_| status)
                    }) {
                        Ok(status) => status.as_u16().to_string(),
                        Err(e) => format!("error: {e}"),
                    };
                    *mine.entry(outcome).or_default() += 1;
                }
                let mut counts = counts.lock().unwrap();
                for (outcome, n) in mine {
                    *counts.entry(outcome).or_default() += n;
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let counts = counts.lock().unwrap();
    let expected = counts.get(&options.expect.to_string()).copied().unwrap_or(0);
    let others: Vec<String> =
        counts.iter().filter(|(k, _)| **k != options.expect.to_string()).map(|(k, n)| format!("{k} ×{n}")).collect();
    println!("{:.1}", expected as f64 / elapsed);
    eprintln!(
        "load: {expected} × {} in {elapsed:.2} s over {} connections{}",
        options.expect,
        options.connections,
        if others.is_empty() { String::new() } else { format!("; also {}", others.join(", ")) }
    );
}
