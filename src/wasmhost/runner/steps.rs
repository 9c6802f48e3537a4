//! What happens between and around callbacks: answering HTTP calls, queue notifications, the
//! tick timer, creating and ending stream contexts.

use std::collections::BTreeMap;

use crate::wasmhost::results::{CallbackRecord, Observed};
use crate::wasmhost::scenario::{HttpCallSpec, MessageSpec};
use crate::wasmhost::state::{CallResponse, Context, ContextKind, HeaderMap, PendingCall, ROOT_CONTEXT};
use crate::wasmhost::vm::{Fault, Vm};

/// More asynchronous events than this in one step means the filter is feeding itself.
const MAX_EVENTS_PER_STEP: usize = 1000;
/// At most this many `proxy_on_tick` calls per `tick` step; the rest are skipped.
const MAX_TICKS_PER_STEP: usize = 10_000;

/// The declared answers to HTTP calls: the case's first, then the file's.
#[derive(Clone, Copy)]
pub(super) struct Answers<'a> {
    pub case: &'a [HttpCallSpec],
    pub file: &'a [HttpCallSpec],
}

/// Delivers what the last callback set in motion: HTTP call answers and queue
/// notifications, which may set more in motion, until nothing is left.
pub(super) fn drain(vm: &mut Vm, answers: Answers<'_>) -> Result<(), Fault> {
    for _ in 0..MAX_EVENTS_PER_STEP {
        if let Some(call) = vm.state().pending_calls.pop_front() {
            answer(vm, call, answers)?;
        } else if let Some((owner, token)) = vm.state().queue_ready.pop_front() {
            vm.call("proxy_on_queue_ready", owner, &[owner, token])?;
        } else {
            return Ok(());
        }
    }
    Err(Fault(format!(
        "the filter set off more than {MAX_EVENTS_PER_STEP} HTTP calls or queue notifications in one step \
         (does each answer make another call?)"
    )))
}

fn answer(vm: &mut Vm, call: PendingCall, answers: Answers<'_>) -> Result<(), Fault> {
    let world = &mut vm.state().world;
    let record = &mut world.http_calls[call.record];
    let spec = answers
        .case
        .iter()
        .chain(answers.file)
        .find(|s| s.matches(&record.cluster, record.header(":path"), record.header(":method")));
    let response = match spec {
        Some(spec) if !spec.fail => {
            let message = spec.response.clone().unwrap_or_default();
            let headers = with_status(&message);
            record.answered_status = headers.get(":status").map(|s| String::from_utf8_lossy(s).into_owned());
            CallResponse {
                headers,
                body: message.body.0.concat().into_bytes(),
                trailers: HeaderMap::from_pairs(&message.trailers.0),
                status: (0, String::new()),
            }
        }
        Some(_) => CallResponse { status: (14, "upstream failure".into()), ..Default::default() },
        None => {
            record.unmatched = true;
            CallResponse { status: (14, "no answer declared in the scenario".into()), ..Default::default() }
        }
    };
    let counts = [response.headers.len() as u32, response.body.len() as u32, response.trailers.len() as u32];
    vm.state().call_response = Some(response);
    let result = vm.call(
        "proxy_on_http_call_response",
        call.root_context,
        &[call.root_context, call.token, counts[0], counts[1], counts[2]],
    );
    vm.state().call_response = None;
    result.map(drop)
}

/// A response's headers, with `:status: 200` when the scenario gives none.
pub(super) fn with_status(message: &MessageSpec) -> HeaderMap {
    let mut headers = HeaderMap::from_pairs(&message.headers.0);
    if headers.get(":status").is_none() {
        headers.0.insert(0, (":status".into(), b"200".to_vec()));
    }
    headers
}

/// Advances the virtual clock by `ms`, calling `proxy_on_tick` each time it falls due.
pub(super) fn tick(vm: &mut Vm, ms: u64, answers: Answers<'_>) -> Result<(), Fault> {
    let target = vm.state().world.clock.now_ns.saturating_add(ms.saturating_mul(1_000_000));
    for _ in 0..MAX_TICKS_PER_STEP {
        let world = &mut vm.state().world;
        let Some(due) = world.next_tick_ns.filter(|due| *due <= target) else { break };
        world.clock.now_ns = world.clock.now_ns.max(due);
        world.next_tick_ns = Some(due + u64::from(world.tick_period_ms.max(1)) * 1_000_000);
        vm.call("proxy_on_tick", ROOT_CONTEXT, &[ROOT_CONTEXT])?;
        drain(vm, answers)?;
    }
    let world = &mut vm.state().world;
    world.clock.now_ns = target;
    if let Some(due) = world.next_tick_ns
        && due <= target
    {
        world.next_tick_ns = Some(target + u64::from(world.tick_period_ms.max(1)) * 1_000_000);
    }
    Ok(())
}

/// Creates a stream context under the root context, as Envoy does for a new request or
/// connection.
pub(super) fn open(
    vm: &mut Vm,
    kind: ContextKind,
    overrides: BTreeMap<String, Option<Vec<u8>>>,
    connection_id: u64,
) -> Result<u32, Fault> {
    let state = vm.state();
    let id = state.world.next_context_id;
    state.world.next_context_id += 1;
    state
        .contexts
        .insert(id, Context { root_id: ROOT_CONTEXT, kind, properties_set: BTreeMap::new(), overrides, connection_id });
    vm.call("proxy_on_context_create", id, &[id, ROOT_CONTEXT])?;
    Ok(id)
}

/// Ends a stream context in Envoy's order: the access-log callback, then done, then delete.
pub(super) fn close(vm: &mut Vm, id: u32, answers: Answers<'_>) -> Result<(), Fault> {
    vm.call("proxy_on_log", id, &[id])?;
    drain(vm, answers)?;
    vm.call("proxy_on_done", id, &[id])?;
    drain(vm, answers)?;
    vm.call("proxy_on_delete", id, &[id])?;
    Ok(())
}

/// Calls an action-returning stream callback and records what it returned (0 when the module
/// does not export it: Envoy continues then).
pub(super) fn action(
    vm: &mut Vm,
    observed: &mut Observed,
    name: &'static str,
    export: &'static str,
    id: u32,
    args: &[u32],
) -> Result<u32, Fault> {
    if let Some(context) = vm.state().contexts.get_mut(&id) {
        match &mut context.kind {
            ContextKind::Http(h) => {
                h.request_resumed = false;
                h.response_resumed = false;
            }
            ContextKind::Tcp(t) => {
                t.downstream_resumed = false;
                t.upstream_resumed = false;
            }
            ContextKind::Root => {}
        }
    }
    let Some(action) = vm.call(export, id, args)? else { return Ok(0) };
    observed.callbacks.push(CallbackRecord { name, action });
    Ok(action)
}

/// What one case's run carries through its steps: its number, its property overrides, the
/// answers to its HTTP calls, and what it observed.
pub(super) struct CaseRun<'a> {
    pub index: usize,
    pub overrides: BTreeMap<String, Option<Vec<u8>>>,
    pub answers: Answers<'a>,
    pub observed: &'a mut Observed,
}
