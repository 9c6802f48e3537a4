//! proxy_get_buffer_bytes, proxy_set_buffer_bytes, proxy_get_buffer_status: bodies, connection
//! data, the HTTP call response body and the two configurations.

use super::Registry;
use super::memory::{Call, copy_out, read, write_u32};
use crate::wasmhost::state::{ContextKind, HostState, Status};

const HTTP_REQUEST_BODY: i32 = 0;
const HTTP_RESPONSE_BODY: i32 = 1;
const DOWNSTREAM_DATA: i32 = 2;
const UPSTREAM_DATA: i32 = 3;
const HTTP_CALL_RESPONSE_BODY: i32 = 4;
const VM_CONFIGURATION: i32 = 6;
const PLUGIN_CONFIGURATION: i32 = 7;
const MAX_BUFFER_TYPE: i32 = 8;

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Call<'_>, kind: i32, start: i32, max: i32, ptr_ptr: i32, size_ptr: i32| {
            get_bytes(&mut c, kind, start, max, ptr_ptr, size_ptr).map(Status::code)
        },
    )?;
    r.func(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: Call<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| {
            set_bytes(&mut c, kind, start, size, ptr, len).code()
        },
    )?;
    r.func("env", "proxy_get_buffer_status", |mut c: Call<'_>, kind: i32, len_ptr: i32, flags_ptr: i32| {
        let size = match buffer(c.data(), kind) {
            Ok(b) => b.len(),
            Err(status) => return status.code(),
        };
        if write_u32(&mut c, len_ptr, size as u32) && write_u32(&mut c, flags_ptr, 0) {
            Status::Ok.code()
        } else {
            Status::InvalidMemoryAccess.code()
        }
    })
}

fn buffer(state: &HostState, kind: i32) -> Result<&[u8], Status> {
    if !(0..=MAX_BUFFER_TYPE).contains(&kind) {
        return Err(Status::BadArgument);
    }
    let context = state.active().map(|c| &c.kind);
    Ok(match (kind, context) {
        (HTTP_REQUEST_BODY, Some(ContextKind::Http(h))) => &h.request_body,
        (HTTP_RESPONSE_BODY, Some(ContextKind::Http(h))) => &h.response_body,
        (DOWNSTREAM_DATA, Some(ContextKind::Tcp(t))) => &t.downstream,
        (UPSTREAM_DATA, Some(ContextKind::Tcp(t))) => &t.upstream,
        (HTTP_CALL_RESPONSE_BODY, _) => &state.call_response.as_ref().ok_or(Status::NotFound)?.body,
        (VM_CONFIGURATION, _) => &state.world.plugin.vm_config,
        (PLUGIN_CONFIGURATION, _) => &state.world.plugin.plugin_config,
        _ => return Err(Status::NotFound),
    })
}

fn buffer_mut(state: &mut HostState, kind: i32) -> Result<&mut Vec<u8>, Status> {
    if !(0..=MAX_BUFFER_TYPE).contains(&kind) {
        return Err(Status::BadArgument);
    }
    match (kind, state.active_mut().map(|c| &mut c.kind)) {
        (HTTP_REQUEST_BODY, Some(ContextKind::Http(h))) => Ok(&mut h.request_body),
        (HTTP_RESPONSE_BODY, Some(ContextKind::Http(h))) => Ok(&mut h.response_body),
        (DOWNSTREAM_DATA, Some(ContextKind::Tcp(t))) => Ok(&mut t.downstream),
        (UPSTREAM_DATA, Some(ContextKind::Tcp(t))) => Ok(&mut t.upstream),
        _ => Err(Status::NotFound),
    }
}

fn get_bytes(
    c: &mut Call<'_>,
    kind: i32,
    start: i32,
    max: i32,
    ptr_ptr: i32,
    size_ptr: i32,
) -> wasmtime::Result<Status> {
    let bytes = match buffer(c.data(), kind) {
        Ok(b) => {
            // Never read past the end; a start past it reads nothing.
            let (start, max) = (start as u32 as usize, max as u32 as usize);
            let from = start.min(b.len());
            let to = start.saturating_add(max).min(b.len()).max(from);
            b[from..to].to_vec()
        }
        Err(status) => return Ok(status),
    };
    copy_out(c, &bytes, ptr_ptr, size_ptr)
}

/// Envoy's semantics: `start` 0 replaces the first `size` bytes (prepends when `size` is 0),
/// a `start` at or past the end appends, anything else is refused.
fn set_bytes(c: &mut Call<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32) -> Status {
    let Some(data) = read(c, ptr, len) else { return Status::InvalidMemoryAccess };
    let buffer = match buffer_mut(c.data_mut(), kind) {
        Ok(b) => b,
        Err(status) => return status,
    };
    let (start, size) = (start as u32 as usize, size as u32 as usize);
    if start == 0 {
        buffer.drain(..size.min(buffer.len()));
        buffer.splice(0..0, data);
    } else if start >= buffer.len() {
        buffer.extend_from_slice(&data);
    } else {
        return Status::BadArgument;
    }
    Status::Ok
}
