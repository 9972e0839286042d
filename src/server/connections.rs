//! Accepting connections: header timeouts and per-address caps.
//!
//! `axum::serve` cannot time out a client that sends its headers one byte a
//! second (slowloris) nor cap connections per address, so this module runs the
//! accept loop itself, with hyper's HTTP/1.1 server (WebSockets need HTTP/1.1):
//! - a request's headers must arrive within `--header-timeout-secs` (its body
//!   too, through `RequestBodyTimeoutLayer` on the router);
//! - one address holds at most `--max-connections-per-address` connections,
//!   counted from accept until the last socket on it closes (an upgraded
//!   WebSocket keeps its connection's slot), so no single address can take every
//!   file descriptor or every WebSocket slot (`--max-connections`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::shutdown::CancellationToken;

/// Open connections per client address.
pub struct AddressCaps {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's slot; released when the last clone is dropped (the HTTP
/// connection and, after an upgrade, its WebSocket each hold one).
pub struct Slot {
    caps: Arc<AddressCaps>,
    addr: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.caps.open.lock() {
            if let Some(n) = open.get_mut(&self.addr) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(&self.addr);
                }
            }
        }
    }
}

impl AddressCaps {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(AddressCaps {
            limit: limit.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a new connection from `addr`, or `None` at the cap.
    pub fn admit(self: &Arc<Self>, addr: IpAddr) -> Option<Arc<Slot>> {
        let Ok(mut open) = self.open.lock() else {
            // Poisoned by a panic elsewhere: serving uncapped beats refusing all.
            return Some(Arc::new(Slot {
                caps: AddressCaps::new(usize::MAX),
                addr,
            }));
        };
        let n = open.entry(addr).or_default();
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(Arc::new(Slot {
            caps: self.clone(),
            addr,
        }))
    }
}

/// Who is let in, and how long they have to say what they want.
pub struct Admission {
    /// Open connections per address (the TCP peer: a proxy counts as one).
    pub caps: Arc<AddressCaps>,
    /// Time to send the request head.
    pub header_timeout: Duration,
    /// Proxies believed about the user's address.
    pub proxies: super::proxy::TrustedProxies,
}

/// Accepts until `stop` resolves, then asks every HTTP connection to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    admission: Admission,
    token: CancellationToken,
    stop: impl std::future::Future<Output = ()>,
    prepare: fn(&TcpStream),
) {
    let Admission {
        caps,
        header_timeout,
        proxies,
    } = admission;
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, usually: wait a little, keep serving.
                    tracing::warn!(error = %e, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = caps.admit(peer.ip()) else {
            metrics::counter!("secobot_connections_refused_total", "reason" => "per_address")
                .increment(1);
            refuse(&tcp);
            continue;
        };
        prepare(&tcp);
        // Fire-and-forget per connection: it ends with its client or on shutdown.
        tokio::spawn(serve_connection(
            tcp,
            peer,
            router.clone(),
            slot,
            header_timeout,
            token.clone(),
            proxies.clone(),
        ));
    }
    token.cancel();
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    slot: Arc<Slot>,
    header_timeout: Duration,
    token: CancellationToken,
    proxies: super::proxy::TrustedProxies,
) {
    let request_slot = slot.clone();
    let service = router.map_request(move |mut req: axum::http::Request<Incoming>| {
        // Behind a trusted proxy, the user's address (for per-address limits).
        let client = proxies.client(peer, req.headers());
        req.extensions_mut().insert(ConnectInfo(client));
        req.extensions_mut().insert(request_slot.clone());
        req
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        _ = token.cancelled() => {
            conn.as_mut().graceful_shutdown();
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error at shutdown");
            }
        }
    }
    drop(slot);
}

/// A 503 for an address at its cap, best effort (never waits on the client).
fn refuse(tcp: &TcpStream) {
    const BODY: &str =
        "Demasiadas conexiones desde su dirección; intente de nuevo en unos segundos.";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    if let Err(e) = tcp.try_write(response.as_bytes()) {
        tracing::debug!(error = %e, "could not send the 503");
    }
}
