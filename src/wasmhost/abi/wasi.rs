//! The few WASI preview1 functions a wasm32-wasip1 filter imports, implemented as
//! proxy-wasm-cpp-host does: stdout and stderr become log lines (info and error), clocks read
//! the virtual clock, randomness is seeded so runs repeat, there is no environment, no
//! arguments and no file system.

use super::Registry;
use super::memory::{Call, read, write, write_u32, write_u64};
use crate::wasmhost::state::{HostFault, LogLevel};

const SUCCESS: i32 = 0;
const BADF: i32 = 8;
const FAULT: i32 = 21;
const NOENT: i32 = 44;
const NOSYS: i32 = 52;
const NOTSUP: i32 = 58;

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    for module in ["wasi_snapshot_preview1", "wasi_unstable"] {
        r.func(module, "fd_write", |mut c: Call<'_>, fd: i32, iovs: i32, count: i32, written_ptr: i32| {
            fd_write(&mut c, fd, iovs, count, written_ptr)
        })?;
        r.func(module, "fd_read", |_c: Call<'_>, _fd: i32, _iovs: i32, _count: i32, _read: i32| NOSYS)?;
        r.func(module, "fd_close", |_c: Call<'_>, _fd: i32| SUCCESS)?;
        r.func(module, "fd_seek", |_c: Call<'_>, _fd: i32, _offset: i64, _whence: i32, _new: i32| BADF)?;
        r.func(module, "fd_fdstat_get", |mut c: Call<'_>, fd: i32, stat: i32| {
            if fd != 1 && fd != 2 {
                return BADF;
            }
            // A character device that may be written to (fs_rights_base = FD_WRITE).
            let mut bytes = [0u8; 24];
            bytes[0] = 2;
            bytes[8..16].copy_from_slice(&64u64.to_le_bytes());
            if write(&mut c, stat as u32, &bytes) { SUCCESS } else { FAULT }
        })?;
        r.func(module, "fd_fdstat_set_flags", |_c: Call<'_>, _fd: i32, _flags: i32| NOSYS)?;
        r.func(module, "fd_prestat_get", |_c: Call<'_>, _fd: i32, _buf: i32| BADF)?;
        r.func(module, "fd_prestat_dir_name", |_c: Call<'_>, _fd: i32, _path: i32, _len: i32| NOSYS)?;
        r.func(module, "fd_filestat_get", |_c: Call<'_>, _fd: i32, _buf: i32| BADF)?;
        r.func(
            module,
            "path_open",
            |_c: Call<'_>,
             _fd: i32,
             _dirflags: i32,
             _path: i32,
             _len: i32,
             _oflags: i32,
             _base: i64,
             _inh: i64,
             _fdflags: i32,
             _out: i32| { NOENT },
        )?;
        r.func(module, "environ_sizes_get", |mut c: Call<'_>, count_ptr: i32, size_ptr: i32| {
            if write_u32(&mut c, count_ptr, 0) && write_u32(&mut c, size_ptr, 0) { SUCCESS } else { FAULT }
        })?;
        r.func(module, "environ_get", |_c: Call<'_>, _array: i32, _buf: i32| SUCCESS)?;
        r.func(module, "args_sizes_get", |mut c: Call<'_>, count_ptr: i32, size_ptr: i32| {
            if write_u32(&mut c, count_ptr, 0) && write_u32(&mut c, size_ptr, 0) { SUCCESS } else { FAULT }
        })?;
        r.func(module, "args_get", |_c: Call<'_>, _argv: i32, _buf: i32| SUCCESS)?;
        r.func(module, "clock_time_get", |mut c: Call<'_>, id: i32, _precision: i64, ptr: i32| {
            let clock = c.data().world.clock;
            let now = match id {
                0 => clock.now_ns,
                1 => clock.monotonic_ns(),
                _ => return NOTSUP,
            };
            if write_u64(&mut c, ptr, now) { SUCCESS } else { FAULT }
        })?;
        r.func(module, "clock_res_get", |mut c: Call<'_>, id: i32, ptr: i32| {
            if id != 0 && id != 1 {
                return NOTSUP;
            }
            if write_u64(&mut c, ptr, 1) { SUCCESS } else { FAULT }
        })?;
        r.func(module, "random_get", |mut c: Call<'_>, ptr: i32, len: i32| {
            let len = len as u32 as usize;
            if len > 1 << 20 {
                return 28; // INVAL, as cpp-host for large requests
            }
            let mut bytes = vec![0u8; len];
            let state = &mut c.data_mut().world.random_state;
            for chunk in bytes.chunks_mut(8) {
                *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
            }
            if write(&mut c, ptr as u32, &bytes) { SUCCESS } else { FAULT }
        })?;
        r.func(module, "sched_yield", |_c: Call<'_>| SUCCESS)?;
        r.func(module, "poll_oneoff", |_c: Call<'_>, _in: i32, _out: i32, _n: i32, _events: i32| NOSYS)?;
        r.func(module, "proc_exit", |mut c: Call<'_>, code: i32| -> wasmtime::Result<()> {
            c.data_mut().fault = Some(HostFault::Exit(code));
            Err(wasmtime::Error::msg(format!("the filter called proc_exit({code})")))
        })?;
    }
    Ok(())
}

/// stdout → info, stderr → error, one log line per write without its trailing newline.
fn fd_write(c: &mut Call<'_>, fd: i32, iovs: i32, count: i32, written_ptr: i32) -> i32 {
    let level = match fd {
        1 => LogLevel::Info,
        2 => LogLevel::Error,
        _ => return BADF,
    };
    let mut text = Vec::new();
    for i in 0..count as u32 {
        let Some(iov) = read(c, iovs.wrapping_add((i * 8) as i32), 8) else { return FAULT };
        let ptr = i32::from_le_bytes(iov[0..4].try_into().expect("4 bytes"));
        let len = i32::from_le_bytes(iov[4..8].try_into().expect("4 bytes"));
        let Some(bytes) = read(c, ptr, len) else { return FAULT };
        text.extend_from_slice(&bytes);
    }
    let written = text.len() as u32;
    if text.last() == Some(&b'\n') {
        text.pop();
    }
    if !text.is_empty() {
        c.data_mut().log(level, String::from_utf8_lossy(&text).into_owned());
    }
    if write_u32(c, written_ptr, written) { SUCCESS } else { FAULT }
}
