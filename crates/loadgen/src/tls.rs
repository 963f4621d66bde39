//! TLS for the generator's connections (rustls on the worker's own non-blocking sockets).
//!
//! Invariant: a connection's bytes go through rustls's buffers and nothing else; the worker sees the same
//! `read`/`write` contract as on a plain socket (`Stream`), plus `flush_pending` for ciphertext the socket
//! did not take at once, and `handshake` before the first request.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, RootCertStore, SignatureScheme};

use crate::error::ConfigError;

/// How `https://` connections are made. The defaults verify the server against the system's roots, offer
/// TLS 1.2 and 1.3 with every suite rustls has, and resume sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Verify the server's certificate: against `ca` if given, else the system's roots. `false` accepts
    /// any certificate (a user's own self-signed one), still checking the handshake's signatures.
    pub verify: bool,
    /// A PEM file of the certificates to trust (a harness's own CA).
    pub ca: Option<PathBuf>,
    /// Only this version (`None`: 1.2 and 1.3, the server picks).
    pub version: Option<TlsVersion>,
    /// Resume sessions on new connections (tickets or IDs); off, every connection pays a full handshake.
    pub resumption: bool,
    /// Only these cipher suites, by their IANA names (`TLS13_AES_128_GCM_SHA256`); empty: all.
    pub ciphers: Vec<String>,
}

impl Default for TlsSettings {
    fn default() -> TlsSettings {
        TlsSettings { verify: true, ca: None, version: None, resumption: true, ciphers: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

impl std::str::FromStr for TlsVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<TlsVersion, String> {
        match s {
            "1.2" => Ok(TlsVersion::V1_2),
            "1.3" => Ok(TlsVersion::V1_3),
            other => Err(format!("'{other}' is not a TLS version stackbench speaks; use 1.2 or 1.3")),
        }
    }
}

/// The names of the cipher suites `TlsSettings::ciphers` can name.
pub fn cipher_names() -> Vec<&'static str> {
    rustls::crypto::ring::default_provider().cipher_suites.iter().filter_map(|s| s.suite().as_str()).collect()
}

/// The client configuration every connection of a run shares; errors name the setting to fix. With
/// `http2`, ALPN offers `h2` first (and `http/1.1`, so that a server that does not speak HTTP/2 says so).
pub fn client_config(settings: &TlsSettings, http2: bool) -> Result<Arc<ClientConfig>, ConfigError> {
    let invalid = |setting: &'static str, reason: String| ConfigError::Invalid { setting, reason };
    let mut provider = rustls::crypto::ring::default_provider();
    if !settings.ciphers.is_empty() {
        let known = cipher_names();
        if let Some(unknown) = settings.ciphers.iter().find(|c| !known.contains(&c.as_str())) {
            return Err(invalid("tls-ciphers", format!("no cipher suite '{unknown}'; known: {}", known.join(", "))));
        }
        provider.cipher_suites.retain(|s| s.suite().as_str().is_some_and(|n| settings.ciphers.iter().any(|c| c == n)));
    }
    let versions: &[&rustls::SupportedProtocolVersion] = match settings.version {
        None => rustls::ALL_VERSIONS,
        Some(TlsVersion::V1_2) => &[&rustls::version::TLS12],
        Some(TlsVersion::V1_3) => &[&rustls::version::TLS13],
    };
    let provider = Arc::new(provider);
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| invalid("tls-ciphers", format!("no cipher suite left for the TLS version asked for: {e}")))?;
    let mut config = if settings.verify {
        builder.with_root_certificates(roots(settings.ca.as_ref())?).with_no_client_auth()
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))).with_no_client_auth()
    };
    config.alpn_protocols = match http2 {
        true => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        false => vec![b"http/1.1".to_vec()],
    };
    if !settings.resumption {
        config.resumption = Resumption::disabled();
    }
    Ok(Arc::new(config))
}

fn roots(ca: Option<&PathBuf>) -> Result<RootCertStore, ConfigError> {
    let mut store = RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> =
        match ca {
            Some(path) => CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<_, _>>())
                .map_err(|e| ConfigError::Invalid {
                    setting: "tls-ca",
                    reason: format!("cannot read certificates from {}: {e}", path.display()),
                })?,
            None => rustls_native_certs::load_native_certs().certs,
        };
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        let place = ca.map_or("the system's certificate store".to_string(), |p| p.display().to_string());
        return Err(ConfigError::Invalid {
            setting: "tls-ca",
            reason: format!("{place} holds no certificate to trust; give the server's CA, or turn verification off"),
        });
    }
    Ok(store)
}

