//! Helpers for the load generator's tests, on top of the shared test server.

use std::time::Duration;

use loadgen::{Config, Control, LoadResult, RunLength, Target};
pub use testserver::{write, Action, Server, OK};

/// A config for `server`: `n_connections` on one thread, stop rule given.
pub fn config_for(server: &Server, n_connections: usize, stop: RunLength) -> Config {
    Config { n_connections, n_threads: 1, stop, ..Config::new(Target::parse(&server.url()).unwrap()) }
}

/// Runs `config` to its end.
pub fn run(config: &Config) -> LoadResult {
    loadgen::run(config, &Control::new()).unwrap()
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A CA made for a test, and a server certificate it signed for `names`.
pub struct TestCa {
    /// The CA's certificate (PEM), for `--tls-ca`.
    pub ca: tempfile::NamedTempFile,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: Vec<u8>,
}

impl TestCa {
    pub fn new(names: &[&str]) -> TestCa {
        use std::io::Write;
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "stackbench test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(names.iter().map(ToString::to_string).collect::<Vec<_>>())
            .unwrap()
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .unwrap();
        let mut ca = tempfile::NamedTempFile::new().unwrap();
        ca.write_all(ca_cert.pem().as_bytes()).unwrap();
        TestCa { ca, cert: leaf.der().clone(), key: leaf_key.serialize_der() }
    }

    /// A server's TLS configuration with the certificate, offering `alpn` (in order of preference).
    pub fn server_config(&self, alpn: &[&[u8]]) -> std::sync::Arc<rustls::ServerConfig> {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone())))
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        std::sync::Arc::new(config)
    }
}
