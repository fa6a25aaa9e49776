//! HTTPS and WSS (OCPP security profile 2): the same application behind TLS (rustls), for
//! deployments without a TLS-terminating proxy.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::AppState;

/// A server certificate and key, ready to serve.
#[derive(Clone, Debug)]
pub struct Tls(Arc<rustls::ServerConfig>);

impl Tls {
    /// Reads a PEM certificate chain and its PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|i| i.collect::<Result<_, _>>())
            .map_err(|e| format!("reading the certificate {}: {e}", cert.display()))?;
        if certs.is_empty() {
            return Err(format!("no certificate in {}", cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("reading the private key {}: {e}", key.display()))?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not fit: {e}"))?;
        Ok(Self(Arc::new(config)))
    }
}

/// The TLS handshake, within the connection's header time-out.
#[derive(Clone)]
struct TlsHandshake(tokio_rustls::TlsAcceptor);

impl crate::connections::Handshake for TlsHandshake {
    type Stream = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    async fn handshake(&self, stream: tokio::net::TcpStream) -> Option<Self::Stream> {
        self.0.accept(stream).await.ok()
    }
}

/// Serves the application over TLS on a bound listener until `shutdown` completes, with the
/// same bounds on connections as plain HTTP.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Tls,
    limits: crate::connections::ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::serve_state(
        listener,
        state,
        TlsHandshake(tokio_rustls::TlsAcceptor::from(tls.0)),
        limits,
        shutdown,
    )
    .await
}
