//! Which bucket a request belongs to.

/// The longest key kept; longer values are cut, so a client cannot fill the
/// shared data with huge keys.
pub const MAX_KEY_LEN: usize = 128;

/// The bucket of requests that carry no key at all.
pub const ANONYMOUS: &str = "-";

/// The IP address of Envoy's `source.address` property (`10.1.2.3:5678`,
/// `[2001:db8::1]:443`), without the port.
pub fn client_address(source: &str) -> &str {
    if let Some(rest) = source.strip_prefix('[') {
        // [IPv6]:port
        return rest.split(']').next().unwrap_or(rest);
    }
    match source.rsplit_once(':') {
        // One colon: IPv4 with a port. More: a bare IPv6 address.
        Some((ip, port)) if !ip.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => ip,
        _ => source,
    }
}

/// The shared-data key of a bucket: the domain, then the client's key.
pub fn storage_key(domain: &str, client: Option<&str>) -> String {
    let client = client.map(str::trim).filter(|c| !c.is_empty()).unwrap_or(ANONYMOUS);
    let mut end = client.len().min(MAX_KEY_LEN);
    while !client.is_char_boundary(end) {
        end -= 1;
    }
    format!("{domain}:{}", &client[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_lose_their_port() {
        assert_eq!(client_address("10.1.2.3:5678"), "10.1.2.3");
        assert_eq!(client_address("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(client_address("2001:db8::1"), "2001:db8::1");
        assert_eq!(client_address("10.1.2.3"), "10.1.2.3");
    }

    #[test]
    fn storage_keys() {
        assert_eq!(storage_key("rl", Some("10.1.2.3")), "rl:10.1.2.3");
        assert_eq!(storage_key("rl", None), "rl:-");
        assert_eq!(storage_key("rl", Some("  ")), "rl:-");
        let long = "é".repeat(100);
        let key = storage_key("rl", Some(&long));
        assert!(key.len() <= 3 + MAX_KEY_LEN && key.starts_with("rl:é"));
    }
}
