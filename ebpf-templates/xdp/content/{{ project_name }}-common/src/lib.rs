//! What the XDP program and its loader share, and the packet policy itself.
//!
//! The parsing is generic over [`Packet`]: in the kernel it reads the XDP
//! frame (each read checked against `data_end`, which is what the verifier
//! wants to see), in unit tests it reads a byte slice. So the code that
//! decides runs on the host too: `cargo test -p {{ project_name }}-common`.
#![cfg_attr(not(test), no_std)]

use core::fmt;
use core::net::Ipv4Addr;

/// The XDP program (its function name in {{ project_name }}-ebpf).
pub const PROGRAM: &str = "xdp_policy";
/// `HashMap<u32, u32>`: blocked IPv4 source address (network byte order) → 1.
pub const BLOCKLIST_MAP: &str = "BLOCKLIST";
/// How many addresses the blocklist holds.
pub const BLOCKLIST_CAPACITY: u32 = 1024;
/// `PerCpuArray<u64>`: packets per [`Verdict`], indexed by [`Verdict::index`].
pub const VERDICTS_MAP: &str = "VERDICTS";

pub const ETH_HDR_LEN: usize = 14;
/// Offset of the EtherType in an Ethernet header (after two MAC addresses).
pub const ETHERTYPE_OFFSET: usize = 12;
pub const ETH_P_IP: u16 = 0x0800;
pub const IPV4_MIN_HDR_LEN: usize = 20;

/// What the program does with a packet; also its counter's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Verdict {
    Pass = 0,
    Drop = 1,
}

impl Verdict {
    pub const ALL: [Verdict; 2] = [Verdict::Pass, Verdict::Drop];
    /// Entries of the verdict counter array.
    pub const COUNT: u32 = Self::ALL.len() as u32;

    pub const fn index(self) -> u32 {
        self as u32
    }

    pub const fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Drop => "drop",
        }
    }
}

/// Bytes of a packet, read by offset.
pub trait Packet {
    /// The `N` bytes at `offset`, or `None` when any of them lies past the end.
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]>;
}

impl Packet for [u8] {
    #[inline(always)]
    fn bytes<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        let end = offset.checked_add(N)?;
        self.get(offset..end)?.try_into().ok()
    }
}

/// What the policy reads from an IPv4 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet {
    /// Source address, as on the wire (network byte order).
    pub src: [u8; 4],
    pub dst: [u8; 4],
    /// The IP protocol number (6 TCP, 17 UDP, 1 ICMP, ...).
    pub protocol: u8,
    /// Where the transport header starts: Ethernet header plus the IPv4
    /// header with its options.
    pub l4_offset: usize,
}

/// The IPv4 header of an Ethernet frame, or `None` when the frame is not
/// IPv4 (ARP, IPv6, VLAN-tagged), is truncated, or its header is malformed.
#[inline(always)]
pub fn parse_ipv4<P: Packet + ?Sized>(packet: &P) -> Option<Ipv4Packet> {
    let ethertype = u16::from_be_bytes(packet.bytes(ETHERTYPE_OFFSET)?);
    if ethertype != ETH_P_IP {
        return None;
    }
    // The fixed part of the header in one read. Reads at fixed offsets come
    // first: the verifier cannot carry a check at a variable offset (the
    // options' end, below) over to fixed ones, which the compiler would
    // otherwise drop as implied by it.
    let header: [u8; IPV4_MIN_HDR_LEN] = packet.bytes(ETH_HDR_LEN)?;
    let version_ihl = header[0];
    // IHL counts 32-bit words; options make the header longer than 20 bytes.
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    if version_ihl >> 4 != 4 || header_len < IPV4_MIN_HDR_LEN {
        return None;
    }
    // The whole header, options included, must be in the packet.
    if header_len > IPV4_MIN_HDR_LEN {
        let [_] = packet.bytes::<1>(ETH_HDR_LEN + header_len - 1)?;
    }
    Some(Ipv4Packet {
        src: [header[12], header[13], header[14], header[15]],
        dst: [header[16], header[17], header[18], header[19]],
        protocol: header[9],
        l4_offset: ETH_HDR_LEN + header_len,
    })
}

/// The blocklist key of an address as read from a packet: its four bytes in
/// wire order, kept in that order in memory (so the value is the address in
/// network byte order, whatever the CPU's endianness).
#[inline(always)]
pub const fn key_of(wire: [u8; 4]) -> u32 {
    u32::from_ne_bytes(wire)
}

/// The blocklist key the loader writes for `addr`.
pub const fn blocklist_key(addr: Ipv4Addr) -> u32 {
    key_of(addr.octets())
}

/// The address a blocklist key stands for.
pub const fn address_of(key: u32) -> Ipv4Addr {
    let [a, b, c, d] = key.to_ne_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// Drops IPv4 packets whose source is blocked; everything else passes
/// (non-IPv4 and malformed frames are the kernel's business).
#[inline(always)]
pub fn verdict(packet: Option<&Ipv4Packet>, is_blocked: impl FnOnce(u32) -> bool) -> Verdict {
    match packet {
        Some(ip) if is_blocked(key_of(ip.src)) => Verdict::Drop,
        _ => Verdict::Pass,
    }
}

/// The sum of one counter's per-CPU values.
pub fn total(per_cpu: impl IntoIterator<Item = u64>) -> u64 {
    per_cpu.into_iter().fold(0, u64::saturating_add)
}

/// The counters the loader prints: `pass=12 drop=3`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pass: u64,
    pub drop: u64,
}

