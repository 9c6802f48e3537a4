//! The TC classifier: drops TCP and UDP packets from or to a port that
//! DROP_PORT marks, counts every verdict in VERDICTS (one counter per CPU).
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::{TC_ACT_PIPE, TC_ACT_SHOT},
    macros::{classifier, map},
    maps::{HashMap, PerCpuArray},
    programs::TcContext,
};
use aya_log_ebpf::debug;

use {{ crate_name }}_common as common;

use common::{DROP_PORT_CAPACITY, Packet, Verdict};

/// Port (host byte order) → 1 to drop its packets, 0 to let them pass; the loader fills it.
#[map]
static DROP_PORT: HashMap<u16, u8> = HashMap::with_max_entries(DROP_PORT_CAPACITY, 0);

/// Packets per verdict. Per-CPU: BPF targets have no AtomicU64::fetch_add,
/// and per-CPU slots need no atomics at all.
#[map]
static VERDICTS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Verdict::COUNT, 0);

/// The socket buffer's linear data, read the way the verifier accepts: every
/// access is preceded by a comparison against the end. Headers are linear for
/// all but unusual packets; those are parsed as far as they go, and pass.
struct Linear {
    start: usize,
    end: usize,
}

impl Packet for Linear {
    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let at = self.start + offset;
        if at + N > self.end {
            return None;
        }
        // SAFETY: the N bytes at `at` lie inside the linear data (checked above).
        Some(unsafe { (at as *const [u8; N]).read_unaligned() })
    }
}

#[classifier]
pub fn tc_port_filter(ctx: TcContext) -> i32 {
    let packet = Linear {
        start: ctx.data(),
        end: ctx.data_end(),
    };
    let flow = common::parse_flow(&packet);
    // SAFETY: the value is copied out at once, never held.
    let verdict = common::verdict(flow, |port| {
        common::drops(unsafe { DROP_PORT.get(&port) }.copied())
    });
    if let Some(count) = VERDICTS.get_ptr_mut(verdict.index()) {
        // SAFETY: this CPU's own slot.
        unsafe { *count += 1 };
    }
    match verdict {
        // PIPE: on to the next classifier, if any; the packet passes otherwise.
        Verdict::Pass => TC_ACT_PIPE as i32,
        Verdict::Drop => {
            if let Some(flow) = flow {
                // Shown with RUST_LOG=debug (the loader turns kernel-side logging off otherwise).
                debug!(
                    &ctx,
                    "drop protocol {} port {} -> {}", flow.protocol, flow.src_port, flow.dst_port
                );
            }
            TC_ACT_SHOT as i32
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
