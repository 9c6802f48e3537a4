//! Stream control: continue, close, local responses, the effective context, proxy_done, and
//! foreign functions (gw registers none, so every one is "not found").

use super::Registry;
use super::memory::{Call, read, read_string};
use crate::wasmhost::state::{ContextKind, HeaderMap, HostState, ROOT_CONTEXT, SentLocalResponse, Status};

const HTTP_REQUEST: i32 = 0;
const HTTP_RESPONSE: i32 = 1;
const DOWNSTREAM: i32 = 2;
const UPSTREAM: i32 = 3;

/// proxy_status_t's UNIMPLEMENTED, for a stream type the active context does not have.
const UNIMPLEMENTED: i32 = 12;

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func("env", "proxy_continue_stream", |mut c: Call<'_>, kind: i32| resume(c.data_mut(), kind))?;
    r.func("env", "proxy_close_stream", |mut c: Call<'_>, kind: i32| close(c.data_mut(), kind))?;
    // The ABI 0.1.0 names, which some 0.2.0-era SDKs still import.
    r.func("env", "proxy_continue_request", |mut c: Call<'_>| resume(c.data_mut(), HTTP_REQUEST))?;
    r.func("env", "proxy_continue_response", |mut c: Call<'_>| resume(c.data_mut(), HTTP_RESPONSE))?;
    r.func("env", "proxy_clear_route_cache", |_c: Call<'_>| Status::Ok.code())?;
    r.func(
        "env",
        "proxy_send_local_response",
        |mut c: Call<'_>,
         status: i32,
         details_ptr: i32,
         details_len: i32,
         body_ptr: i32,
         body_len: i32,
         headers_ptr: i32,
         headers_len: i32,
         grpc_status: i32| {
            let (Some(details), Some(body), Some(headers)) = (
                read_string(&mut c, details_ptr, details_len),
                read(&mut c, body_ptr, body_len),
                read(&mut c, headers_ptr, headers_len),
            ) else {
                return Status::InvalidMemoryAccess.code();
            };
            let Some(headers) = HeaderMap::deserialize(&headers) else { return Status::BadArgument.code() };
            let Some(http) = c.data_mut().active_mut().and_then(|ctx| ctx.http_mut()) else {
                return Status::BadArgument.code();
            };
            // Envoy sends one local reply per stream and ignores later ones.
            if http.local_response.is_none() {
                http.local_response =
                    Some(SentLocalResponse { status: status as u32, details, body, headers, grpc_status });
            }
            Status::Ok.code()
        },
    )?;
    r.func("env", "proxy_set_effective_context", |mut c: Call<'_>, id: i32| {
        let state = c.data_mut();
        if !state.contexts.contains_key(&(id as u32)) {
            return Status::BadArgument.code();
        }
        state.effective = Some(id as u32);
        Status::Ok.code()
    })?;
    r.func("env", "proxy_done", |mut c: Call<'_>| {
        let state = c.data_mut();
        if state.active_id() == ROOT_CONTEXT {
            state.root_done = true;
            Status::Ok.code()
        } else {
            Status::NotFound.code()
        }
    })?;
    r.func(
        "env",
        "proxy_call_foreign_function",
        |mut c: Call<'_>, name_ptr: i32, name_len: i32, args_ptr: i32, args_len: i32, _results: i32, _size: i32| {
            if read(&mut c, name_ptr, name_len).is_none() || read(&mut c, args_ptr, args_len).is_none() {
                return Status::InvalidMemoryAccess.code();
            }
            Status::NotFound.code()
        },
    )
}

fn resume(state: &mut HostState, kind: i32) -> i32 {
    let Some(context) = state.active_mut() else { return Status::NotFound.code() };
    match (kind, &mut context.kind) {
        (HTTP_REQUEST, ContextKind::Http(h)) => h.request_resumed = true,
        (HTTP_RESPONSE, ContextKind::Http(h)) => h.response_resumed = true,
        (DOWNSTREAM, ContextKind::Tcp(t)) => t.downstream_resumed = true,
        (UPSTREAM, ContextKind::Tcp(t)) => t.upstream_resumed = true,
        (HTTP_REQUEST..=UPSTREAM, _) => return UNIMPLEMENTED,
        _ => return Status::BadArgument.code(),
    }
    Status::Ok.code()
}

fn close(state: &mut HostState, kind: i32) -> i32 {
    let Some(context) = state.active_mut() else { return Status::NotFound.code() };
    match (kind, &mut context.kind) {
        (HTTP_REQUEST | HTTP_RESPONSE, ContextKind::Http(h)) => h.reset = true,
        (DOWNSTREAM | UPSTREAM, ContextKind::Tcp(t)) => t.closed = true,
        (HTTP_REQUEST..=UPSTREAM, _) => return UNIMPLEMENTED,
        _ => return Status::BadArgument.code(),
    }
    Status::Ok.code()
}
