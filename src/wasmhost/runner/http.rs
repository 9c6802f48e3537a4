//! An HTTP case, as Envoy's connection manager drives an HTTP filter: request headers, body
//! chunks and trailers on the way up; the upstream's (or a local) response on the way down.
//! A paused phase waits for `proxy_continue_stream`; one that is never resumed ends the stream
//! there. A local response stops the request and is sent back through the response callbacks.

use super::steps::{self, Answers, CaseRun};
use crate::wasmhost::results::{LocalResponse, Observed};
use crate::wasmhost::scenario::{Case, MessageSpec, Pairs};
use crate::wasmhost::state::{ContextKind, HeaderMap, HttpStream};
use crate::wasmhost::vm::{Fault, Vm};

/// How a phase ended.
#[derive(PartialEq, Eq)]
enum Next {
    Go,
    /// Paused and never resumed, reset, or answered locally: no further phase.
    Stop,
}

pub(super) fn run(vm: &mut Vm, case: &Case, run: CaseRun<'_>) -> Result<(), Fault> {
    let CaseRun { index, overrides, answers, observed } = run;
    let request = case.request.clone().unwrap_or_default();
    let stream = HttpStream {
        request_headers: request_headers(&request.headers, index),
        request_time_ns: vm.state().world.clock.now_ns,
        ..Default::default()
    };
    let id = steps::open(vm, ContextKind::Http(Box::new(stream)), overrides, index as u64 + 1)?;
    let mut flow = Flow { vm, id, answers, observed, upstream_body: Vec::new(), downstream_body: Vec::new() };
    if flow.request(&request)? == Next::Go {
        flow.observed.forwarded = true;
        let response = case.response.clone().unwrap_or_default();
        let headers = steps::with_status(&response);
        flow.respond(headers, &response.body.0, &response.trailers, "via_upstream")?;
    } else if let Some(local) = flow.stream().local_response.clone() {
        let mut headers = HeaderMap(vec![(":status".into(), local.status.to_string().into_bytes())]);
        if !local.body.is_empty() {
            headers.add("content-length", local.body.len().to_string().as_bytes());
            headers.add("content-type", b"text/plain");
        }
        headers.0.extend(local.headers.0.iter().cloned());
        let body = if local.body.is_empty() { vec![] } else { vec![String::from_utf8_lossy(&local.body).into_owned()] };
        flow.respond(headers, &body, &Pairs::default(), &local.details.clone())?;
    }
    let (upstream_body, downstream_body) =
        (std::mem::take(&mut flow.upstream_body), std::mem::take(&mut flow.downstream_body));
    steps::close(vm, id, answers)?;

    let Some(context) = vm.state().contexts.remove(&id) else { return Ok(()) };
    observed.properties_set = context.properties_set;
    let ContextKind::Http(stream) = context.kind else { return Ok(()) };
    observed.request_headers = stream.request_headers.to_strings();
    observed.request_trailers = stream.request_trailers.to_strings();
    observed.request_body = upstream_body;
    observed.response_headers = stream.response_headers.to_strings();
    observed.response_trailers = stream.response_trailers.to_strings();
    observed.response_body = downstream_body;
    observed.closed = stream.reset;
    observed.local_response = stream.local_response.map(|l| LocalResponse {
        status: l.status,
        details: l.details,
        body: l.body,
        headers: l.headers.to_strings(),
        grpc_status: l.grpc_status,
    });
    Ok(())
}

/// The scenario's request headers, completed as Envoy's connection manager completes them
/// before the filters run.
fn request_headers(given: &Pairs, index: usize) -> HeaderMap {
    let given = HeaderMap::from_pairs(&given.0);
    // Pseudo-headers first, as HTTP/2 and Envoy's header maps keep them.
    let (mut pseudo, regular): (Vec<_>, Vec<_>) = given.0.into_iter().partition(|(k, _)| k.starts_with(':'));
    for (name, value) in [(":authority", "example.com"), (":path", "/"), (":method", "GET"), (":scheme", "http")] {
        if !pseudo.iter().any(|(k, _)| k == name) {
            pseudo.push((name.to_string(), value.as_bytes().to_vec()));
        }
    }
    pseudo.extend(regular);
    let mut headers = HeaderMap(pseudo);
    if headers.get("x-forwarded-proto").is_none() {
        let scheme = headers.get(":scheme").unwrap_or(b"http").to_vec();
        headers.add("x-forwarded-proto", &scheme);
    }
    if headers.get("x-request-id").is_none() {
        headers.add("x-request-id", format!("00000000-0000-4000-8000-{:012x}", index + 1).as_bytes());
    }
    headers
}

struct Flow<'a, 'b> {
    vm: &'a mut Vm,
    id: u32,
    answers: Answers<'b>,
    observed: &'a mut Observed,
    /// What reached the upstream and the client.
    upstream_body: Vec<u8>,
    downstream_body: Vec<u8>,
}

