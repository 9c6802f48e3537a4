//! The header-map functions: request and response headers and trailers of the active HTTP
//! stream, and (read-only) the headers and trailers of an HTTP call's response.

use super::Registry;
use super::memory::{Call, copy_out, read, read_string, write_u32};
use crate::wasmhost::state::{ContextKind, HeaderMap, HostState, Status};

const REQUEST_HEADERS: i32 = 0;
const REQUEST_TRAILERS: i32 = 1;
const RESPONSE_HEADERS: i32 = 2;
const RESPONSE_TRAILERS: i32 = 3;
const CALL_RESPONSE_HEADERS: i32 = 6;
const CALL_RESPONSE_TRAILERS: i32 = 7;

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func("env", "proxy_get_header_map_pairs", |mut c: Call<'_>, kind: i32, ptr_ptr: i32, size_ptr: i32| {
        let bytes = match map(c.data(), kind) {
            Ok(m) => m.serialize(),
            Err(status) => return Ok(status.code()),
        };
        copy_out(&mut c, &bytes, ptr_ptr, size_ptr).map(Status::code)
    })?;
    r.func("env", "proxy_set_header_map_pairs", |mut c: Call<'_>, kind: i32, ptr: i32, len: i32| {
        let Some(bytes) = read(&mut c, ptr, len) else { return Status::InvalidMemoryAccess.code() };
        let Some(pairs) = HeaderMap::deserialize(&bytes) else { return Status::BadArgument.code() };
        edit(c.data_mut(), kind, |m| *m = pairs).code()
    })?;
    r.func("env", "proxy_get_header_map_size", |mut c: Call<'_>, kind: i32, size_ptr: i32| {
        let size = match map(c.data(), kind) {
            Ok(m) => m.serialize().len(),
            Err(status) => return status.code(),
        };
        if write_u32(&mut c, size_ptr, size as u32) { Status::Ok.code() } else { Status::InvalidMemoryAccess.code() }
    })?;
    r.func(
        "env",
        "proxy_get_header_map_value",
        |mut c: Call<'_>, kind: i32, key_ptr: i32, key_len: i32, ptr_ptr: i32, size_ptr: i32| {
            let Some(key) = read_string(&mut c, key_ptr, key_len) else {
                return Ok(Status::InvalidMemoryAccess.code());
            };
            let value = match map(c.data(), kind) {
                Ok(m) => match m.get(&key) {
                    Some(v) => v.to_vec(),
                    None => return Ok(Status::NotFound.code()),
                },
                Err(status) => return Ok(status.code()),
            };
            copy_out(&mut c, &value, ptr_ptr, size_ptr).map(Status::code)
        },
    )?;
    r.func(
        "env",
        "proxy_add_header_map_value",
        |mut c: Call<'_>, kind: i32, key_ptr: i32, key_len: i32, value_ptr: i32, value_len: i32| {
            let (Some(key), Some(value)) = (read_string(&mut c, key_ptr, key_len), read(&mut c, value_ptr, value_len))
            else {
                return Status::InvalidMemoryAccess.code();
            };
            edit(c.data_mut(), kind, |m| m.add(&key, &value)).code()
        },
    )?;
    r.func(
        "env",
        "proxy_replace_header_map_value",
        |mut c: Call<'_>, kind: i32, key_ptr: i32, key_len: i32, value_ptr: i32, value_len: i32| {
            let (Some(key), Some(value)) = (read_string(&mut c, key_ptr, key_len), read(&mut c, value_ptr, value_len))
            else {
                return Status::InvalidMemoryAccess.code();
            };
            edit(c.data_mut(), kind, |m| m.replace(&key, &value)).code()
        },
    )?;
    r.func("env", "proxy_remove_header_map_value", |mut c: Call<'_>, kind: i32, key_ptr: i32, key_len: i32| {
        let Some(key) = read_string(&mut c, key_ptr, key_len) else { return Status::InvalidMemoryAccess.code() };
        edit(c.data_mut(), kind, |m| m.remove(&key)).code()
    })
}

fn map(state: &HostState, kind: i32) -> Result<&HeaderMap, Status> {
    match kind {
        CALL_RESPONSE_HEADERS | CALL_RESPONSE_TRAILERS => {
            let response = state.call_response.as_ref().ok_or(Status::BadArgument)?;
            Ok(if kind == CALL_RESPONSE_HEADERS { &response.headers } else { &response.trailers })
        }
        REQUEST_HEADERS..=RESPONSE_TRAILERS => match state.active().map(|c| &c.kind) {
            Some(ContextKind::Http(h)) => Ok(match kind {
                REQUEST_HEADERS => &h.request_headers,
                REQUEST_TRAILERS => &h.request_trailers,
                RESPONSE_HEADERS => &h.response_headers,
                _ => &h.response_trailers,
            }),
            _ => Err(Status::BadArgument),
        },
        4 | 5 => Err(Status::NotFound),
        _ => Err(Status::BadArgument),
    }
}

/// Changes a map of the active HTTP stream; the call-response maps are read-only, as in Envoy.
fn edit(state: &mut HostState, kind: i32, change: impl FnOnce(&mut HeaderMap)) -> Status {
    let Some(ContextKind::Http(h)) = state.active_mut().map(|c| &mut c.kind) else {
        return Status::BadArgument;
    };
    let target = match kind {
        REQUEST_HEADERS => &mut h.request_headers,
        REQUEST_TRAILERS => &mut h.request_trailers,
        RESPONSE_HEADERS => &mut h.response_headers,
        RESPONSE_TRAILERS => &mut h.response_trailers,
        _ => return Status::BadArgument,
    };
    change(target);
    Status::Ok
}
