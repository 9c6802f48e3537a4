//! Packets declared by their headers' fields, built into the bytes a program
//! sees, checksums computed: Ethernet, then IPv4 or IPv6, then TCP, UDP or
//! ICMP, then the payload. Or raw bytes, in hex.

use std::net::IpAddr;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use super::value::hex;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacketSpec {
    /// The whole frame as hex; nothing else may be given with it.
    pub hex: Option<String>,
    pub eth: Option<Eth>,
    pub ipv4: Option<Ip<Ipv4Addr>>,
    pub ipv6: Option<Ip<Ipv6Addr>>,
    pub tcp: Option<Tcp>,
    pub udp: Option<Udp>,
    pub icmp: Option<Icmp>,
    /// The payload as text, or `payload_hex` as bytes.
    pub payload: Option<String>,
    pub payload_hex: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eth {
    pub src: Option<String>,
    pub dst: Option<String>,
    /// The EtherType; by default the one of the IP header that follows.
    #[serde(rename = "type")]
    pub ethertype: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ip<A> {
    pub src: A,
    pub dst: A,
    /// TTL (IPv4) or hop limit (IPv6); 64 by default.
    pub ttl: Option<u8>,
    /// The protocol number; by default the one of the header that follows (ICMP's: 1, or 58 in IPv6).
    pub protocol: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tcp {
    pub src: u16,
    pub dst: u16,
    /// `[syn]`, `[syn, ack]`, …: fin syn rst psh ack urg.
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub seq: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Udp {
    pub src: u16,
    pub dst: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Icmp {
    /// 8 (echo request) by default; 128 in IPv6.
    #[serde(rename = "type")]
    pub kind: Option<u8>,
    #[serde(default)]
    pub code: u8,
}

const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

impl PacketSpec {
    /// The frame's bytes, or what is wrong with the declaration.
    pub fn build(&self) -> Result<Vec<u8>, String> {
        if let Some(text) = &self.hex {
            let declared = self.eth.is_some() || self.ipv4.is_some() || self.ipv6.is_some() || self.payload.is_some();
            if declared || self.tcp.is_some() || self.udp.is_some() || self.icmp.is_some() || self.payload_hex.is_some()
            {
                return Err("hex is the whole frame: give it alone, or the headers' fields instead".into());
            }
            return hex(text);
        }
        if self.ipv4.is_some() && self.ipv6.is_some() {
            return Err("a packet has ipv4 or ipv6, not both".into());
        }
        let transports = [self.tcp.is_some(), self.udp.is_some(), self.icmp.is_some()];
        if transports.iter().filter(|t| **t).count() > 1 {
            return Err("a packet has one of tcp, udp and icmp".into());
        }
        if transports.iter().any(|t| *t) && self.ipv4.is_none() && self.ipv6.is_none() {
            return Err("tcp, udp and icmp need an ipv4 or ipv6 header".into());
        }
        let mut payload = match (&self.payload, &self.payload_hex) {
            (Some(_), Some(_)) => return Err("give payload or payload_hex, not both".into()),
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(text)) => hex(text)?,
            (None, None) => Vec::new(),
        };
        let (src, dst) = match (&self.ipv4, &self.ipv6) {
            (Some(ip), _) => (IpAddr::V4(ip.src), IpAddr::V4(ip.dst)),
            (_, Some(ip)) => (IpAddr::V6(ip.src), IpAddr::V6(ip.dst)),
            _ => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        };
        let v6 = self.ipv6.is_some();
        let (protocol, transport) = if let Some(tcp) = &self.tcp {
            (6, tcp_header(tcp)?)
        } else if let Some(udp) = &self.udp {
            let len = u16::try_from(8 + payload.len()).map_err(|_| "the payload is too long for UDP".to_string())?;
            let mut h = Vec::with_capacity(8);
            h.extend(udp.src.to_be_bytes());
            h.extend(udp.dst.to_be_bytes());
            h.extend(len.to_be_bytes());
            h.extend([0, 0]);
            (17, h)
        } else if let Some(icmp) = &self.icmp {
            let kind = icmp.kind.unwrap_or(if v6 { 128 } else { 8 });
            (if v6 { 58 } else { 1 }, vec![kind, icmp.code, 0, 0, 0, 0, 0, 1])
        } else {
            (0, Vec::new())
        };
        let mut segment = transport;
        segment.append(&mut payload);
        if protocol != 0 {
            let at = match protocol {
                6 => 16,
                17 => 6,
                _ => 2,
            };
            // ICMPv4 sums its own bytes only; TCP, UDP and ICMPv6 add the pseudo-header.
            let pseudo = if protocol == 1 { Vec::new() } else { pseudo_header(src, dst, protocol, segment.len()) };
            let mut sum = checksum(&[&pseudo, &segment]);
            if protocol == 17 && sum == 0 {
                sum = 0xffff;
            }
            segment[at..at + 2].copy_from_slice(&sum.to_be_bytes());
        }
        let mut ip = Vec::new();
        if let Some(v4) = &self.ipv4 {
            let total = u16::try_from(20 + segment.len()).map_err(|_| "the packet is too long for IPv4".to_string())?;
            ip.extend([0x45, 0]);
            ip.extend(total.to_be_bytes());
            ip.extend([0, 1, 0x40, 0]); // id 1, don't fragment
            ip.push(v4.ttl.unwrap_or(64));
            ip.push(v4.protocol.unwrap_or(protocol));
            ip.extend([0, 0]);
            ip.extend(v4.src.octets());
            ip.extend(v4.dst.octets());
            let sum = checksum(&[&ip]);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
        } else if let Some(v6) = &self.ipv6 {
            let len = u16::try_from(segment.len()).map_err(|_| "the packet is too long for IPv6".to_string())?;
            ip.extend([0x60, 0, 0, 0]);
            ip.extend(len.to_be_bytes());
            ip.push(v6.protocol.unwrap_or(protocol));
            ip.push(v6.ttl.unwrap_or(64));
            ip.extend(v6.src.octets());
            ip.extend(v6.dst.octets());
        }
        let eth = self.eth.clone().unwrap_or_default();
        let ethertype = eth.ethertype.unwrap_or(if v6 {
            0x86dd
        } else if self.ipv4.is_some() {
            0x0800
        } else {
            0x88b5 // local experimental: a frame with no IP header
        });
        let mut frame = Vec::with_capacity(14 + ip.len() + segment.len());
        frame.extend(mac(eth.dst.as_deref(), DST_MAC)?);
        frame.extend(mac(eth.src.as_deref(), SRC_MAC)?);
        frame.extend(ethertype.to_be_bytes());
        frame.extend(ip);
        frame.extend(segment);
        Ok(frame)
    }
}

fn tcp_header(tcp: &Tcp) -> Result<Vec<u8>, String> {
    let mut flags = 0u8;
    for flag in &tcp.flags {
        flags |= match flag.to_ascii_lowercase().as_str() {
            "fin" => 0x01,
            "syn" => 0x02,
            "rst" => 0x04,
            "psh" => 0x08,
            "ack" => 0x10,
            "urg" => 0x20,
            other => return Err(format!("tcp flag {other:?}: expected fin, syn, rst, psh, ack or urg")),
        };
    }
    let mut h = Vec::with_capacity(20);
    h.extend(tcp.src.to_be_bytes());
    h.extend(tcp.dst.to_be_bytes());
    h.extend(tcp.seq.to_be_bytes());
    h.extend([0, 0, 0, 0]); // ack number
    h.extend([0x50, flags]); // 5 words, no options
    h.extend(64240u16.to_be_bytes()); // window
    h.extend([0, 0, 0, 0]); // checksum, urgent pointer
    Ok(h)
}

fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            p.extend(s.octets());
            p.extend(d.octets());
            p.extend([0, protocol]);
            p.extend((len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            p.extend(s.octets());
            p.extend(d.octets());
            p.extend((len as u32).to_be_bytes());
            p.extend([0, 0, 0, protocol]);
        }
        _ => {}
    }
    p
}

/// The Internet checksum (RFC 1071) of the parts, one after the other.
fn checksum(parts: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = parts.concat();
    let mut sum: u32 = bytes.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn mac(text: Option<&str>, default: [u8; 6]) -> Result<[u8; 6], String> {
    let Some(text) = text else { return Ok(default) };
    let bytes = hex(text)?;
    bytes.try_into().map_err(|_| format!("MAC address {text:?}: expected six bytes, as 02:00:00:00:00:01"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(yaml: &str) -> Result<Vec<u8>, String> {
        serde_norway::from_str::<PacketSpec>(yaml).unwrap().build()
    }

    #[test]
    fn an_ipv4_udp_packet_has_valid_checksums() {
        let frame =
            build("{ipv4: {src: 10.200.0.1, dst: 10.200.0.2}, udp: {src: 40000, dst: 53}, payload: hi}").unwrap();
        assert_eq!(frame.len(), 14 + 20 + 8 + 2);
        assert_eq!(&frame[12..14], &[0x08, 0x00]);
        assert_eq!(checksum(&[&frame[14..34]]), 0, "the IPv4 header sums to zero with its checksum");
        let pseudo = pseudo_header("10.200.0.1".parse().unwrap(), "10.200.0.2".parse().unwrap(), 17, 10);
        assert_eq!(checksum(&[&pseudo, &frame[34..]]), 0, "so does UDP with its pseudo-header");
    }

    #[test]
    fn tcp_icmp_and_ipv6_are_laid_out() {
        let syn = build("{ipv4: {src: 1.1.1.1, dst: 2.2.2.2}, tcp: {src: 1234, dst: 80, flags: [syn]}}").unwrap();
        assert_eq!((syn[23], syn[34 + 13]), (6, 0x02));
        let ping = build("{ipv4: {src: 1.1.1.1, dst: 2.2.2.2}, icmp: {}}").unwrap();
        assert_eq!(checksum(&[&ping[34..]]), 0);
        let v6 = build("{ipv6: {src: '::1', dst: '::2'}, icmp: {}}").unwrap();
        assert_eq!((&v6[12..14], v6[20], v6[54]), (&[0x86, 0xdd][..], 58, 128));
        assert_eq!(build("{hex: 'ff ff'}").unwrap(), [0xff, 0xff]);
    }

    #[test]
    fn contradictions_are_named() {
        assert!(build("{hex: ff, payload: x}").unwrap_err().contains("give it alone"));
        assert!(build("{udp: {src: 1, dst: 2}}").unwrap_err().contains("need an ipv4 or ipv6"));
        assert!(build("{ipv4: {src: 1.1.1.1, dst: 2.2.2.2}, tcp: {src: 1, dst: 2, flags: [bogus]}}").is_err());
        assert!(serde_norway::from_str::<PacketSpec>("{ipv4: {src: 1.1.1, dst: 2.2.2.2}}").is_err());
        assert!(build("{eth: {src: '02:00'}}").unwrap_err().contains("six bytes"));
    }
}
