//! proxy_log and proxy_get_log_level (ABI 0.2.1).

use super::Registry;
use super::memory::{Call, read_string, write_u32};
use crate::wasmhost::state::{LogLevel, Status};

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func("env", "proxy_log", |mut c: Call<'_>, level: i32, ptr: i32, len: i32| log(&mut c, level, ptr, len).code())?;
    r.func("env", "proxy_get_log_level", |mut c: Call<'_>, ptr: i32| {
        let level = c.data().world.plugin.log_level.unwrap_or(LogLevel::Trace);
        if write_u32(&mut c, ptr, level.abi()) { Status::Ok.code() } else { Status::InvalidMemoryAccess.code() }
    })
}

fn log(c: &mut Call<'_>, level: i32, ptr: i32, len: i32) -> Status {
    let Some(level) = LogLevel::from_abi(level) else { return Status::BadArgument };
    if !c.data().log_has_room(len.max(0) as usize) {
        // Not read out of the module's memory: it would be dropped anyway.
        c.data_mut().drop_log(level);
        return Status::Ok;
    }
    let Some(message) = read_string(c, ptr, len) else { return Status::InvalidMemoryAccess };
    c.data_mut().log(level, message);
    Status::Ok
}
