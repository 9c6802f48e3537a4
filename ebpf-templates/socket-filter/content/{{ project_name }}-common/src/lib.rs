//! What the socket filter and its loader share, and the classification
//! itself.
//!
//! [`classify`] is generic over [`Packet`], which reads from the start of
//! the network (IP) header: in the kernel through `bpf_skb_load_bytes_relative`
//! (so the link layer does not matter), in unit tests from a byte slice. So
//! the code that decides runs on the host too:
//! `cargo test -p {{ project_name }}-common`.
#![cfg_attr(not(test), no_std)]

use core::fmt;

/// The socket filter (its function name in {{ project_name }}-ebpf).
pub const PROGRAM: &str = "count_protocols";
/// `PerCpuArray<u64>`: packets per [`Protocol`], indexed by [`Protocol::index`].
pub const PROTOCOLS_MAP: &str = "PROTOCOLS";

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;

/// What a packet carries, as far as the counters care; also its counter's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Protocol {
    Tcp = 0,
    Udp = 1,
    /// ICMP over IPv4 and ICMPv6.
    Icmp = 2,
    /// Other IP protocols, IPv6 packets that start with an extension header,
    /// and everything that is not IP (ARP, LLDP, ...).
    Other = 3,
}

impl Protocol {
    pub const ALL: [Protocol; 4] = [
        Protocol::Tcp,
        Protocol::Udp,
        Protocol::Icmp,
        Protocol::Other,
    ];
    /// Entries of the protocol counter array.
    pub const COUNT: u32 = Self::ALL.len() as u32;

    pub const fn index(self) -> u32 {
        self as u32
    }

    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Other => "other",
        }
    }

    /// The class of an IP protocol number (IPv4's protocol, IPv6's next header).
    pub const fn from_ip(version: u8, number: u8) -> Protocol {
        match (version, number) {
            (_, IPPROTO_TCP) => Protocol::Tcp,
            (_, IPPROTO_UDP) => Protocol::Udp,
            (4, IPPROTO_ICMP) | (6, IPPROTO_ICMPV6) => Protocol::Icmp,
            _ => Protocol::Other,
        }
    }
}

/// Bytes of a packet, read by offset from the start of its network header.
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

/// The class of a packet, read from its network header: the IP version in
/// the first nibble, then IPv4's protocol (byte 9) or IPv6's next header
/// (byte 6). Anything else, or too short to tell, is [`Protocol::Other`].
#[inline(always)]
pub fn classify<P: Packet + ?Sized>(packet: &P) -> Protocol {
    let Some([first]) = packet.bytes::<1>(0) else {
        return Protocol::Other;
    };
    let version = first >> 4;
    let at = match version {
        4 if first & 0x0f >= 5 => 9,
        6 => 6,
        _ => return Protocol::Other,
    };
    match packet.bytes::<1>(at) {
        Some([number]) => Protocol::from_ip(version, number),
        None => Protocol::Other,
    }
}

/// The sum of one counter's per-CPU values.
pub fn total(per_cpu: impl IntoIterator<Item = u64>) -> u64 {
    per_cpu.into_iter().fold(0, u64::saturating_add)
}

/// The counters the loader prints: `tcp=12 udp=3 icmp=0 other=1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub [u64; Protocol::COUNT as usize]);

impl Counts {
    pub fn set(&mut self, protocol: Protocol, value: u64) {
        self.0[protocol.index() as usize] = value;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, protocol) in Protocol::ALL.iter().enumerate() {
            let separator = if i == 0 { "" } else { " " };
            write!(
                f,
                "{separator}{}={}",
                protocol.name(),
                self.0[protocol.index() as usize]
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4(protocol: u8) -> Vec<u8> {
        let mut ip = vec![0u8; 20];
        ip[0] = 0x45;
        ip[8] = 64;
        ip[9] = protocol;
        ip
    }

    fn ipv6(next_header: u8) -> Vec<u8> {
        let mut ip = vec![0u8; 40];
        ip[0] = 0x60;
        ip[6] = next_header;
        ip
    }

    #[test]
    fn classifies_ipv4() {
        assert_eq!(classify(ipv4(IPPROTO_TCP).as_slice()), Protocol::Tcp);
        assert_eq!(classify(ipv4(IPPROTO_UDP).as_slice()), Protocol::Udp);
        assert_eq!(classify(ipv4(IPPROTO_ICMP).as_slice()), Protocol::Icmp);
        assert_eq!(classify(ipv4(47).as_slice()), Protocol::Other); // GRE
        // ICMPv6's number means nothing in IPv4.
        assert_eq!(classify(ipv4(IPPROTO_ICMPV6).as_slice()), Protocol::Other);
    }

    #[test]
    fn classifies_ipv6() {
        assert_eq!(classify(ipv6(IPPROTO_TCP).as_slice()), Protocol::Tcp);
        assert_eq!(classify(ipv6(IPPROTO_UDP).as_slice()), Protocol::Udp);
        assert_eq!(classify(ipv6(IPPROTO_ICMPV6).as_slice()), Protocol::Icmp);
        // IPv4's ICMP number in IPv6, and a hop-by-hop extension header first.
        assert_eq!(classify(ipv6(IPPROTO_ICMP).as_slice()), Protocol::Other);
        assert_eq!(classify(ipv6(0).as_slice()), Protocol::Other);
    }

    #[test]
    fn non_ip_and_short_packets_are_other() {
        // An ARP request's network header: hardware type 1, protocol 0x0800.
        let arp = [0x00, 0x01, 0x08, 0x00, 6, 4, 0, 1];
        assert_eq!(classify(arp.as_slice()), Protocol::Other);
        assert_eq!(classify([].as_slice()), Protocol::Other);
        assert_eq!(classify(&ipv4(IPPROTO_TCP)[..9]), Protocol::Other);
        assert_eq!(classify(&ipv6(IPPROTO_TCP)[..6]), Protocol::Other);
        // An IPv4 header length below the minimum.
        let mut bad = ipv4(IPPROTO_TCP);
        bad[0] = 0x44;
        assert_eq!(classify(bad.as_slice()), Protocol::Other);
    }

    #[test]
    fn protocols_index_the_counters() {
        assert_eq!(Protocol::ALL.map(Protocol::index), [0, 1, 2, 3]);
        assert_eq!(Protocol::COUNT, 4);
    }

    #[test]
    fn counts_sum_cpus_and_print() {
        assert_eq!(total([3, 0, 4]), 7);
        assert_eq!(total([u64::MAX, 1]), u64::MAX);
        let mut counts = Counts::default();
        counts.set(Protocol::Tcp, 12);
        counts.set(Protocol::Udp, 3);
        counts.set(Protocol::Other, 1);
        assert_eq!(counts.to_string(), "tcp=12 udp=3 icmp=0 other=1");
    }
}