/// Accepts any server certificate (verification off), but checks the handshake's signatures with it.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What a finished handshake agreed on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub version: String,
    pub cipher: String,
    pub alpn: Option<String>,
    pub resumed: bool,
}

/// A connection's socket: plain, or TLS over it.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<Secure>),
}

pub(crate) struct Secure {
    tcp: TcpStream,
    tls: ClientConnection,
}

impl Stream {
    /// TLS over `tcp` to `name`, its handshake not begun.
    pub fn secure(tcp: TcpStream, config: &Arc<ClientConfig>, name: &ServerName<'static>) -> io::Result<Stream> {
        let tls = ClientConnection::new(config.clone(), name.clone()).map_err(io::Error::other)?;
        Ok(Stream::Tls(Box::new(Secure { tcp, tls })))
    }

    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(s) => &s.tcp,
        }
    }

    /// Whether a read shorter than the buffer means the socket is drained (plain); TLS may hold more.
    pub fn short_read_drains(&self) -> bool {
        matches!(self, Stream::Plain(_))
    }

    /// Advances the handshake as far as the socket allows: `Some` once it is done, `None` while it waits
    /// for the socket; `Err` with the reason when it failed (a certificate that does not verify, no
    /// common version or suite, the server closed).
    pub fn handshake(&mut self) -> Result<Option<Negotiated>, String> {
        let Stream::Tls(s) = self else {
            return Ok(Some(Negotiated { version: String::new(), cipher: String::new(), alpn: None, resumed: false }));
        };
        loop {
            while s.tls.wants_write() {
                match s.tls.write_tls(&mut s.tcp) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(format!("writing the handshake: {e}")),
                }
            }
            if !s.tls.is_handshaking() {
                let tls = &s.tls;
                return Ok(Some(Negotiated {
                    version: tls.protocol_version().and_then(|v| v.as_str()).unwrap_or("?").to_string(),
                    cipher: tls.negotiated_cipher_suite().and_then(|c| c.suite().as_str()).unwrap_or("?").to_string(),
                    alpn: tls.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
                    resumed: tls.handshake_kind() == Some(HandshakeKind::Resumed),
                }));
            }
            match s.tls.read_tls(&mut s.tcp) {
                Ok(0) => return Err("the server closed the connection during the handshake".into()),
                Ok(_) => {
                    if let Err(e) = s.tls.process_new_packets() {
                        // Tell the server why (an alert), as far as the socket takes it.
                        let _ = s.tls.write_tls(&mut s.tcp);
                        return Err(e.to_string());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading the handshake: {e}")),
            }
        }
    }

    /// Writes ciphertext rustls holds as far as the socket takes it: whether none is left.
    pub fn flush_pending(&mut self) -> io::Result<bool> {
        let Stream::Tls(s) = self else {
            return Ok(true);
        };
        while s.tls.wants_write() {
            match s.tls.write_tls(&mut s.tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Like `Write::write` on a non-blocking socket: TLS takes the plaintext once its earlier ciphertext
    /// is out, and sends it as far as the socket allows (the rest goes with `flush_pending`).
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(_) => {
                if !self.flush_pending()? {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let Stream::Tls(s) = self else { unreachable!("matched above") };
                let n = s.tls.writer().write(buf)?;
                self.flush_pending()?;
                Ok(n)
            }
        }
    }

    /// Like `Read::read` on a non-blocking socket: plaintext rustls holds first, then the socket's.
    /// `Ok(0)` is the end of the stream.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let s = match self {
            Stream::Plain(tcp) => return tcp.read(buf),
            Stream::Tls(s) => s,
        };
        loop {
            match s.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match s.tls.read_tls(&mut s.tcp) {
                Ok(0) => return Ok(0),
                Ok(_) => {
                    s.tls.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The name a certificate must carry for `host` (a DNS name or an IP address, as in the URL).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, ConfigError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string())
        .map_err(|e| ConfigError::Invalid { setting: "url", reason: format!("'{bare}' is not a TLS server name: {e}") })
}
