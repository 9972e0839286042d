//! The client's address behind a reverse proxy. With several instances behind
//! nginx every connection comes from nginx, so the per-address limits
//! (conversations per minute, turns per second, login throttling) would
//! count every user as one. Proxies named with `--trusted-proxy` are
//! believed about who their client is (`X-Forwarded-For`); nobody else is,
//! since a client can send any header it likes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::http::HeaderMap;

/// The addresses whose `X-Forwarded-For` is believed. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpAddr>>);

impl TrustedProxies {
    pub fn new(addresses: Vec<IpAddr>) -> Self {
        TrustedProxies(Arc::new(addresses))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// Who a request from `peer` comes from: `peer` itself, unless it is a
    /// trusted proxy; then the right-most `X-Forwarded-For` address that is
    /// not a trusted proxy (each proxy appends the address it saw, so
    /// addresses to its left were written by the client and prove nothing).
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        if !self.trusts(peer.ip()) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // Garbage from an untrusted hop: nothing further left is believable.
                return peer;
            };
            if !self.trusts(ip) {
                return SocketAddr::new(ip.to_canonical(), peer.port());
            }
        }
        peer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for value in forwarded {
            h.append("x-forwarded-for", value.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let nginx: SocketAddr = "10.0.0.5:41000".parse().unwrap();
        let stranger: SocketAddr = "198.51.100.9:41000".parse().unwrap();
        let proxies = TrustedProxies::new(vec!["10.0.0.5".parse().unwrap()]);
        // Through the proxy: the address it saw.
        let via = proxies.client(nginx, &headers(&["203.0.113.7"]));
        assert_eq!(via.ip(), "203.0.113.7".parse::<IpAddr>().unwrap());
        // A client's own header, sent straight to us, proves nothing.
        assert_eq!(
            proxies.client(stranger, &headers(&["203.0.113.7"])),
            stranger
        );
        // Without a list, nobody is believed.
        assert_eq!(
            TrustedProxies::default().client(nginx, &headers(&["203.0.113.7"])),
            nginx
        );
    }

    #[test]
    fn a_spoofed_forwarded_for_left_of_the_proxy_is_ignored() {
        let nginx: SocketAddr = "10.0.0.5:41000".parse().unwrap();
        let proxies = TrustedProxies::new(vec![
            "10.0.0.5".parse().unwrap(),
            "10.0.0.6".parse().unwrap(),
        ]);
        // The client wrote "1.2.3.4"; nginx appended what it saw.
        let h = headers(&["1.2.3.4, 203.0.113.7"]);
        assert_eq!(proxies.client(nginx, &h).ip().to_string(), "203.0.113.7");
        // Two trusted hops (a load balancer, then nginx), in two headers.
        let h = headers(&["1.2.3.4, 203.0.113.8", "10.0.0.6"]);
        assert_eq!(proxies.client(nginx, &h).ip().to_string(), "203.0.113.8");
        // Nothing believable: the proxy itself.
        assert_eq!(proxies.client(nginx, &headers(&["not-an-ip"])), nginx);
        assert_eq!(proxies.client(nginx, &headers(&[])), nginx);
        // IPv4 written as IPv6 is the same address.
        let h = headers(&["::ffff:203.0.113.9"]);
        assert_eq!(proxies.client(nginx, &h).ip().to_string(), "203.0.113.9");
    }
}
