//! What the TC classifier and its loader share, and the port policy itself.
//!
//! The parsing is generic over [`Packet`]: in the kernel it reads the socket
//! buffer's linear data (each read checked against `data_end`, which is what
//! the verifier wants to see), in unit tests it reads a byte slice. So the
//! code that decides runs on the host too: `cargo test -p {{ project_name }}-common`.
#![cfg_attr(not(test), no_std)]

use core::fmt;

/// The classifier (its function name in {{ project_name }}-ebpf).
pub const PROGRAM: &str = "tc_port_filter";
/// `HashMap<u16, u8>`: TCP/UDP port (host byte order) → 1 to drop, 0 to let pass.
pub const DROP_PORT_MAP: &str = "DROP_PORT";
/// How many ports DROP_PORT holds.
pub const DROP_PORT_CAPACITY: u32 = 256;
/// `PerCpuArray<u64>`: packets per [`Verdict`], indexed by [`Verdict::index`].
pub const VERDICTS_MAP: &str = "VERDICTS";

pub const ETH_HDR_LEN: usize = 14;
/// Offset of the EtherType in an Ethernet header (after two MAC addresses).
pub const ETHERTYPE_OFFSET: usize = 12;
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const IPV4_MIN_HDR_LEN: usize = 20;
pub const IPV6_HDR_LEN: usize = 40;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

/// What the classifier does with a packet; also its counter's index.
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

/// The transport protocol and ports of a TCP or UDP packet (host byte order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub protocol: u8,
    pub src_port: u16,
    pub dst_port: u16,
}

/// The ports of a TCP or UDP packet in an Ethernet frame, over IPv4 or IPv6.
/// `None` for anything else: other protocols (ICMP, ARP), IPv4 fragments
/// after the first (they have no transport header), IPv6 packets whose first
/// next header is an extension header, and truncated or malformed frames.
#[inline(always)]
pub fn parse_flow<P: Packet + ?Sized>(packet: &P) -> Option<Flow> {
    let ethertype = u16::from_be_bytes(packet.bytes(ETHERTYPE_OFFSET)?);
    let (protocol, l4_offset) = match ethertype {
        // Reads at fixed offsets come first, the ports (at a variable offset
        // after IPv4 options) last: the verifier cannot carry a check at a
        // variable offset over to fixed ones, which the compiler would
        // otherwise drop as implied by it.
        ETH_P_IP => {
            let header: [u8; IPV4_MIN_HDR_LEN] = packet.bytes(ETH_HDR_LEN)?;
            // IHL counts 32-bit words; options make the header longer than 20 bytes.
            let header_len = usize::from(header[0] & 0x0f) * 4;
            if header[0] >> 4 != 4 || header_len < IPV4_MIN_HDR_LEN {
                return None;
            }
            let flags_fragment = u16::from_be_bytes([header[6], header[7]]);
            if flags_fragment & 0x1fff != 0 {
                return None;
            }
            (header[9], ETH_HDR_LEN + header_len)
        }
        ETH_P_IPV6 => {
            // Version, traffic class, flow label, payload length, next header.
            let start: [u8; 7] = packet.bytes(ETH_HDR_LEN)?;
            if start[0] >> 4 != 6 {
                return None;
            }
            (start[6], ETH_HDR_LEN + IPV6_HDR_LEN)
        }
        _ => return None,
    };
    if protocol != IPPROTO_TCP && protocol != IPPROTO_UDP {
        return None;
    }
    // Both TCP and UDP start with the source and destination ports.
    let [s0, s1, d0, d1] = packet.bytes(l4_offset)?;
    Some(Flow {
        protocol,
        src_port: u16::from_be_bytes([s0, s1]),
        dst_port: u16::from_be_bytes([d0, d1]),
    })
}

/// Drops TCP and UDP packets from or to a port that `drops` says so of;
/// everything else passes.
#[inline(always)]
pub fn verdict(flow: Option<Flow>, drops: impl Fn(u16) -> bool) -> Verdict {
    match flow {
        Some(flow) if drops(flow.src_port) || drops(flow.dst_port) => Verdict::Drop,
        _ => Verdict::Pass,
    }
}

