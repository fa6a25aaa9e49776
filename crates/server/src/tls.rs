//! HTTPS and WSS (OCPP security profiles 2 and 3): the same application behind TLS (rustls),
//! for deployments without a TLS-terminating proxy. A charger may present a client certificate
//! signed by the platform's certificate authority (profile 3); one that does not verify ends
//! the handshake, none at all leaves it to HTTP Basic (profile 2).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use evgrid_app::charging::chargers::ConnectionSecurity;

use crate::AppState;

/// A server certificate and key, ready to serve.
#[derive(Clone, Debug)]
pub struct Tls(Arc<rustls::ServerConfig>);

impl Tls {
    /// Reads a PEM certificate chain and its PEM private key; `chargers_ca` (PEM) is the
    /// authority chargers' client certificates are verified against (optional for a client).
    pub fn from_pem_files(
        cert: &Path,
        key: &Path,
        chargers_ca: Option<&str>,
    ) -> Result<Self, String> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(|i| i.collect::<Result<_, _>>())
            .map_err(|e| format!("reading the certificate {}: {e}", cert.display()))?;
        if certs.is_empty() {
            return Err(format!("no certificate in {}", cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("reading the private key {}: {e}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match chargers_ca {
            None => builder.with_no_client_auth(),
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let c = c.map_err(|e| format!("the chargers' certificate authority: {e}"))?;
                    roots
                        .add(c)
                        .map_err(|e| format!("the chargers' certificate authority: {e}"))?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("the chargers' certificate authority: {e}"))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
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

    fn security(stream: &Self::Stream) -> ConnectionSecurity {
        let certified_as = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|leaf| evgrid_app::charging::certificates::common_name_of(leaf));
        ConnectionSecurity {
            tls: true,
            certified_as,
        }
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
