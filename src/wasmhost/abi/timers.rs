//! The tick timer and the clock. Both run on the scenario's virtual clock: a tick period set
//! here is honoured by `tick: N` steps, which call `proxy_on_tick` as it falls due.

use super::Registry;
use super::memory::{Call, write_u64};
use crate::wasmhost::state::Status;

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func("env", "proxy_set_tick_period_milliseconds", |mut c: Call<'_>, period: i32| {
        let world = &mut c.data_mut().world;
        world.tick_period_ms = period as u32;
        world.next_tick_ns = match period as u32 {
            0 => None,
            ms => Some(world.clock.now_ns + u64::from(ms) * 1_000_000),
        };
        Status::Ok.code()
    })?;
    r.func("env", "proxy_get_current_time_nanoseconds", |mut c: Call<'_>, ptr: i32| {
        let now = c.data().world.clock.now_ns;
        if write_u64(&mut c, ptr, now) { Status::Ok.code() } else { Status::InvalidMemoryAccess.code() }
    })
}
