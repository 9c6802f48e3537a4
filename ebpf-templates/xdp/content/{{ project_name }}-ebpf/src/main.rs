//! The XDP program: drops IPv4 packets whose source address is in BLOCKLIST,
//! counts every verdict in VERDICTS (one counter per CPU, summed by the loader).
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{HashMap, PerCpuArray},
    programs::XdpContext,
};
use aya_log_ebpf::debug;

use {{ crate_name }}_common as common;

use common::{BLOCKLIST_CAPACITY, Packet, Verdict};

/// Blocked source addresses (network byte order) → 1; the loader fills it.
#[map]
static BLOCKLIST: HashMap<u32, u32> = HashMap::with_max_entries(BLOCKLIST_CAPACITY, 0);

/// Packets per verdict. Per-CPU: BPF targets have no AtomicU64::fetch_add,
/// and per-CPU slots need no atomics at all.
#[map]
static VERDICTS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Verdict::COUNT, 0);

/// The frame between `data` and `data_end`, read the way the verifier accepts:
/// every access is preceded by a comparison against the end.
struct Frame {
    start: usize,
    end: usize,
}

impl Packet for Frame {
    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let at = self.start + offset;
        if at + N > self.end {
            return None;
        }
        // SAFETY: the N bytes at `at` lie inside the frame (checked above).
        Some(unsafe { (at as *const [u8; N]).read_unaligned() })
    }
}

#[xdp]
pub fn xdp_policy(ctx: XdpContext) -> u32 {
    let frame = Frame {
        start: ctx.data(),
        end: ctx.data_end(),
    };
    let ip = common::parse_ipv4(&frame);
    // SAFETY: the value is only tested for presence, never held.
    let verdict = common::verdict(ip.as_ref(), |key| unsafe { BLOCKLIST.get(&key) }.is_some());
    if let Some(count) = VERDICTS.get_ptr_mut(verdict.index()) {
        // SAFETY: this CPU's own slot; XDP programs do not preempt themselves on a CPU.
        unsafe { *count += 1 };
    }
    match verdict {
        Verdict::Pass => xdp_action::XDP_PASS,
        Verdict::Drop => {
            if let Some(ip) = ip {
                // Shown with RUST_LOG=debug (the loader turns kernel-side logging off otherwise).
                debug!(&ctx, "drop from {:i}", u32::from_be_bytes(ip.src));
            }
            xdp_action::XDP_DROP
        }
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
