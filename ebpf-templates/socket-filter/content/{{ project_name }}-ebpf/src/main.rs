//! The socket filter: counts the packets its socket sees by IP protocol in
//! PROTOCOLS (one counter per CPU) and keeps none of them: the loader wants
//! the counts, not the packets.
#![no_std]
#![no_main]

use core::ffi::c_void;

use aya_ebpf::{
    EbpfContext as _,
    bindings::bpf_hdr_start_off::BPF_HDR_START_NET,
    helpers::generated::bpf_skb_load_bytes_relative,
    macros::{map, socket_filter},
    maps::PerCpuArray,
    programs::SkBuffContext,
};

use {{ crate_name }}_common as common;

use common::{Packet, Protocol};

/// Packets per protocol. Per-CPU: BPF targets have no AtomicU64::fetch_add,
/// and per-CPU slots need no atomics at all.
#[map]
static PROTOCOLS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Protocol::COUNT, 0);

/// The packet from its network header on, whatever the link layer (Ethernet,
/// loopback, none at all on tun devices): socket filters cannot read packet
/// memory directly, so every read is a helper call that checks the bounds.
struct NetworkHeader<'a>(&'a SkBuffContext);

impl Packet for NetworkHeader<'_> {
    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let mut out = [0u8; N];
        // SAFETY: the helper writes at most N bytes into `out`.
        let ret = unsafe {
            bpf_skb_load_bytes_relative(
                self.0.as_ptr() as *const c_void,
                offset as u32,
                out.as_mut_ptr() as *mut c_void,
                N as u32,
                BPF_HDR_START_NET,
            )
        };
        (ret == 0).then_some(out)
    }
}

#[socket_filter]
pub fn count_protocols(ctx: SkBuffContext) -> i64 {
    let protocol = common::classify(&NetworkHeader(&ctx));
    if let Some(count) = PROTOCOLS.get_ptr_mut(protocol.index()) {
        // SAFETY: this CPU's own slot, written only by programs running on this CPU.
        unsafe { *count += 1 };
    }
    // How many bytes of the packet the socket receives: none. (No log line per
    // packet either: on an ssh session's interface each line would be a packet.)
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
