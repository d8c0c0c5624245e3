//! HTTPS for the sandbox: a self-signed certificate for `127.0.0.1` and `localhost`, generated
//! once and kept in the data directory (so clients that trust it keep trusting it across
//! restarts), and a TLS accept loop in front of the same router.

use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// The file names of the certificate and its key in the data directory.
const CERT_FILE: &str = "sandbox-cert.pem";
const KEY_FILE: &str = "sandbox-key.pem";

/// A certificate and its key, PEM.
#[derive(Clone)]
pub(crate) struct Identity {
    pub cert_pem: String,
    key_pem: String,
}

impl Identity {
    /// The identity kept in `dir`, or a new one (written there when `dir` is given).
    pub fn load_or_create(dir: Option<&Path>) -> Result<Self, Error> {
        if let Some(dir) = dir {
            let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
            if cert.is_file() && key.is_file() {
                return Ok(Self {
                    cert_pem: std::fs::read_to_string(cert)?,
                    key_pem: std::fs::read_to_string(key)?,
                });
            }
        }
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let signed = rcgen::generate_simple_self_signed(names)
            .map_err(|e| Error::Invalid(format!("generating a certificate: {e}")))?;
        let identity = Self {
            cert_pem: signed.cert.pem(),
            key_pem: signed.signing_key.serialize_pem(),
        };
        if let Some(dir) = dir {
            write_private(&dir.join(KEY_FILE), &identity.key_pem)?;
            std::fs::write(dir.join(CERT_FILE), &identity.cert_pem)?;
        }
        Ok(identity)
    }

    fn acceptor(&self) -> Result<TlsAcceptor, Error> {
        let invalid =
            |e: &dyn std::fmt::Display| Error::Invalid(format!("the sandbox certificate: {e}"));
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| invalid(&e))?;
        let key =
            PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|e| invalid(&e))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(&e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid(&e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// The key file is readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())?;
    Ok(())
}

/// Serve `app` over TLS on `listener` until `stop` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    app: axum::Router,
    identity: &Identity,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<(), Error> {
    let acceptor = identity.acceptor()?;
    tokio::pin!(stop);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
            _ = &mut stop => return Ok(()),
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            // A client that fails the handshake (one that does not trust the certificate) is
            // simply dropped.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let io = hyper_util::rt::TokioIo::new(tls);
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(io, service)
                    .await;
        });
    }
}
