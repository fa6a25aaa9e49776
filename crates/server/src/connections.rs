//! Accepting connections so that clients who never speak cannot exhaust the server: every
//! connection counts against a bound below the process's open-file limit, a request's headers
//! must arrive within a time-out (also the idle time between two requests of a kept-alive
//! connection), and once the connections near the bound the time-out shrinks, so that the
//! silent ones go quickly while health checks and operators' pushes, which speak at once,
//! still get through. At the bound, the oldest connection that has not sent a request yet is
//! closed to make room for the new one; when every connection has spoken, a new one is
//! answered 503 and closed at once. An upgraded connection (an OCPP charger's WebSocket) keeps
//! its place until it ends.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Open files the process keeps for itself (database, logs, calls to operators' platforms)
/// beyond its connections.
const FILES_KEPT: usize = 256;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once (HTTP, WebSocket, TLS together).
    pub max_connections: usize,
    /// Connections kept for clients that speak at once: past `max_connections - reserve` a
    /// new connection has [`ConnectionLimits::busy_header_timeout`] to send its headers.
    pub reserve: usize,
    /// Time for a request's headers to arrive, and for the next request on a kept-alive
    /// connection.
    pub header_timeout: Duration,
    /// The same when the connections near the bound.
    pub busy_header_timeout: Duration,
}

impl Default for ConnectionLimits {
    /// The bound from the open-file limit (less what the process keeps for itself), a tenth of
    /// it in reserve; 30 s for a request to arrive, 6 s near the bound.
    fn default() -> Self {
        let max_connections = open_file_limit()
            .map_or(10_000, |n| n.saturating_sub(FILES_KEPT))
            .max(64);
        Self {
            max_connections,
            reserve: (max_connections / 10).max(16),
            header_timeout: Duration::from_secs(30),
            busy_header_timeout: Duration::from_secs(6),
        }
    }
}

