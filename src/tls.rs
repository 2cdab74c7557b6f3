//! TLS for the native transport (`client_encryption_options`), with rustls.
//!
//! `server_config` turns the parsed options into a rustls configuration: the keystore (one
//! PEM file with the private key, PKCS#8 encrypted or not, and the certificate chain), the
//! truststore for client certificates, protocol versions and cipher suites by their
//! Java/IANA names. `Encryption` is what a listener does with each accepted socket: plain
//! text, TLS, or either (optional mode, told apart by the first byte). `ClientStream` is the
//! one type `connection` reads and writes.
//!
//! Invariants:
//! - Every file problem is reported at start, naming the option and the file; the node never
//!   starts unencrypted because a TLS setting could not be applied.
//! - A failed or slow handshake (a plain-text client on a TLS port included) closes only
//!   that socket, within `HANDSHAKE_TIMEOUT`, and never holds a connection slot longer.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::crypto::ring as provider;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::{ClientAuth, EncryptionOptions, TlsVersion};

/// How long a client may take to complete the TLS handshake (or, in optional mode, to
/// send its first byte).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The first byte of a TLS record carrying a handshake (ClientHello); a CQL frame starts
/// with its protocol version (1 to 5, or 0x4x for v5-beta), never 0x16.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// A TLS setting that cannot be applied; the message names the option and the file.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TlsConfigError {
    key: &'static str,
    message: String,
}

/// What a listener does with an accepted socket.
#[derive(Clone)]
pub enum Encryption {
    Plain,
    /// TLS only: a client that does not start a handshake is disconnected.
    Required(TlsAcceptor),
    /// `optional: true`: TLS when the first byte starts a TLS handshake, else plain text.
    Optional(TlsAcceptor),
}

impl Encryption {
    /// The native transport's mode for `options` (`client_encryption_options`), with its
    /// files read and checked now.
    pub fn for_clients(options: &EncryptionOptions) -> Result<Encryption, TlsConfigError> {
        if !options.enabled && !options.optional {
            return Ok(Encryption::Plain);
        }
        let acceptor = TlsAcceptor::from(server_config(options, "client_encryption_options")?);
        Ok(if options.optional {
            Encryption::Optional(acceptor)
        } else {
            Encryption::Required(acceptor)
        })
    }

    /// For the start-up log.
    pub fn describe(&self) -> &'static str {
        match self {
            Encryption::Plain => "unencrypted",
            Encryption::Required(_) => "encrypted",
            Encryption::Optional(_) => "encrypted or unencrypted (optional)",
        }
    }

    /// Wraps an accepted socket; an error closes it (handshake failure, timeout).
    pub async fn accept(&self, socket: TcpStream) -> io::Result<ClientStream> {
        let acceptor = match self {
            Encryption::Plain => return Ok(ClientStream::Plain(socket)),
            Encryption::Required(acceptor) => acceptor,
            Encryption::Optional(acceptor) => {
                let mut first = [0u8; 1];
                let peeked = tokio::time::timeout(HANDSHAKE_TIMEOUT, socket.peek(&mut first))
                    .await
                    .map_err(|_| timed_out("no first byte"))??;
                if peeked == 0 || first != [TLS_HANDSHAKE_RECORD] {
                    return Ok(ClientStream::Plain(socket));
                }
                acceptor
            }
        };
        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket))
            .await
            .map_err(|_| timed_out("TLS handshake"))??;
        Ok(ClientStream::Tls(Box::new(tls)))
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} within {HANDSHAKE_TIMEOUT:?}"),
    )
}

/// A client connection, plain or TLS: the byte stream `connection` serves.
pub enum ClientStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl ClientStream {
    /// The negotiated protocol and cipher suite, with the names Java gives them
    /// (`system_views.clients`); `None` for a plain-text connection.
    pub fn tls_session(&self) -> Option<crate::clients::TlsSession> {
        let ClientStream::Tls(stream) = self else {
            return None;
        };
        let (_, connection) = stream.get_ref();
        let protocol = match connection.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            other => format!("{other:?}"),
        };
        // rustls names TLS 1.3 suites TLS13_*; the IANA (and Java) names are TLS_*.
        let suite = format!("{:?}", connection.negotiated_cipher_suite()?.suite());
        let cipher_suite = match suite.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => suite,
        };
        Some(crate::clients::TlsSession {
            protocol,
            cipher_suite,
        })
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Plain(s) => s.is_write_vectored(),
            ClientStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The client side of `strata health` against a TLS-only node. It checks liveness, not
