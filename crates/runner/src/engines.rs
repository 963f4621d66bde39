//! The engines of a suite, each connected to once: this machine's, the
//! server's, and one per generator container; and where the server may bind.

use crate::Error;

/// The engines a suite runs on.
#[derive(Debug)]
pub struct Engines {
    /// This machine's (base images are copied from it when another engine lacks them).
    pub local: docker::Engine,
    /// Where the server and its sidecars run.
    pub server: docker::Engine,
    /// One per generator container, dealt out over the engines given in turn; empty: load from this process.
    pub generators: Vec<docker::Engine>,
}

impl Engines {
    /// Connects to this machine's engine, the server's (`server`, else this machine's) and the generator
    /// engines (`generator_engines`, else this machine's) for `n_generators` containers; checks
    /// `server_address` against where the server runs: an engine on this machine runs it with host
    /// networking, where it may listen on loopback only. What is doubtful but allowed goes to `warn`.
    pub async fn connect(
        server: Option<&str>,
        generator_engines: &[String],
        n_generators: usize,
        server_address: std::net::IpAddr,
        warn: &mut dyn FnMut(&str),
    ) -> Result<Engines, Error> {
        let local = docker::Engine::connect().await?;
        let server = match server {
            Some(endpoint) => docker::Engine::connect_to(endpoint).await?,
            None => local.clone(),
        };
        match (server.is_local(), server_address.is_loopback()) {
            (true, false) => {
                return Err(Error::Address(format!(
                    "--server-address {server_address}: the server runs on this machine's engine with host \
                     networking, where it may listen on loopback only; to serve from another host, name its engine \
                     with --server-engine"
                )))
            }
            (false, true) => warn(&format!(
                "the server runs on {} and binds {server_address}: unless that engine is on this machine, pass \
                 --server-address with its host's address",
                server.endpoint
            )),
            _ => {}
        }
        let mut engines = Vec::new();
        for endpoint in generator_engines {
            engines.push(docker::Engine::connect_to(endpoint).await?);
        }
        if engines.is_empty() {
            engines.push(local.clone());
        }
        let generators = (0..n_generators).map(|idx| engines[idx % engines.len()].clone()).collect();
        Ok(Engines { local, server, generators })
    }
}
