//! `client_encryption_options` and `server_encryption_options`, as Cassandra 5.0 reads them
//! with its PEM-based SSL context factory (`PEMBasedSslContextFactory`): one parser for both
//! maps, so internode encryption is configured in the same shape as client encryption.
//!
//! Invariants:
//! - Every option of Cassandra 5.0's `EncryptionOptions` is either applied, or accepted and
//!   listed as ignored because ignoring it cannot weaken security; anything else is refused
//!   naming the option.
//! - This module only reads the YAML map; the files it names (keystore, truststore) are read
//!   and checked by `crate::tls` when the node starts, before it touches its data.

use std::path::PathBuf;

use serde_yaml_ng::Value;

/// TLS protocol versions Strata speaks (rustls has nothing older than TLS 1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

impl TlsVersion {
    /// A JSSE protocol name (`TLSv1.2`); `TLS` (JSSE's "any") is handled by the caller.
    fn from_java(name: &str) -> Option<TlsVersion> {
        match name.trim() {
            "TLSv1.2" => Some(TlsVersion::Tls12),
            "TLSv1.3" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }

    pub fn java_name(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }
}

/// Cassandra 5.0's `require_client_auth`: `true`, `false` or `optional` (ask for a
/// certificate, verify it when given, accept clients without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    Optional,
    Required,
}

/// Cassandra's `internode_encryption`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InternodeEncryption {
    #[default]
    None,
    All,
    Dc,
    Rack,
}

/// One `*_encryption_options` map, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptionOptions {
    /// TLS on the native transport port (client options).
    pub enabled: bool,
    /// TLS and plain text on the same port, told apart by the first bytes.
    pub optional: bool,
    /// One PEM file: the private key and the certificate chain.
    pub keystore: Option<PathBuf>,
    /// Password of an encrypted (PKCS#8) private key in the keystore.
    pub keystore_password: Option<String>,
    /// PEM file of the certificates that client certificates must chain to.
    pub truststore: Option<PathBuf>,
    pub require_client_auth: ClientAuth,
    /// Empty: every version Strata speaks.
    pub protocols: Vec<TlsVersion>,
    /// Java/IANA cipher suite names, as written; empty: rustls' defaults. Resolved (and an
    /// unknown one refused) by `crate::tls`.
    pub cipher_suites: Vec<String>,
    /// Server options only.
    pub internode_encryption: InternodeEncryption,
    /// Options accepted and ignored (`client_encryption_options.algorithm`, ...), to be
    /// listed at start with the other ignored properties.
    pub ignored: Vec<String>,
}

impl EncryptionOptions {
    /// Whether the node must set up TLS for this map.
    pub fn in_use(&self) -> bool {
        self.enabled || self.optional || self.internode_encryption != InternodeEncryption::None
    }
}

/// Which of the two maps is parsed: they share every option but these.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Client,
    Server,
}

/// Options that change nothing for a PEM keystore or a server-side socket, accepted so a
/// production file loads, and listed at start.
const IGNORED: &[&str] = &[
    // KeyManagerFactory algorithm (SunX509): JSSE only.
    "algorithm",
    // Truststore passwords protect JKS/PKCS12 stores; a PEM truststore has none.
    "truststore_password",
    "truststore_password_file",
    // Certificate-age warnings of Cassandra 5.0's metrics.
    "max_certificate_validity_period",
    "certificate_validity_warn_threshold",
];

/// Parses `value`, the map under `key`. The error is the whole message for the operator.
pub(super) fn parse(key: &str, value: &Value, side: Side) -> Result<EncryptionOptions, String> {
    let Value::Mapping(map) = value else {
        return Err(format!(
            "Invalid value for {key}: expected a map of encryption options"
        ));
    };
    let mut out = EncryptionOptions::default();
    let mut problems = Vec::new();
    for (name, v) in map {
        let name = name.as_str().unwrap_or_default();
        if v.is_null() {
            continue;
        }
        if let Err(problem) = apply(&mut out, key, name, v, side) {
            problems.push(problem);
        }
    }
    if problems.is_empty() && out.in_use() {
        check_complete(&out, key, side, &mut problems);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems.join("\n"))
    }
}