/// The soft limit of open files of this process (Linux: `/proc/self/limits`).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A connection's place among the bounded ones, carried by its requests so that an upgraded
/// connection (a WebSocket) keeps it until it ends.
#[derive(Debug, Clone)]
pub struct ConnectionPlace(#[allow(dead_code)] pub Arc<OwnedSemaphorePermit>);

/// The connections that have not sent a request yet, oldest first, each with whether it has
/// spoken since and how to close it.
/// What a connection is doing: requests whose response has not been sent whole yet, and when
/// the last one ended. hyper's own header time-out is not used: it also runs while a long
/// response (a live event stream, a large download) is being written, and closed those.
#[derive(Debug)]
struct Activity {
    opened: std::time::Instant,
    in_flight: std::sync::atomic::AtomicUsize,
    /// Milliseconds from `opened` to the end of the last response.
    last_ms: std::sync::atomic::AtomicU64,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: std::time::Instant::now(),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            last_ms: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// A request began; the guard ends it when dropped (its response body sent or dropped).
    fn begin(self: &Arc<Self>) -> ActivityGuard {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ActivityGuard(self.clone())
    }

    /// How long the connection has been idle (zero while a request is in flight).
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        let last = Duration::from_millis(self.last_ms.load(std::sync::atomic::Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }
}

/// One request of a connection in flight.
#[derive(Debug)]
struct ActivityGuard(Arc<Activity>);

impl Drop for ActivityGuard {
    fn drop(&mut self) {
        let now = u64::try_from(self.0.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0
            .last_ms
            .store(now, std::sync::atomic::Ordering::Relaxed);
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Completes once the connection has been idle for `limit` (no request, or none since the last
/// response ended).
async fn idle(activity: &Activity, limit: Duration) {
    loop {
        let idle = activity.idle_for();
        if idle >= limit {
            return;
        }
        tokio::time::sleep((limit - idle).max(Duration::from_millis(100))).await;
    }
}

/// One connection in [`Silent`]: whether it has spoken, and its eviction notice.
type SilentEntry = (
    Arc<std::sync::atomic::AtomicBool>,
    tokio::sync::oneshot::Sender<()>,
);

#[derive(Default, Clone)]
struct Silent(Arc<std::sync::Mutex<std::collections::VecDeque<SilentEntry>>>);

impl Silent {
    /// A new connection: whether it spoke (set by its first request) and its eviction notice.
    fn add(
        &self,
    ) -> (
        Arc<std::sync::atomic::AtomicBool>,
        tokio::sync::oneshot::Receiver<()>,
    ) {
        let spoke = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (evict, evicted) = tokio::sync::oneshot::channel();
        let mut queue = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Connections that spoke or ended leave the queue as it is walked.
        if queue.len() > 64 && queue.len().is_multiple_of(64) {
            queue.retain(|(spoke, evict)| {
                !spoke.load(std::sync::atomic::Ordering::Relaxed) && !evict.is_closed()
            });
        }
        queue.push_back((spoke.clone(), evict));
        (spoke, evicted)
    }

    /// Closes the oldest connection still silent; whether there was one.
    fn evict_oldest(&self) -> bool {
        let mut queue = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some((spoke, evict)) = queue.pop_front() {
            if !spoke.load(std::sync::atomic::Ordering::Relaxed) && evict.send(()).is_ok() {
                return true;
            }
        }
        false
    }
}

use evgrid_app::charging::chargers::ConnectionSecurity;

/// Wraps an accepted stream (plain TCP into TLS, for instance) before HTTP is spoken on it.
pub trait Handshake: Clone + Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The stream to speak HTTP on, or `None` when the handshake failed.
    fn handshake(
        &self,
        stream: tokio::net::TcpStream,
    ) -> impl Future<Output = Option<Self::Stream>> + Send;
    /// How the stream is secured (TLS, a verified client certificate): handed to every
    /// request on it (OCPP security profiles).
    fn security(_stream: &Self::Stream) -> ConnectionSecurity {
        ConnectionSecurity::default()
    }
}

/// Plain TCP.
#[derive(Debug, Clone, Copy)]
pub struct Plain;

impl Handshake for Plain {
    type Stream = tokio::net::TcpStream;
    async fn handshake(&self, stream: tokio::net::TcpStream) -> Option<Self::Stream> {
        Some(stream)
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests in
/// flight (at most `drain`) before it returns.
pub async fn serve_connections<H: Handshake>(
    listener: tokio::net::TcpListener,
    router: Router,
    handshake: H,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let places = Arc::new(Semaphore::new(limits.max_connections));
    let silent = Silent::default();
    // Told to the connections at shutdown; each holds an `alive` sender until it ends.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let (alive, mut all_ended) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (mut stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of files or the like: wait for connections to end rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // At the bound, the oldest connection that has not sent a request yet gives up its
        // place to the new one: silent clients cannot keep out the ones that speak (health
        // checks, operators' pushes).
        let place = match places.clone().try_acquire_owned() {
            Ok(place) => Ok(place),
            Err(_) => {
                if silent.evict_oldest() {
                    tokio::time::timeout(Duration::from_millis(200), places.clone().acquire_owned())
                        .await
                        .map_err(|_| ())
                        .and_then(|p| p.map_err(|_| ()))
                } else {
                    Err(())
                }
            }
        };
        let Ok(place) = place else {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    stream.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 96\r\n\r\n{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"too many connections\"}",
                    ),
                )
                .await;
            });
            continue;
        };
        let header_timeout = if places.available_permits() < limits.reserve {
            limits.busy_header_timeout
        } else {
            limits.header_timeout
        };
        let place = ConnectionPlace(Arc::new(place));
        let router = router
            .clone()
            .layer(axum::Extension(place.clone()))
            .layer(axum::Extension(axum::extract::ConnectInfo::<SocketAddr>(
                peer,
            )));
        let handshake = handshake.clone();
        let mut stop = stop.clone();
        let alive = alive.clone();
        let (spoke, mut evicted) = silent.add();
        tokio::spawn(async move {
            let _alive = alive;
            let _place = place;
            let Ok(Some(stream)) =
                tokio::time::timeout(header_timeout, handshake.handshake(stream)).await
            else {
                tracing::debug!(%peer, "handshake failed or timed out");
                return;
            };
            let router = router.layer(axum::Extension(H::security(&stream)));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.max_buf_size(64 * 1024);
            let activity = Activity::new();
            let service = TowerToHyperService::new(router);
            let requests = activity.clone();
            let service = hyper::service::service_fn(move |request| {
                spoke.store(true, std::sync::atomic::Ordering::Relaxed);
                let guard = requests.begin();
                let answer = hyper::service::Service::call(&service, request);
                async move {
                    let response = answer.await?;
                    // The request ends when its body has been sent (or dropped).
                    Ok::<_, std::convert::Infallible>(response.map(|body| {
                        axum::body::Body::new(http_body_util::BodyExt::map_frame(
                            body,
                            move |frame| {
                                let _request = &guard;
                                frame
                            },
                        ))
                    }))
                }
            });
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                // (A dropped notice is not one: the queue lets go of connections that spoke.)
                Ok(()) = &mut evicted => {
                    tracing::debug!(%peer, "silent connection closed for a new one");
                    return;
                }
                () = idle(&activity, header_timeout) => {
                    tracing::debug!(%peer, "no request in time: closed");
                    return;
                }
                () = async { let _ = stop.wait_for(|stopping| *stopping).await; } => {
                    // Finish the request in flight, take no other.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    drop(alive);
    if tokio::time::timeout(drain, all_ended.recv()).await.is_err() {
        tracing::warn!("requests still in flight after {drain:?}: closing them");
    }
    Ok(())
}
