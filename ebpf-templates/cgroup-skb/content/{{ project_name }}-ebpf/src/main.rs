//! The cgroup SKB programs: count the packets and bytes that the sockets of a
//! cgroup (and its descendants) receive or send, in TRAFFIC, and let every
//! packet through.
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{cgroup_skb, map},
    maps::PerCpuArray,
    programs::SkBuffContext,
};

use {{ crate_name }}_common as common;

use common::{ALLOW, Direction, Traffic};

/// Traffic per direction. Per-CPU: BPF targets have no AtomicU64::fetch_add,
/// and per-CPU slots need no atomics at all.
#[map]
static TRAFFIC: PerCpuArray<Traffic> = PerCpuArray::with_max_entries(Direction::COUNT, 0);

// One program per direction, so each can be attached on its own or both together.
// They do not log per packet: when the cgroup holds the terminal's ssh session, every
// log line would be a packet to log, and so on.

#[cgroup_skb(ingress)]
pub fn count_ingress(ctx: SkBuffContext) -> i32 {
    count(&ctx, Direction::Ingress)
}

#[cgroup_skb(egress)]
pub fn count_egress(ctx: SkBuffContext) -> i32 {
    count(&ctx, Direction::Egress)
}

#[inline(always)]
fn count(ctx: &SkBuffContext, direction: Direction) -> i32 {
    if let Some(traffic) = TRAFFIC.get_ptr_mut(direction.index()) {
        // SAFETY: this CPU's own slot, written only by programs running on this CPU.
        unsafe { (*traffic).add(ctx.len()) };
    }
    ALLOW
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