fn apply(
    out: &mut EncryptionOptions,
    key: &str,
    name: &str,
    v: &Value,
    side: Side,
) -> Result<(), String> {
    let form = |expected: &str| {
        format!(
            "Invalid value for {key}.{name}: {}; expected {expected}",
            super::inline(v)
        )
    };
    let text = || super::scalar_text(v).ok_or_else(|| form("a string"));
    let flag = || match text().ok().as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(form("true or false")),
    };
    match name {
        "enabled" if side == Side::Client => out.enabled = flag()?,
        "optional" => out.optional = flag()?,
        "keystore" => out.keystore = Some(text()?.into()),
        "keystore_password" => out.keystore_password = Some(text()?),
        "keystore_password_file" => {
            let path = text()?;
            let password = std::fs::read_to_string(&path)
                .map_err(|e| format!("{key}.keystore_password_file: cannot read {path}: {e}"))?;
            out.keystore_password = Some(password.trim_end_matches(['\r', '\n']).to_string());
        }
        "truststore" => out.truststore = Some(text()?.into()),
        "require_client_auth" => {
            out.require_client_auth = match text()?.as_str() {
                "true" => ClientAuth::Required,
                "false" => ClientAuth::None,
                "optional" => ClientAuth::Optional,
                _ => return Err(form("true, false or optional")),
            }
        }
        "protocol" => {
            // JSSE's `TLS` means any version; a named one restricts to it unless
            // `accepted_protocols` is given (Cassandra 5.0's rule).
            let p = text()?;
            if p.trim() != "TLS" && out.protocols.is_empty() {
                out.protocols = vec![protocol(key, name, &p)?];
            }
        }
        "accepted_protocols" => {
            let names =
                list(v).ok_or_else(|| form("a list of protocols, e.g. [TLSv1.2, TLSv1.3]"))?;
            out.protocols = names
                .iter()
                .map(|p| protocol(key, name, p))
                .collect::<Result<_, _>>()?;
        }
        "cipher_suites" => {
            out.cipher_suites = list(v).ok_or_else(|| form("a list of cipher suite names"))?;
        }
        "store_type" => {
            let t = text()?;
            if t != "PEM" {
                return Err(format!(
                    "{key}.store_type: {t} is not supported: Strata reads PEM keystores and truststores \
                     (Cassandra's PEMBasedSslContextFactory); convert the store to PEM and set store_type: PEM"
                ));
            }
        }
        "ssl_context_factory" => ssl_context_factory(key, v)?,
        "require_endpoint_verification" => {
            // Verifying the peer's host name only applies to outbound (internode)
            // connections; the native transport never dials out.
            if flag()? && side == Side::Server {
                out.ignored.push(format!("{key}.{name}"));
            }
        }
        "internode_encryption" if side == Side::Server => {
            out.internode_encryption = match text()?.as_str() {
                "none" => InternodeEncryption::None,
                "all" => InternodeEncryption::All,
                "dc" => InternodeEncryption::Dc,
                "rack" => InternodeEncryption::Rack,
                _ => return Err(form("none, all, dc or rack")),
            }
        }
        "legacy_ssl_storage_port_enabled"
        | "enable_legacy_ssl_storage_port"
        | "outbound_keystore"
        | "outbound_keystore_password"
            if side == Side::Server =>
        {
            out.ignored.push(format!("{key}.{name}"))
        }
        other if IGNORED.contains(&other) => out.ignored.push(format!("{key}.{name}")),
        other => {
            return Err(format!(
                "Invalid yaml. Please remove properties [{key}.{other}] from your cassandra.yaml"
            ))
        }
    }
    Ok(())
}

/// `ssl_context_factory: {class_name, parameters}`: the PEM-based and the default factory
/// (whose keystore file Strata reads as PEM) are accepted; inline PEM parameters are not.
fn ssl_context_factory(key: &str, v: &Value) -> Result<(), String> {
    let class = match v {
        Value::Mapping(m) => m.get("class_name").and_then(super::scalar_text),
        other => super::scalar_text(other),
    }
    .unwrap_or_default();
    let short = class.rsplit('.').next().unwrap_or_default();
    if !matches!(
        short,
        "PEMBasedSslContextFactory" | "DefaultSslContextFactory"
    ) {
        return Err(format!(
            "{key}.ssl_context_factory: {class} is not supported: Strata reads PEM files through \
             keystore and truststore (org.apache.cassandra.security.PEMBasedSslContextFactory)"
        ));
    }
    if let Some(Value::Mapping(params)) = v.get("parameters") {
        if let Some(name) = params.keys().next() {
            return Err(format!(
                "{key}.ssl_context_factory.parameters: {} is not supported: give the PEM files \
                 as keystore and truststore",
                super::inline(name)
            ));
        }
    }
    Ok(())
}

/// Refuses a map that turns TLS on without what it needs.
fn check_complete(out: &EncryptionOptions, key: &str, side: Side, problems: &mut Vec<String>) {
    if out.keystore.is_none() {
        problems.push(format!(
            "{key}: keystore is required when encryption is enabled (a PEM file holding the \
             private key and the certificate chain)"
        ));
    }
    if out.require_client_auth != ClientAuth::None && out.truststore.is_none() {
        problems.push(format!(
            "{key}: require_client_auth needs a truststore (a PEM file of the trusted certificates)"
        ));
    }
    if side == Side::Server && out.internode_encryption != InternodeEncryption::None {
        problems.push(format!(
            "{key}: internode_encryption: {} is not implemented by Strata yet; refusing to start \
             because internode connections would be unencrypted (set internode_encryption: none \
             to run without it)",
            match out.internode_encryption {
                InternodeEncryption::All => "all",
                InternodeEncryption::Dc => "dc",
                InternodeEncryption::Rack => "rack",
                InternodeEncryption::None => "none",
            }
        ));
    }
}

