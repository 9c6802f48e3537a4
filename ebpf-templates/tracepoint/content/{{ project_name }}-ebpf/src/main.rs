//! The tracepoint program: counts the events of the tracepoint it is attached
//! to (exec calls, by default) in EXECS, one counter per CPU.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::{map, tracepoint},
    maps::PerCpuArray,
    programs::TracePointContext,
};
use aya_log_ebpf::debug;

/// Events seen, per CPU (index 0). Per-CPU: BPF targets have no
/// AtomicU64::fetch_add, and per-CPU slots need no atomics at all.
#[map]
static EXECS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// Attached by the loader to the tracepoint it is given (the section is plain
/// `tracepoint`, so the same program fits any of them).
#[tracepoint]
pub fn count_exec(ctx: TracePointContext) -> u32 {
    if let Some(count) = EXECS.get_ptr_mut(0) {
        // SAFETY: this CPU's own slot; tracepoint programs do not nest on a CPU.
        unsafe { *count += 1 };
    }
    // The upper half of pid_tgid is the process id (the lower, the thread id).
    let pid = (bpf_get_current_pid_tgid() >> 32) as u32;
    // Shown with RUST_LOG=debug (the loader turns kernel-side logging off otherwise).
    debug!(&ctx, "exec by pid {}", pid);
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
