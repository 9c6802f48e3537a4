//! Reading and writing the filter's linear memory, and handing it buffers allocated with its
//! own allocator (`malloc` or `proxy_on_memory_allocate`), which the SDKs free themselves.

use wasmtime::Caller;

use crate::wasmhost::state::{HostState, Status};

pub(crate) type Call<'a> = Caller<'a, HostState>;

/// Bytes at `ptr..ptr+len`, or `None` when that is outside memory.
pub(crate) fn read(caller: &mut Call<'_>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let memory = caller.data().memory?;
    let data = memory.data(&*caller);
    let start = ptr as u32 as usize;
    let end = start.checked_add(len as u32 as usize)?;
    data.get(start..end).map(<[u8]>::to_vec)
}

/// Like `read`, as (lossy) UTF-8.
pub(crate) fn read_string(caller: &mut Call<'_>, ptr: i32, len: i32) -> Option<String> {
    read(caller, ptr, len).map(|b| String::from_utf8_lossy(&b).into_owned())
}

pub(crate) fn write(caller: &mut Call<'_>, ptr: u32, bytes: &[u8]) -> bool {
    let Some(memory) = caller.data().memory else { return false };
    let data = memory.data_mut(&mut *caller);
    let start = ptr as usize;
    match start.checked_add(bytes.len()).and_then(|end| data.get_mut(start..end)) {
        Some(target) => {
            target.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

pub(crate) fn write_u32(caller: &mut Call<'_>, ptr: i32, value: u32) -> bool {
    write(caller, ptr as u32, &value.to_le_bytes())
}

pub(crate) fn write_u64(caller: &mut Call<'_>, ptr: i32, value: u64) -> bool {
    write(caller, ptr as u32, &value.to_le_bytes())
}

/// Copies `bytes` into a buffer the module allocates, and writes its address and size to
/// `ptr_ptr` and `size_ptr`. Empty data is returned as address 0, size 0 (no allocation), as
/// proxy-wasm-cpp-host does. A trap inside the allocator is passed on.
pub(crate) fn copy_out(caller: &mut Call<'_>, bytes: &[u8], ptr_ptr: i32, size_ptr: i32) -> wasmtime::Result<Status> {
    if bytes.is_empty() {
        let ok = write_u32(caller, ptr_ptr, 0) && write_u32(caller, size_ptr, 0);
        return Ok(if ok { Status::Ok } else { Status::InvalidMemoryAccess });
    }
    let Some(alloc) = caller.data().alloc.clone() else {
        return Ok(Status::InternalFailure);
    };
    let address = alloc.call(&mut *caller, bytes.len() as i32)?;
    if address == 0 {
        return Ok(Status::InvalidMemoryAccess);
    }
    let ok = write(caller, address as u32, bytes)
        && write_u32(caller, ptr_ptr, address as u32)
        && write_u32(caller, size_ptr, bytes.len() as u32);
    Ok(if ok { Status::Ok } else { Status::InvalidMemoryAccess })
}
