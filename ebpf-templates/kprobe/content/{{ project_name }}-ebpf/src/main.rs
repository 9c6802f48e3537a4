//! The kprobe program: counts calls to the kernel function it is attached to
//! ({{ function }}, by default) in CALLS, one counter per CPU.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::{kprobe, map},
    maps::PerCpuArray,
    programs::ProbeContext,
};
use aya_log_ebpf::debug;

/// Calls seen, per CPU (index 0). Per-CPU: BPF targets have no
/// AtomicU64::fetch_add, and per-CPU slots need no atomics at all.
#[map]
static CALLS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// Attached by the loader to the function it is given (the section is plain
/// `kprobe`, so the same program fits any function).
#[kprobe]
pub fn count_calls(ctx: ProbeContext) -> u32 {
    if let Some(count) = CALLS.get_ptr_mut(0) {
        // SAFETY: this CPU's own slot; kprobe programs do not nest on a CPU.
        unsafe { *count += 1 };
    }
    // The upper half of pid_tgid is the process id (the lower, the thread id).
    let pid = (bpf_get_current_pid_tgid() >> 32) as u32;
    // Shown with RUST_LOG=debug (the loader turns kernel-side logging off otherwise).
    debug!(&ctx, "call by pid {}", pid);
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