impl Flow<'_, '_> {
    fn stream(&mut self) -> &mut HttpStream {
        let id = self.id;
        self.vm.state().contexts.get_mut(&id).and_then(|c| c.http_mut()).expect("the case's HTTP context exists")
    }

    /// Calls one callback and what it set in motion; says whether the stream goes on.
    fn step(&mut self, name: &'static str, export: &'static str, args: &[u32], request: bool) -> Result<Next, Fault> {
        let local_before = self.stream().local_response.is_some();
        let action = steps::action(self.vm, self.observed, name, export, self.id, args)?;
        steps::drain(self.vm, self.answers)?;
        let stream = self.stream();
        if stream.reset || (stream.local_response.is_some() && !local_before) {
            return Ok(Next::Stop);
        }
        let resumed = if request { stream.request_resumed } else { stream.response_resumed };
        Ok(if action == 0 || resumed { Next::Go } else { Next::Stop })
    }

    fn request(&mut self, request: &MessageSpec) -> Result<Next, Fault> {
        let id = self.id;
        let chunks = &request.body.0;
        let has_trailers = !request.trailers.is_empty();
        let count = self.stream().request_headers.len() as u32;
        let end = u32::from(chunks.is_empty() && !has_trailers);
        if self.step("request_headers", "proxy_on_request_headers", &[id, count, end], true)? == Next::Stop {
            return Ok(Next::Stop);
        }
        for (i, chunk) in chunks.iter().enumerate() {
            let stream = self.stream();
            stream.request_body.extend_from_slice(chunk.as_bytes());
            stream.request_body_size += chunk.len() as u64;
            let size = stream.request_body.len() as u32;
            let end = u32::from(i + 1 == chunks.len() && !has_trailers);
            let next = self.step("request_body", "proxy_on_request_body", &[id, size, end], true)?;
            if self.stream().local_response.is_some() || self.stream().reset {
                return Ok(Next::Stop);
            }
            if next == Next::Go {
                let forwarded = std::mem::take(&mut self.stream().request_body);
                self.upstream_body.extend_from_slice(&forwarded);
            } else if i + 1 == chunks.len() {
                // Buffered, and nothing more will come to resume it.
                return Ok(Next::Stop);
            }
        }
        if has_trailers {
            let stream = self.stream();
            stream.request_trailers = HeaderMap::from_pairs(&request.trailers.0);
            let count = stream.request_trailers.len() as u32;
            if self.step("request_trailers", "proxy_on_request_trailers", &[id, count], true)? == Next::Stop {
                return Ok(Next::Stop);
            }
        }
        Ok(Next::Go)
    }

    /// The response phase, for the upstream's response or a local one.
    fn respond(&mut self, headers: HeaderMap, chunks: &[String], trailers: &Pairs, details: &str) -> Result<(), Fault> {
        let id = self.id;
        let stream = self.stream();
        stream.response_headers = headers;
        stream.response_started = true;
        stream.response_code_details = details.to_string();
        let count = stream.response_headers.len() as u32;
        let end = u32::from(chunks.is_empty() && trailers.is_empty());
        if self.step("response_headers", "proxy_on_response_headers", &[id, count, end], false)? == Next::Stop {
            self.replace_with_local_response();
            return Ok(());
        }
        for (i, chunk) in chunks.iter().enumerate() {
            let stream = self.stream();
            stream.response_body.extend_from_slice(chunk.as_bytes());
            stream.response_body_size += chunk.len() as u64;
            let size = stream.response_body.len() as u32;
            let end = u32::from(i + 1 == chunks.len() && trailers.is_empty());
            let next = self.step("response_body", "proxy_on_response_body", &[id, size, end], false)?;
            if self.replace_with_local_response() || self.stream().reset {
                return Ok(());
            }
            if next == Next::Go {
                let forwarded = std::mem::take(&mut self.stream().response_body);
                self.downstream_body.extend_from_slice(&forwarded);
            } else if i + 1 == chunks.len() {
                return Ok(());
            }
        }
        if !trailers.is_empty() {
            let stream = self.stream();
            stream.response_trailers = HeaderMap::from_pairs(&trailers.0);
            let count = stream.response_trailers.len() as u32;
            self.step("response_trailers", "proxy_on_response_trailers", &[id, count], false)?;
            self.replace_with_local_response();
        }
        Ok(())
    }

    /// A local response sent while the upstream's response was passing replaces it (it does
    /// not go through the filter again). Returns whether that happened.
    fn replace_with_local_response(&mut self) -> bool {
        let forwarded = self.observed.forwarded;
        let stream = self.stream();
        let Some(local) = stream.local_response.clone() else { return false };
        if !forwarded {
            return false;
        }
        let mut headers = HeaderMap(vec![(":status".into(), local.status.to_string().into_bytes())]);
        headers.0.extend(local.headers.0.iter().cloned());
        stream.response_headers = headers;
        stream.response_code_details = local.details;
        self.downstream_body = local.body;
        true
    }
}
