//! Connections to AWS-style endpoints: `http://host[:port]` over plain TCP, `https://host[:port]`
//! over TLS (rustls with the `ring` provider, as the server's TLS; TLS 1.2 and 1.3).
//!
//! Roots of trust: the operating system's certificate store, plus the PEM bundle named by
//! `AWS_CA_BUNDLE` (the variable the AWS CLI and SDKs read), which is how a private endpoint's
//! certificate (a test server's, a company CA's) is trusted.
//!
//! Key types: [`Url`], [`Io`]; [`connect`] opens a stream the HTTP/1.1 client runs over.

use std::sync::{Arc, OnceLock};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// A byte stream an HTTP/1.1 connection runs over: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An endpoint: scheme, `host[:port]` (the `Host` header, and what a signature covers), the
/// host to connect to and the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `https://`.
    pub tls: bool,
    /// `host[:port]` as written.
    pub authority: String,
    /// The host without brackets (`::1` for `[::1]`).
    pub host: String,
    /// The port (default 80, or 443 with TLS).
    pub port: u16,
}

impl Url {
    /// Parses `http://host[:port][/]` or `https://host[:port][/]`.
    ///
    /// # Errors
    /// Anything else, as a message naming the URL.
    pub fn parse(url: &str) -> Result<Url, String> {
        let shape =
            || format!("{url}: the endpoint must look like http://host:port or https://host");
        let (tls, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(shape());
        };
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(shape());
        }
        let (host, port) = match authority.rsplit_once(':') {
            // `[::1]:8000` keeps its brackets in the Host header but not for connecting.
            Some((host, port)) if !port.contains(']') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("{url}: bad port {port:?}"))?;
                (host, port)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Url {
            tls,
            authority: authority.to_owned(),
            host: host.to_owned(),
            port,
        })
    }

    /// `scheme://authority`.
    pub fn base(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.authority
        )
    }
}

/// The TLS client settings, built once: the system's roots and `AWS_CA_BUNDLE`'s.
fn tls_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            // Unreadable system certificates are skipped: the bundle may be all that is needed.
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            if let Some(bundle) = std::env::var_os("AWS_CA_BUNDLE").filter(|b| !b.is_empty()) {
                let path = std::path::PathBuf::from(bundle);
                let certs = CertificateDer::pem_file_iter(&path)
                    .map_err(|e| format!("AWS_CA_BUNDLE {}: {e}", path.display()))?;
                for cert in certs {
                    let cert =
                        cert.map_err(|e| format!("AWS_CA_BUNDLE {}: {e}", path.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("AWS_CA_BUNDLE {}: {e}", path.display()))?;
                }
            }
            if roots.is_empty() {
                return Err("no trusted root certificates: the system has none and \
                            AWS_CA_BUNDLE is not set"
                    .to_owned());
            }
            // `ring`, as the server's TLS (no aws-lc-rs C build); rustls deprecates it only
            // for its lack of post-quantum key exchange.
            #[allow(deprecated)]
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// Connects to `url` (TCP_NODELAY), completing the TLS handshake for `https://`.
///
/// # Errors
/// Connection, certificate or handshake failures, as text.
pub async fn connect(url: &Url) -> Result<Box<dyn Io>, String> {
    let stream = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", url.authority))?;
    let _ = stream.set_nodelay(true);
    if !url.tls {
        return Ok(Box::new(stream));
    }
    let name = ServerName::try_from(url.host.clone())
        .map_err(|e| format!("{}: not a TLS server name: {e}", url.host))?;
    let tls = TlsConnector::from(tls_config()?)
        .connect(name, stream)
        .await
        .map_err(|e| format!("TLS handshake with {} failed: {e}", url.authority))?;
    Ok(Box::new(tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = Url::parse("http://127.0.0.1:8000").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port), (false, "127.0.0.1", 8000));
        let u = Url::parse("https://dynamodb.us-east-1.amazonaws.com/").unwrap();
        assert_eq!(
            (u.tls, u.authority.as_str(), u.port),
            (true, "dynamodb.us-east-1.amazonaws.com", 443)
        );
        let u = Url::parse("http://[::1]:9000").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.host.as_str()),
            ("[::1]:9000", "::1")
        );
        assert_eq!(u.base(), "http://[::1]:9000");
        assert!(Url::parse("localhost:8000").is_err());
        assert!(Url::parse("http://h:notaport").is_err());
        assert!(Url::parse("http://h/path").is_err());
        assert!(Url::parse("ftp://h").is_err());
    }
}