/// What a DROP_PORT value means: nonzero drops, zero keeps the port listed
/// but lets its packets pass.
#[inline(always)]
pub const fn drops(value: Option<u8>) -> bool {
    matches!(value, Some(v) if v != 0)
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

    fn ethernet(ethertype: u16) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend([0x02, 0, 0, 0, 0, 1]);
        f.extend(ethertype.to_be_bytes());
        f
    }

    /// An IPv4 frame (header of `ihl` words) carrying `ports` as the transport header.
    fn ipv4(ihl: u8, protocol: u8, flags_fragment: u16, src_port: u16, dst_port: u16) -> Vec<u8> {
        let mut f = ethernet(ETH_P_IP);
        let mut ip = vec![0u8; usize::from(ihl) * 4];
        ip[0] = 0x40 | ihl;
        ip[6..8].copy_from_slice(&flags_fragment.to_be_bytes());
        ip[8] = 64;
        ip[9] = protocol;
        ip[12..16].copy_from_slice(&[10, 200, 0, 1]);
        ip[16..20].copy_from_slice(&[10, 200, 0, 2]);
        f.extend(ip);
        f.extend(src_port.to_be_bytes());
        f.extend(dst_port.to_be_bytes());
        f.extend([0; 4]); // rest of a UDP header
        f
    }

    fn ipv6(next_header: u8, src_port: u16, dst_port: u16) -> Vec<u8> {
        let mut f = ethernet(ETH_P_IPV6);
        let mut ip = vec![0u8; IPV6_HDR_LEN];
        ip[0] = 0x60;
        ip[6] = next_header;
        ip[7] = 64;
        f.extend(ip);
        f.extend(src_port.to_be_bytes());
        f.extend(dst_port.to_be_bytes());
        f
    }

    fn flow(bytes: &[u8]) -> Option<Flow> {
        parse_flow(bytes)
    }

    #[test]
    fn reads_tcp_and_udp_ports_over_ipv4() {
        assert_eq!(
            flow(&ipv4(5, IPPROTO_TCP, 0, 40000, 8080)),
            Some(Flow {
                protocol: IPPROTO_TCP,
                src_port: 40000,
                dst_port: 8080
            })
        );
        assert_eq!(
            flow(&ipv4(5, IPPROTO_UDP, 0x4000, 53, 5353)).map(|f| (f.src_port, f.dst_port)),
            Some((53, 5353))
        );
    }

    #[test]
    fn ip_options_move_the_ports() {
        assert_eq!(
            flow(&ipv4(7, IPPROTO_UDP, 0, 1, 2)).map(|f| (f.src_port, f.dst_port)),
            Some((1, 2))
        );
    }

    #[test]
    fn reads_ports_over_ipv6() {
        assert_eq!(
            flow(&ipv6(IPPROTO_TCP, 443, 8080)),
            Some(Flow {
                protocol: IPPROTO_TCP,
                src_port: 443,
                dst_port: 8080
            })
        );
        // A hop-by-hop options header first: not followed.
        assert_eq!(flow(&ipv6(0, 443, 8080)), None);
    }

    #[test]
    fn other_protocols_have_no_ports() {
        assert_eq!(flow(&ipv4(5, 1, 0, 8080, 8080)), None); // ICMP
        let mut arp = ethernet(0x0806);
        arp.extend([0; 28]);
        assert_eq!(flow(&arp), None);
    }

    #[test]
    fn later_fragments_have_no_ports() {
        // Fragment offset 185 (x 8 bytes): the bytes there are payload, not ports.
        assert_eq!(flow(&ipv4(5, IPPROTO_UDP, 185, 8080, 8080)), None);
        // The first fragment (more-fragments bit, offset 0) still has them.
        assert!(flow(&ipv4(5, IPPROTO_UDP, 0x2000, 8080, 8080)).is_some());
    }

    #[test]
    fn malformed_and_truncated_frames_have_no_ports() {
        let mut bad_version = ipv4(5, IPPROTO_TCP, 0, 1, 2);
        bad_version[ETH_HDR_LEN] = 0x55;
        assert_eq!(flow(&bad_version), None);
        let mut short_ihl = ipv4(5, IPPROTO_TCP, 0, 1, 2);
        short_ihl[ETH_HDR_LEN] = 0x44;
        assert_eq!(flow(&short_ihl), None);
        let whole = ipv4(5, IPPROTO_TCP, 0, 1, 2);
        let ports_end = ETH_HDR_LEN + 20 + 4;
        for len in 0..ports_end {
            assert_eq!(flow(&whole[..len]), None, "{len} bytes");
        }
        assert!(flow(&whole[..ports_end]).is_some());
    }

    #[test]
    fn drops_either_direction_of_a_listed_port() {
        let dropped = |port| port == 8080;
        let to = flow(&ipv4(5, IPPROTO_TCP, 0, 40000, 8080));
        let from = flow(&ipv4(5, IPPROTO_UDP, 0, 8080, 40000));
        let other = flow(&ipv4(5, IPPROTO_TCP, 0, 40000, 8081));
        assert_eq!(verdict(to, dropped), Verdict::Drop);
        assert_eq!(verdict(from, dropped), Verdict::Drop);
        assert_eq!(verdict(other, dropped), Verdict::Pass);
        assert_eq!(verdict(None, |_| true), Verdict::Pass);
    }

    #[test]
    fn map_values_switch_dropping() {
        assert!(drops(Some(1)));
        assert!(!drops(Some(0)));
        assert!(!drops(None));
    }

    #[test]
    fn reads_stop_at_the_end() {
        let bytes = [1u8, 2, 3];
        assert_eq!(bytes.as_slice().bytes::<3>(0), Some([1, 2, 3]));
        assert_eq!(bytes.as_slice().bytes::<1>(3), None);
        assert_eq!(bytes.as_slice().bytes::<2>(usize::MAX), None);
    }

    #[test]
    fn counts_sum_cpus_and_print() {
        assert_eq!(Verdict::ALL.map(Verdict::index), [0, 1]);
        assert_eq!(total([3, 0, 4]), 7);
        let mut counts = Counts::default();
        counts.set(Verdict::Pass, 7);
        counts.set(Verdict::Drop, 2);
        assert_eq!(counts.to_string(), "pass=7 drop=2");
    }
}