impl Counts {
    pub fn set(&mut self, verdict: Verdict, value: u64) {
        match verdict {
            Verdict::Pass => self.pass = value,
            Verdict::Drop => self.drop = value,
        }
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pass={} drop={}", self.pass, self.drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet frame carrying an IPv4 header of `ihl` words and `payload`.
    fn frame(
        ethertype: u16,
        version_ihl: u8,
        protocol: u8,
        src: [u8; 4],
        dst: [u8; 4],
        payload: &[u8],
    ) -> Vec<u8> {
        let mut f = vec![0xff; 6]; // destination MAC
        f.extend([0x02, 0, 0, 0, 0, 1]); // source MAC
        f.extend(ethertype.to_be_bytes());
        let header_len = usize::from(version_ihl & 0x0f) * 4;
        let mut ip = vec![0u8; header_len.max(IPV4_MIN_HDR_LEN)];
        ip[0] = version_ihl;
        ip[8] = 64; // TTL
        ip[9] = protocol;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        f.extend(ip);
        f.extend(payload);
        f
    }

    const A: [u8; 4] = [10, 200, 0, 1];
    const B: [u8; 4] = [10, 200, 0, 2];

    #[test]
    fn parses_an_icmp_packet() {
        let f = frame(ETH_P_IP, 0x45, 1, A, B, &[8, 0, 0, 0]);
        let ip = parse_ipv4(f.as_slice()).expect("IPv4");
        assert_eq!(
            ip,
            Ipv4Packet {
                src: A,
                dst: B,
                protocol: 1,
                l4_offset: 34
            }
        );
    }

    #[test]
    fn options_move_the_transport_header() {
        let f = frame(ETH_P_IP, 0x46, 6, A, B, &[0; 20]);
        assert_eq!(
            parse_ipv4(f.as_slice()).unwrap().l4_offset,
            ETH_HDR_LEN + 24
        );
    }

    #[test]
    fn other_ethertypes_are_not_ipv4() {
        for ethertype in [0x0806, 0x86dd, 0x8100] {
            let f = frame(ethertype, 0x45, 6, A, B, &[]);
            assert_eq!(parse_ipv4(f.as_slice()), None, "{ethertype:#06x}");
        }
    }

    #[test]
    fn malformed_headers_are_rejected() {
        // Version 6 in an IPv4 frame; IHL below 5 words.
        assert_eq!(
            parse_ipv4(frame(ETH_P_IP, 0x65, 6, A, B, &[]).as_slice()),
            None
        );
        assert_eq!(
            parse_ipv4(frame(ETH_P_IP, 0x44, 6, A, B, &[]).as_slice()),
            None
        );
        // IHL says 60 bytes, the frame ends after 20.
        let mut f = frame(ETH_P_IP, 0x45, 6, A, B, &[]);
        f[ETH_HDR_LEN] = 0x4f;
        assert_eq!(parse_ipv4(f.as_slice()), None);
    }

    #[test]
    fn truncated_frames_are_rejected_at_every_length() {
        let f = frame(ETH_P_IP, 0x45, 17, A, B, &[]);
        for len in 0..f.len() {
            assert_eq!(parse_ipv4(&f[..len]), None, "{len} bytes");
        }
        assert!(parse_ipv4(f.as_slice()).is_some());
    }

    #[test]
    fn reads_stop_at_the_end() {
        let bytes = [1u8, 2, 3];
        assert_eq!(bytes.as_slice().bytes::<3>(0), Some([1, 2, 3]));
        assert_eq!(bytes.as_slice().bytes::<1>(2), Some([3]));
        assert_eq!(bytes.as_slice().bytes::<1>(3), None);
        assert_eq!(bytes.as_slice().bytes::<2>(usize::MAX), None);
    }

    #[test]
    fn keys_are_addresses_in_network_byte_order() {
        let key = blocklist_key(Ipv4Addr::new(10, 200, 0, 1));
        // In memory the key is the address as on the wire, on any CPU.
        assert_eq!(key.to_ne_bytes(), A);
        assert_eq!(key, u32::from_be(u32::from(Ipv4Addr::new(10, 200, 0, 1))));
        assert_eq!(address_of(key), Ipv4Addr::new(10, 200, 0, 1));
        // What the loader writes is what the program looks up.
        let ip = parse_ipv4(frame(ETH_P_IP, 0x45, 1, A, B, &[]).as_slice()).unwrap();
        assert_eq!(key_of(ip.src), key);
    }

    #[test]
    fn blocked_sources_are_dropped_and_nothing_else() {
        let blocked = blocklist_key(Ipv4Addr::new(10, 200, 0, 1));
        let is_blocked = |key| key == blocked;
        let from_a = parse_ipv4(frame(ETH_P_IP, 0x45, 1, A, B, &[]).as_slice());
        let from_b = parse_ipv4(frame(ETH_P_IP, 0x45, 1, B, A, &[]).as_slice());
        assert_eq!(verdict(from_a.as_ref(), is_blocked), Verdict::Drop);
        // Only the source counts: traffic to a blocked address passes.
        assert_eq!(verdict(from_b.as_ref(), is_blocked), Verdict::Pass);
        assert_eq!(verdict(None, |_| true), Verdict::Pass);
    }

    #[test]
    fn verdicts_index_the_counters() {
        assert_eq!(Verdict::ALL.map(Verdict::index), [0, 1]);
        assert_eq!(Verdict::COUNT, 2);
        assert_eq!(Verdict::Drop.name(), "drop");
    }

    #[test]
    fn counts_sum_cpus_and_print() {
        assert_eq!(total([3, 0, 4]), 7);
        assert_eq!(total([u64::MAX, 1]), u64::MAX);
        let mut counts = Counts::default();
        counts.set(Verdict::Pass, 7);
        counts.set(Verdict::Drop, 2);
        assert_eq!(counts.to_string(), "pass=7 drop=2");
    }
}
