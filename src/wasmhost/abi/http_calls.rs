//! proxy_http_call and proxy_get_status. A call is recorded and answered after the current
//! callback returns, from the answers the scenario declares (`http_calls`), with
//! `proxy_on_http_call_response` on the calling root context, as Envoy does.

use super::Registry;
use super::memory::{Call, copy_out, read, read_string, write_u32};
use crate::wasmhost::results::HttpCallRecord;
use crate::wasmhost::state::{HeaderMap, PendingCall, Status};

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func(
        "env",
        "proxy_http_call",
        |mut c: Call<'_>,
         cluster_ptr: i32,
         cluster_len: i32,
         headers_ptr: i32,
         headers_len: i32,
         body_ptr: i32,
         body_len: i32,
         trailers_ptr: i32,
         trailers_len: i32,
         timeout_ms: i32,
         token_ptr: i32| {
            let (Some(cluster), Some(headers), Some(body), Some(trailers)) = (
                read_string(&mut c, cluster_ptr, cluster_len),
                read(&mut c, headers_ptr, headers_len),
                read(&mut c, body_ptr, body_len),
                read(&mut c, trailers_ptr, trailers_len),
            ) else {
                return Status::InvalidMemoryAccess.code();
            };
            let (Some(headers), Some(trailers)) = (HeaderMap::deserialize(&headers), HeaderMap::deserialize(&trailers))
            else {
                return Status::BadArgument.code();
            };
            // Envoy refuses a call without these.
            if [":method", ":path", ":authority"].iter().any(|h| headers.get(h).is_none()) {
                return Status::BadArgument.code();
            }
            let state = c.data_mut();
            state.world.next_call_token += 1;
            let token = state.world.next_call_token;
            let root_context = state.active_root();
            state.world.http_calls.push(HttpCallRecord {
                cluster,
                headers: headers.to_strings(),
                body,
                trailers: trailers.to_strings(),
                timeout_ms: timeout_ms as u32,
                answered_status: None,
                unmatched: false,
            });
            let record = state.world.http_calls.len() - 1;
            if !write_u32(&mut c, token_ptr, token) {
                c.data_mut().world.http_calls.pop();
                return Status::InvalidMemoryAccess.code();
            }
            c.data_mut().pending_calls.push_back(PendingCall { token, root_context, record });
            Status::Ok.code()
        },
    )?;
    r.func("env", "proxy_get_status", |mut c: Call<'_>, code_ptr: i32, ptr_ptr: i32, size_ptr: i32| {
        let (code, message) = c.data().call_response.as_ref().map(|r| r.status.clone()).unwrap_or((0, String::new()));
        if !write_u32(&mut c, code_ptr, code) {
            return Ok(Status::InvalidMemoryAccess.code());
        }
        copy_out(&mut c, message.as_bytes(), ptr_ptr, size_ptr).map(Status::code)
    })
}
