//! proxy_get_property and proxy_set_property. The values are in `attributes`.

use super::Registry;
use super::memory::{Call, copy_out, read};
use crate::wasmhost::attributes;
use crate::wasmhost::state::Status;

/// A property path is its segments joined by NUL (`request\0path`).
fn segments(bytes: &[u8]) -> Vec<String> {
    bytes.split(|b| *b == 0).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func(
        "env",
        "proxy_get_property",
        |mut c: Call<'_>, path_ptr: i32, path_len: i32, ptr_ptr: i32, size_ptr: i32| {
            let Some(path) = read(&mut c, path_ptr, path_len) else { return Ok(Status::InvalidMemoryAccess.code()) };
            if path.is_empty() {
                return Ok(Status::NotFound.code());
            }
            match attributes::lookup(c.data(), &segments(&path)) {
                Some(value) => copy_out(&mut c, &value, ptr_ptr, size_ptr).map(Status::code),
                None => Ok(Status::NotFound.code()),
            }
        },
    )?;
    r.func("env", "proxy_set_property", |mut c: Call<'_>, path_ptr: i32, path_len: i32, ptr: i32, len: i32| {
        let (Some(path), Some(value)) = (read(&mut c, path_ptr, path_len), read(&mut c, ptr, len)) else {
            return Status::InvalidMemoryAccess.code();
        };
        if path.is_empty() {
            return Status::NotFound.code();
        }
        let key = segments(&path).join(".");
        match c.data_mut().active_mut() {
            Some(context) => {
                context.properties_set.insert(key, value);
                Status::Ok.code()
            }
            None => Status::NotFound.code(),
        }
    })
}
