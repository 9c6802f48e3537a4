//! Shared data (with compare-and-swap) and shared queues, kept for the whole scenario file.
//! Enqueueing tells the queue's owner with `proxy_on_queue_ready` once the current callback
//! returns, as Envoy posts it to the worker's dispatcher.

use super::Registry;
use super::memory::{Call, copy_out, read, read_string, write_u32};
use crate::wasmhost::state::{Queue, Status};

pub(super) fn register(r: &mut Registry<'_>) -> wasmtime::Result<()> {
    r.func(
        "env",
        "proxy_get_shared_data",
        |mut c: Call<'_>, key_ptr: i32, key_len: i32, ptr_ptr: i32, size_ptr: i32, cas_ptr: i32| {
            let Some(key) = read_string(&mut c, key_ptr, key_len) else {
                return Ok(Status::InvalidMemoryAccess.code());
            };
            let Some((value, cas)) = c.data().world.shared_data.entries.get(&key).cloned() else {
                return Ok(Status::NotFound.code());
            };
            let status = copy_out(&mut c, &value, ptr_ptr, size_ptr)?;
            if status != Status::Ok {
                return Ok(status.code());
            }
            Ok(if write_u32(&mut c, cas_ptr, cas) { Status::Ok } else { Status::InvalidMemoryAccess }.code())
        },
    )?;
    r.func(
        "env",
        "proxy_set_shared_data",
        |mut c: Call<'_>, key_ptr: i32, key_len: i32, ptr: i32, len: i32, cas: i32| {
            let (Some(key), Some(value)) = (read_string(&mut c, key_ptr, key_len), read(&mut c, ptr, len)) else {
                return Status::InvalidMemoryAccess.code();
            };
            c.data_mut().world.shared_data.set(&key, value, cas as u32).code()
        },
    )?;
    r.func("env", "proxy_register_shared_queue", |mut c: Call<'_>, name_ptr: i32, name_len: i32, token_ptr: i32| {
        let Some(name) = read_string(&mut c, name_ptr, name_len) else { return Status::InvalidMemoryAccess.code() };
        let state = c.data_mut();
        let owner = state.active_root();
        let vm_id = state.world.plugin.vm_id.clone();
        let queues = &mut state.world.queues;
        let token = match queues.token(&vm_id, &name) {
            Some(token) => token,
            None => {
                queues.list.push(Queue { vm_id, name, items: Default::default(), owner });
                queues.list.len() as u32
            }
        };
        if write_u32(&mut c, token_ptr, token) { Status::Ok.code() } else { Status::InvalidMemoryAccess.code() }
    })?;
    r.func(
        "env",
        "proxy_resolve_shared_queue",
        |mut c: Call<'_>, vm_ptr: i32, vm_len: i32, name_ptr: i32, name_len: i32, token_ptr: i32| {
            let (Some(vm_id), Some(name)) =
                (read_string(&mut c, vm_ptr, vm_len), read_string(&mut c, name_ptr, name_len))
            else {
                return Status::InvalidMemoryAccess.code();
            };
            let world = &c.data().world;
            let vm_id = if vm_id.is_empty() { world.plugin.vm_id.clone() } else { vm_id };
            let Some(token) = world.queues.token(&vm_id, &name) else { return Status::NotFound.code() };
            if write_u32(&mut c, token_ptr, token) { Status::Ok.code() } else { Status::InvalidMemoryAccess.code() }
        },
    )?;
    r.func("env", "proxy_enqueue_shared_queue", |mut c: Call<'_>, token: i32, ptr: i32, len: i32| {
        let Some(value) = read(&mut c, ptr, len) else { return Status::InvalidMemoryAccess.code() };
        let state = c.data_mut();
        let Some(queue) = state.world.queues.get_mut(token as u32) else { return Status::NotFound.code() };
        queue.items.push_back(value);
        let owner = queue.owner;
        state.queue_ready.push_back((owner, token as u32));
        Status::Ok.code()
    })?;
    r.func("env", "proxy_dequeue_shared_queue", |mut c: Call<'_>, token: i32, ptr_ptr: i32, size_ptr: i32| {
        let Some(queue) = c.data_mut().world.queues.get_mut(token as u32) else {
            return Ok(Status::NotFound.code());
        };
        let Some(item) = queue.items.pop_front() else { return Ok(Status::Empty.code()) };
        copy_out(&mut c, &item, ptr_ptr, size_ptr).map(Status::code)
    })
}
