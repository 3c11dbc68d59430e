//! Connections: accepting them (plain TCP or TLS), and the limits that keep one client from
//! hurting the others.
//!
//! Hostile or broken clients are bounded at every stage, and none of the bounds costs a
//! well-behaved request anything it did not already pay:
//! - at most [`Limits::max_connections`] connections are served at once; past that the server
//!   stops accepting (new connections wait in the kernel's backlog) until one closes, so
//!   connections already open keep their full speed;
//! - a TLS handshake must finish within [`Limits::handshake_timeout`];
//! - a request's head (request line and headers) must arrive within [`Limits::header_timeout`]
//!   of the connection becoming idle (accepted, or its previous answer sent): this is both the
//!   slow-header (slowloris) timeout and the idle keep-alive timeout, as hyper runs one timer
//!   for both. A head over [`Limits::max_header_bytes`] or with more than 100 headers is
//!   refused with HTTP 431 and the connection closed;
//! - a request's body must arrive within [`Limits::body_timeout`] (HTTP 408 and close
//!   otherwise) and is at most 16 MB (413), so one request holds at most that much memory.
//!
//! TLS uses rustls with the `ring` provider (HTTP/1.1 over TLS 1.2 and 1.3, ALPN `http/1.1`).
//!
//! Must not depend on: the engine's internals (connections only hand requests to `http`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// How connections are bounded (see the module docs).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time for a request head to arrive once the connection is idle.
    pub header_timeout: Duration,
    /// Time for a request body to arrive once its head has.
    pub body_timeout: Duration,
    /// Largest request head, in bytes.
    pub max_header_bytes: usize,
    /// Time for a TLS handshake.
    pub handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 8192,
            header_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            max_header_bytes: 64 * 1024,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// How the server serves: who may call ([`crate::Auth`]), over what (plain or TLS), within
/// which limits.
#[derive(Debug, Default)]
pub struct ServeOptions {
    /// Signature verification and access control.
    pub auth: Arc<crate::Auth>,
    /// TLS, when configured.
    pub tls: Option<Tls>,
    /// Connection limits.
    pub limits: Limits,
    /// Request metrics and the slow-request log.
    pub observer: Arc<crate::metrics::Observer>,
    /// Where item reads run (adaptive unless pinned, for measurements).
    pub read_dispatch: crate::ReadDispatch,
}

/// A TLS configuration: a certificate chain and its private key.
#[derive(Clone)]
pub struct Tls {
    pub(crate) acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads a PEM certificate chain (the server's certificate first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    /// Unreadable files, no certificate, no key, or a key that does not match.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls, String> {
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| format!("cannot read {}: {e}", cert.display()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        if chain.is_empty() {
            return Err(format!("{}: no certificate in the file", cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
        // `ring` rather than rustls' default aws-lc-rs, whose C build costs minutes; rustls
        // deprecates ring's provider only because it offers no post-quantum key exchange.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("TLS certificate and key: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}
