//! CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`) and the addresses in them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `address/prefix`; a bare address is a block of one.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().map_err(|_| format!("'{text}': '{address}' is not an IP address"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(digits) => match digits.parse::<u8>() {
                Ok(p) if p <= max && digits.bytes().all(|b| b.is_ascii_digit()) => p,
                _ => return Err(format!("'{text}': the prefix length must be 0 to {max}")),
            },
        };
        let cidr = Cidr { network, prefix };
        let masked = cidr.masked(network);
        if masked != network {
            // Most likely a typo; say what was probably meant.
            return Err(format!("'{text}' has bits set after the prefix; did you mean {masked}/{prefix}?"));
        }
        Ok(cidr)
    }

    /// Whether `address` is in the block. IPv4-mapped IPv6 addresses
    /// (`::ffff:10.1.2.3`) count as the IPv4 address they carry.
    pub fn contains(&self, address: IpAddr) -> bool {
        // Masking keeps the family, so an address of the other family never equals the network.
        self.masked(address.to_canonical()) == self.network
    }

    fn masked(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The IP of an Envoy address property: `10.1.2.3:5678`, `[2001:db8::1]:443`,
/// or a bare address. `None` for anything else (a pipe path, say).
pub fn parse_address(text: &str) -> Option<IpAddr> {
    text.parse::<SocketAddr>().map(|s| s.ip()).or_else(|_| text.parse::<IpAddr>()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_blocks() {
        let block = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(block.contains(ip("10.0.0.0")));
        assert!(block.contains(ip("10.255.255.255")));
        assert!(!block.contains(ip("11.0.0.0")));
        assert!(!block.contains(ip("9.255.255.255")));
        assert!(block.contains(ip("::ffff:10.1.2.3")));
        assert!(!block.contains(ip("::a01:203")), "an IPv4-compatible address is IPv6");
        let host = Cidr::parse("192.168.1.7").unwrap();
        assert!(host.contains(ip("192.168.1.7")) && !host.contains(ip("192.168.1.8")));
    }

    #[test]
    fn ipv6_blocks() {
        let block = Cidr::parse("2001:db8::/32").unwrap();
        assert!(block.contains(ip("2001:db8:ffff::1")));
        assert!(!block.contains(ip("2001:db9::1")));
        assert!(!block.contains(ip("10.0.0.1")));
    }

    #[test]
    fn whole_spaces() {
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        assert!(!Cidr::parse("0.0.0.0/0").unwrap().contains(ip("2001:db8::1")));
    }

    #[test]
    fn refuses_bad_blocks() {
        for text in ["", "10.0.0/8", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/", "::/129", "example.com/8"] {
            assert!(Cidr::parse(text).is_err(), "{text}");
        }
        let error = Cidr::parse("10.1.2.3/8").unwrap_err();
        assert!(error.contains("did you mean 10.0.0.0/8"), "{error}");
    }

    #[test]
    fn displays() {
        assert_eq!(Cidr::parse(" 2001:DB8::/32 ").unwrap().to_string(), "2001:db8::/32");
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_address("10.1.2.3:5678"), Some(ip("10.1.2.3")));
        assert_eq!(parse_address("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_address("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_address("/run/envoy.sock"), None);
    }
}