/// identity, so it accepts the node's certificate whatever signed it (the probe dials the
/// node's own address); under `require_client_auth` it presents the node's keystore, which
/// the truststore accepts when it holds the node's CA, as in the usual deployments.
pub fn probe_config(
    options: &EncryptionOptions,
) -> Result<Arc<rustls::ClientConfig>, TlsConfigError> {
    let key = "client_encryption_options";
    let fail = |message: String| TlsConfigError { key, message };
    let provider = Arc::new(ring_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocol_versions(&options.protocols))
        .map_err(|e| fail(format!("protocols: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServerCertificate(provider)));
    let config = match (options.require_client_auth, options.keystore.as_deref()) {
        (ClientAuth::Required, Some(keystore)) => {
            let (chain, private_key) =
                read_keystore(keystore, options.keystore_password.as_deref()).map_err(fail)?;
            builder
                .with_client_auth_cert(chain, private_key)
                .map_err(|e| fail(format!("keystore {}: {e}", keystore.display())))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Accepts any server certificate, but still checks the handshake signatures with it.
#[derive(Debug)]
struct AnyServerCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
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
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls server configuration for one `*_encryption_options` map named `key`.
pub fn server_config(
    options: &EncryptionOptions,
    key: &'static str,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let fail = |message: String| TlsConfigError { key, message };
    let keystore = options
        .keystore
        .as_deref()
        .ok_or_else(|| fail("keystore is required when encryption is enabled".into()))?;
    let (chain, private_key) =
        read_keystore(keystore, options.keystore_password.as_deref()).map_err(fail)?;
    let mut provider = ring_provider();
    if !options.cipher_suites.is_empty() {
        provider.cipher_suites = cipher_suites(&options.cipher_suites).map_err(fail)?;
    }
    let versions = protocol_versions(&options.protocols);
    if !provider
        .cipher_suites
        .iter()
        .any(|s| versions.iter().any(|v| s.version() == *v))
    {
        return Err(fail(format!(
            "no cipher suite of cipher_suites [{}] is usable with the accepted protocols [{}]",
            options.cipher_suites.join(", "),
            versions_text(&options.protocols)
        )));
    }
    let provider = Arc::new(provider);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| fail(format!("protocols: {e}")))?;
    let builder =
        match (options.require_client_auth, &options.truststore) {
            (ClientAuth::None, _) => builder.with_no_client_auth(),
            (auth, Some(truststore)) => {
                let roots = read_truststore(truststore).map_err(fail)?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
                let verifier = match auth {
                    ClientAuth::Optional => verifier.allow_unauthenticated(),
                    _ => verifier,
                };
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| fail(format!("truststore {}: {e}", truststore.display())))?,
                )
            }
            (_, None) => return Err(fail(
                "require_client_auth needs a truststore (a PEM file of the trusted certificates)"
                    .into(),
            )),
        };
    let config = builder
        .with_single_cert(chain, private_key)
        .map_err(|e| fail(format!("keystore {}: {e}", keystore.display())))?;
    Ok(Arc::new(config))
}

/// rustls with *ring*'s primitives. *ring* rather than aws-lc-rs (rustls' default) keeps the
/// build free of CMake and a C toolchain beyond cc; rustls marks it deprecated only because
/// *ring* has no post-quantum key exchange, which Cassandra's clients (JSSE, OpenSSL 3.0 in
/// the drivers) do not offer either.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    provider::default_provider()
}

fn protocol_versions(protocols: &[TlsVersion]) -> Vec<&'static SupportedProtocolVersion> {
    let all = [TlsVersion::Tls12, TlsVersion::Tls13];
    let wanted = if protocols.is_empty() {
        &all[..]
    } else {
        protocols
    };
    wanted
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect()
}

fn versions_text(protocols: &[TlsVersion]) -> String {
    if protocols.is_empty() {
        return "TLSv1.2, TLSv1.3".into();
    }
    protocols
        .iter()
        .map(|v| v.java_name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rustls suites for Java/IANA names. JSSE names TLS 1.3 suites `TLS_AES_128_GCM_SHA256`
/// (IANA's name) where rustls says `TLS13_AES_128_GCM_SHA256`; both are accepted. A name
/// rustls does not implement is refused, naming it and the suites that are available.
fn cipher_suites(names: &[String]) -> Result<Vec<SupportedCipherSuite>, String> {
    let all = provider::ALL_CIPHER_SUITES;
    names
        .iter()
        .map(|name| {
            all.iter()
                .find(|s| {
                    java_name(s).as_deref() == Some(name.trim())
                        || suite_name(s) == Some(name.trim())
                })
                .copied()
                .ok_or_else(|| {
                    format!(
                        "cipher_suites: {name} is not supported; available: {}",
                        all.iter()
                            .filter_map(java_name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        })
        .collect()
}

fn suite_name(suite: &SupportedCipherSuite) -> Option<&'static str> {
    suite.suite().as_str()
}

/// The JSSE/IANA name of a suite.
fn java_name(suite: &SupportedCipherSuite) -> Option<String> {
    let name = suite_name(suite)?;
    Some(match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name.to_string(),
    })
}

/// The certificate chain and private key of a PEM keystore.
fn read_keystore(
    path: &Path,
    password: Option<&str>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let shown = path.display();
    let text = std::fs::read(path).map_err(|e| format!("cannot read keystore {shown}: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("keystore {shown}: bad certificate: {e}"))?;
    if chain.is_empty() {
        return Err(format!(
            "keystore {shown} holds no PEM certificate (BEGIN CERTIFICATE): Strata reads PEM \
             keystores holding the private key and its certificate chain"
        ));
    }
    let key = match encrypted_key_section(&text) {
        Some(section) => decrypt_key(section, password)
            .map_err(|e| format!("keystore {shown}: encrypted private key: {e}"))?,
        None => {
            if contains(&text, b"Proc-Type: 4,ENCRYPTED") {
                return Err(format!(
                    "keystore {shown}: the private key is encrypted in OpenSSL's legacy format, \
                     which is not supported; convert it to encrypted PKCS#8 \
                     (openssl pkcs8 -topk8 -v2 aes-256-cbc)"
                ));
            }
            PrivateKeyDer::from_pem_slice(&text).map_err(|e| {
                format!(
                    "keystore {shown} holds no usable PEM private key (BEGIN PRIVATE KEY, \
                     BEGIN ENCRYPTED PRIVATE KEY, BEGIN RSA/EC PRIVATE KEY): {e}"
                )
            })?
        }
    };
    Ok((chain, key))
}

const ENCRYPTED_BEGIN: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_END: &[u8] = b"-----END ENCRYPTED PRIVATE KEY-----";

/// The `ENCRYPTED PRIVATE KEY` PEM section of a keystore, if it has one.
fn encrypted_key_section(text: &[u8]) -> Option<&[u8]> {
    let start = find(text, ENCRYPTED_BEGIN)?;
    let rest = text.get(start..)?;
    let end = find(rest, ENCRYPTED_END)? + ENCRYPTED_END.len();
    rest.get(..end)
}

/// Decrypts a PKCS#8 `EncryptedPrivateKeyInfo` (PBES2: PBKDF2 or scrypt with AES, what
/// `openssl pkcs8 -topk8` writes) with `keystore_password`.
fn decrypt_key(section: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, String> {
    let password = password.ok_or("keystore_password is required to decrypt it, and is not set")?;
    let pem = std::str::from_utf8(section).map_err(|_| "not PEM text".to_string())?;
    let (_, document) = pkcs8::der::Document::from_pem(pem).map_err(|e| e.to_string())?;
    let info =
        pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes()).map_err(|e| e.to_string())?;
    let plain = info
        .decrypt(password)
        .map_err(|e| format!("cannot decrypt with keystore_password ({e})"))?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        plain.as_bytes().to_vec(),
    )))
}

fn read_truststore(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let text = std::fs::read(path).map_err(|e| format!("cannot read truststore {shown}: {e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&text) {
        let cert = cert.map_err(|e| format!("truststore {shown}: bad certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("truststore {shown}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "truststore {shown} holds no PEM certificate (BEGIN CERTIFICATE)"
        ));
    }
    Ok(roots)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_suites_by_java_and_rustls_names() {
        let suites = cipher_suites(&[
            "TLS_AES_128_GCM_SHA256".to_string(),
            "TLS13_AES_256_GCM_SHA384".to_string(),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".to_string(),
        ])
        .expect("known suites");
        assert_eq!(suites.len(), 3);
        let err = cipher_suites(&["TLS_RSA_WITH_AES_128_CBC_SHA".to_string()])
            .expect_err("not in rustls");
        assert!(
            err.contains("TLS_RSA_WITH_AES_128_CBC_SHA is not supported")
                && err.contains("TLS_AES_128_GCM_SHA256"),
            "{err}"
        );
    }

    #[test]
    fn keystore_problems_name_the_file() {
        let dir = std::env::temp_dir().join(format!("strata-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = dir.join("missing.pem");
        let err = read_keystore(&missing, None).expect_err("missing");
        assert!(
            err.contains("cannot read keystore") && err.contains("missing.pem"),
            "{err}"
        );
        let jks = dir.join("node.jks");
        std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).expect("write");
        let err = read_keystore(&jks, None).expect_err("not PEM");
        assert!(err.contains("holds no PEM certificate"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn encrypted_section_is_found_among_others() {
        let text = b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n\
                     -----BEGIN ENCRYPTED PRIVATE KEY-----\nAA==\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let section = encrypted_key_section(text).expect("section");
        assert!(section.starts_with(ENCRYPTED_BEGIN) && section.ends_with(ENCRYPTED_END));
        let err = decrypt_key(section, None).expect_err("no password");
        assert!(err.contains("keystore_password is required"), "{err}");
    }
}
