//! libpq's `sslmode` for the PostgreSQL store, on rustls.
//!
//! tokio-postgres knows only `disable | prefer | require` (it rejects `verify-ca`, `verify-full`,
//! `allow` and every `sslrootcert`/`sslcert`/`sslkey` key as unknown), and whether the server
//! certificate is checked is up to the TLS connector. So the store takes those keys out of the
//! URL and builds the rustls config itself:
//!
//! | sslmode      | tokio-postgres | certificate check                                     |
//! |--------------|----------------|-------------------------------------------------------|
//! | disable      | Disable        | (no TLS)                                              |
//! | allow        | Prefer         | none (libpq tries plaintext first; we try TLS first)  |
//! | prefer (dflt)| Prefer         | none, as libpq                                        |
//! | require      | Require        | none, as libpq; with `sslrootcert` = verify-ca, as libpq |
//! | verify-ca    | Require        | chain to the roots, any host name                     |
//! | verify-full  | Require        | chain to the roots and host name (or IP SAN)          |
//!
//! Roots: `sslrootcert=PATH` (PEM, may hold several), `sslrootcert=system` (the OS store, as
//! libpq 16+), default for verify-*: the OS store (libpq's default is ~/.postgresql/root.crt).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub(super) fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                "sslmode '{other}': use disable, allow, prefer, require, verify-ca or verify-full"
            ))
            }
        })
    }

    /// What the client itself is told: whether to ask the server for TLS.
    pub(super) fn for_client(self) -> postgres::config::SslMode {
        use postgres::config::SslMode as T;
        match self {
            SslMode::Disable => T::Disable,
            SslMode::Allow | SslMode::Prefer => T::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => T::Require,
        }
    }
}

/// `sslrootcert` (a path, or `system`), `sslcert` and `sslkey`.
#[derive(Debug, Clone, Default)]
pub(super) struct TlsOptions {
    pub(super) rootcert: Option<String>,
    pub(super) cert: Option<PathBuf>,
    pub(super) key: Option<PathBuf>,
}

/// What to connect with.
#[derive(Clone)]
pub(super) enum Connector {
    Plain,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

/// The rustls provider, named explicitly: `ClientConfig::builder()` uses the process default,
/// which panics when both `ring` and `aws-lc-rs` are compiled in (features unify across the tree).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The connector for `mode`: errors name the file that could not be used.
pub(super) fn connector(mode: SslMode, opts: &TlsOptions) -> Result<Connector, String> {
    if mode == SslMode::Disable {
        return Ok(Connector::Plain);
    }
    let verify = match mode {
        SslMode::VerifyCa | SslMode::VerifyFull => Some(mode == SslMode::VerifyFull),
        // libpq: "if a root CA file exists, sslmode=require behaves as verify-ca".
        SslMode::Require if opts.rootcert.is_some() => Some(false),
        _ => None,
    };
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match verify {
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider))),
        Some(full) => {
            let roots = Arc::new(roots(opts.rootcert.as_deref())?);
            let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| e.to_string())?;
            if full {
                builder.with_webpki_verifier(inner)
            } else {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyName(inner)))
            }
        }
    };
    let config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("sslcert {}: {e}", cert.display()))?;
            let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("sslkey {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| e.to_string())?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("sslcert and sslkey go together".into()),
    };
    Ok(Connector::Rustls(
        tokio_postgres_rustls::MakeRustlsConnect::new(config),
    ))
}

fn roots(rootcert: Option<&str>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match rootcert {
        None | Some("system") => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err("no system root certificates found (set sslrootcert=PATH)".into());
            }
        }
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {path}: {e}"))?
            {
                let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
            if store.is_empty() {
                return Err(format!("sslrootcert {path}: no certificate in it"));
            }
        }
    }
    Ok(store)
}

/// `prefer`/`require` as libpq: encryption without authentication of the server. The handshake
/// signature is still checked (so the peer holds the certificate's key, which matters for
/// SCRAM channel binding).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the full WebPKI check, except that a name mismatch is accepted.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