fn protocol(key: &str, name: &str, p: &str) -> Result<TlsVersion, String> {
    TlsVersion::from_java(p).ok_or_else(|| {
        format!("{key}.{name}: {p} is not supported: Strata accepts TLSv1.2 and TLSv1.3 (or TLS for both)")
    })
}

/// A YAML list of strings, or one comma-separated string.
fn list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Sequence(items) => items.iter().map(super::scalar_text).collect(),
        Value::String(s) => Some(super::split_list(s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(yaml: &str) -> Result<EncryptionOptions, String> {
        let v: Value = serde_yaml_ng::from_str(yaml).expect("yaml");
        parse("client_encryption_options", &v, Side::Client)
    }

    fn server(yaml: &str) -> Result<EncryptionOptions, String> {
        let v: Value = serde_yaml_ng::from_str(yaml).expect("yaml");
        parse("server_encryption_options", &v, Side::Server)
    }

    #[test]
    fn cassandras_client_options() {
        let o = client(
            "enabled: true\noptional: false\nkeystore: conf/node.pem\nkeystore_password: secret\n\
             require_client_auth: true\ntruststore: conf/trust.pem\ntruststore_password: x\n\
             protocol: TLS\naccepted_protocols: [TLSv1.2, TLSv1.3]\n\
             cipher_suites: [TLS_AES_128_GCM_SHA256]\nalgorithm: SunX509\nstore_type: PEM\n\
             ssl_context_factory:\n  class_name: org.apache.cassandra.security.PEMBasedSslContextFactory\n",
        )
        .expect("valid");
        assert!(o.enabled && o.in_use());
        assert_eq!(o.require_client_auth, ClientAuth::Required);
        assert_eq!(o.protocols, vec![TlsVersion::Tls12, TlsVersion::Tls13]);
        assert_eq!(o.keystore_password.as_deref(), Some("secret"));
        assert_eq!(
            o.ignored,
            vec![
                "client_encryption_options.truststore_password",
                "client_encryption_options.algorithm"
            ]
        );
        let o = client("optional: true\nkeystore: k.pem\nprotocol: TLSv1.3\nrequire_client_auth: optional\ntruststore: t.pem\n")
            .expect("valid");
        assert!(o.optional && !o.enabled);
        assert_eq!(o.protocols, vec![TlsVersion::Tls13]);
        assert_eq!(o.require_client_auth, ClientAuth::Optional);
    }

    #[test]
    fn a_disabled_map_needs_nothing() {
        let o = client("enabled: false\nkeystore: conf/.keystore\nkeystore_password: cassandra\n")
            .expect("valid");
        assert!(!o.in_use());
    }

    #[test]
    fn incomplete_or_unsupported_settings_are_refused_by_name() {
        for (yaml, needle) in [
            ("enabled: true\n", "keystore is required"),
            (
                "enabled: true\nkeystore: k.pem\nrequire_client_auth: true\n",
                "needs a truststore",
            ),
            (
                "enabled: true\nkeystore: k.jks\nstore_type: JKS\n",
                "store_type: JKS is not supported",
            ),
            (
                "accepted_protocols: [TLSv1.1]\n",
                "TLSv1.1 is not supported",
            ),
            ("enabled: yes please\n", "expected true or false"),
            (
                "enabeld: true\n",
                "remove properties [client_encryption_options.enabeld]",
            ),
            (
                "internode_encryption: all\n",
                "remove properties [client_encryption_options.internode_encryption]",
            ),
            (
                "ssl_context_factory:\n  class_name: com.example.Vault\n",
                "com.example.Vault is not supported",
            ),
        ] {
            let err = client(yaml).expect_err(yaml);
            assert!(err.contains(needle), "{yaml}: {err}");
        }
    }

    #[test]
    fn internode_encryption_is_parsed_then_refused_until_messaging_uses_it() {
        server("internode_encryption: none\nkeystore: conf/.keystore\n").expect("none is fine");
        let err = server("internode_encryption: all\nkeystore: k.pem\n").expect_err("all");
        assert!(
            err.contains("internode_encryption: all is not implemented"),
            "{err}"
        );
        assert!(err.contains("refusing to start"), "{err}");
        let err = server("internode_encryption: dc\n").expect_err("dc");
        assert!(err.contains("keystore is required"), "{err}");
        assert!(server("internode_encryption: sometimes\n").is_err());
    }
}
