//! The run's TLS: a CA of its own and a certificate it signs for the server's address, made when the
//! runner is built.
//!
//! Invariant: a TLS server gets this certificate (followed by the CA's) and its key as files at
//! `scenario::TLS_CERT` and `scenario::TLS_KEY`; its checks and load trust this CA and nothing else, read
//! from a PEM file in a temporary folder that goes with the runner.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::Error;

pub(crate) struct RunTls {
    folder: tempfile::TempDir,
    /// The server's certificate and the CA's (PEM), and the server's private key (PKCS#8 PEM).
    chain: String,
    key: String,
}

impl RunTls {
    /// A CA and a certificate for `localhost`, 127.0.0.1 and `server_address`.
    pub(crate) fn new(server_address: IpAddr) -> Result<RunTls, Error> {
        let failed = |e: rcgen::Error| Error::Tls(format!("cannot make the run's certificate: {e}"));
        let ca_key = rcgen::KeyPair::generate().map_err(failed)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "stackbench run CA");
        let ca = ca_params.self_signed(&ca_key).map_err(failed)?;
        let key = rcgen::KeyPair::generate().map_err(failed)?;
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        if !names.contains(&server_address.to_string()) {
            names.push(server_address.to_string());
        }
        let leaf =
            rcgen::CertificateParams::new(names).map_err(failed)?.signed_by(&key, &ca, &ca_key).map_err(failed)?;
        let folder = docker::temporary::folder("tls")
            .map_err(|e| Error::Tls(format!("cannot make a temporary folder for the run's CA: {e}")))?;
        let tls = RunTls { folder, chain: format!("{}{}", leaf.pem(), ca.pem()), key: key.serialize_pem() };
        std::fs::write(tls.ca_path(), ca.pem())
            .map_err(|e| Error::Tls(format!("cannot write the run's CA to {}: {e}", tls.ca_path().display())))?;
        Ok(tls)
    }

    /// The CA's certificate (PEM).
    pub(crate) fn ca_path(&self) -> PathBuf {
        self.folder.path().join("ca.pem")
    }

    /// What a TLS server's container gets before it starts: its certificate chain and key.
    pub(crate) fn files(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            (scenario::TLS_CERT.to_string(), self.chain.clone().into_bytes()),
            (scenario::TLS_KEY.to_string(), self.key.clone().into_bytes()),
        ]
    }
}
