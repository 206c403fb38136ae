//! TLS for a server's listeners and links: the `tls` option, certificates generated per process, and the config
//! blocks.
//!
//! With `"tls": true` (or a [`TlsOptions`] document) the client listener requires TLS with a server certificate
//! for `localhost`, `127.0.0.1` and `::1`, signed by a private CA that this process generates once (ECDSA P-256,
//! valid for a day, regenerated after half of that). The same CA signs a client certificate for mTLS, so every
//! server and cluster node of a process trusts the same CA and a test needs only one set of files to connect to
//! any of them. Each server gets its own copies in `tls/` inside its private directory: the private keys are
//! written with mode 0600 and never printed. The CA's own private key never leaves memory.
//!
//! Bring-your-own files (`cert_file`, `key_file`, `ca_file`) replace the generated ones; the server itself checks
//! them at start, and its own words (missing file, key not matching the certificate) become the error.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// How long generated certificates are valid (they can never go stale in a repository).
const VALIDITY: Duration = Duration::from_secs(24 * 3600);
/// Generated material older than this is replaced before it is handed to a new server.
const RENEW_AFTER: Duration = Duration::from_secs(12 * 3600);
/// The server's TLS handshake timeout, in seconds.
const TLS_TIMEOUT_SECS: u32 = 30;
/// The folder inside a server's private directory that holds its TLS files.
const TLS_DIR: &str = "tls";

/// TLS for a server: on the client listener always, and on the websocket listener and cluster routes on request.
///
/// In JSON, `"tls": true` is the same as `"tls": {}` (generated certificates, no client certificates required),
/// and `"tls": false` or `null` turns TLS off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsOptions {
    /// Require and verify client certificates (mTLS). The generated client certificate is signed by the CA.
    pub verify: bool,
    /// TLS handshake before the server's INFO (nats-server 2.10.4+; clients must opt in too).
    pub handshake_first: bool,
    /// TLS on the websocket listener too (needs `websocket: true`); its URL becomes `wss://`.
    pub websocket: bool,
    /// TLS on cluster routes too (needs a cluster listener, or use it in a cluster's `server` options); nodes
    /// verify each other's certificates against the CA.
    pub routes: bool,
    /// TLS on gateway links too (a supercluster's, or a `gateway` listener's): both ends verify each other against
    /// the CA, so every cluster of a supercluster needs it (set it in the supercluster's `server` options).
    pub gateways: bool,
    /// TLS on leaf node links too: on the leaf node listener of a hub (`leafnodes: true`; leaves must present a
    /// certificate of the CA) and on the connections of a leaf (`leaf_remotes`; the hub is verified against the
    /// CA and the server's certificate is presented). A hub and its leaves in one process share the generated CA,
    /// so set it on both.
    pub leafnodes: bool,
    /// Your own server certificate (PEM) instead of a generated one; needs `key_file`.
    pub cert_file: Option<PathBuf>,
    /// The private key (PEM) of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Your own CA (PEM), to verify client certificates (`verify`) and peers (`routes`); only with `cert_file`.
    pub ca_file: Option<PathBuf>,
}

impl TlsOptions {
    /// Generated certificates, TLS on the client listener only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires and verifies client certificates (mTLS).
    #[must_use]
    pub fn verify(mut self, on: bool) -> Self {
        self.verify = on;
        self
    }

    /// Makes clients start with the TLS handshake (before the server's INFO).
    #[must_use]
    pub fn handshake_first(mut self, on: bool) -> Self {
        self.handshake_first = on;
        self
    }

    /// Puts TLS on the websocket listener too.
    #[must_use]
    pub fn websocket(mut self, on: bool) -> Self {
        self.websocket = on;
        self
    }

    /// Puts TLS on cluster routes too.
    #[must_use]
    pub fn routes(mut self, on: bool) -> Self {
        self.routes = on;
        self
    }

    /// Puts TLS on gateway links too.
    #[must_use]
    pub fn gateways(mut self, on: bool) -> Self {
        self.gateways = on;
        self
    }

    /// Puts TLS on leaf node links too (the hub's listener and a leaf's remotes).
    #[must_use]
    pub fn leafnodes(mut self, on: bool) -> Self {
        self.leafnodes = on;
        self
    }

    /// Uses your own server certificate (set `key_file` too).
    #[must_use]
    pub fn cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cert_file = Some(path.into());
        self
    }

    /// Uses your own private key for `cert_file`.
    #[must_use]
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// Uses your own CA to verify clients and peers.
    #[must_use]
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Whether the certificates are generated (no `cert_file`).
    pub fn generated(&self) -> bool {
        self.cert_file.is_none()
    }

    /// Checks the option against the listeners and links the server will have.
    pub(crate) fn validate(&self, links: Links) -> Result<()> {
        let invalid = |msg: &str| Err(Error::new(ErrorKind::InvalidOptions, msg.to_string()));
        if self.cert_file.is_some() != self.key_file.is_some() {
            return invalid(
                "`tls.cert_file` and `tls.key_file` go together: give both (your own certificate and its key) or \
                 neither (generated ones)",
            );
        }
        if self.ca_file.is_some() && self.cert_file.is_none() {
            return invalid(
                "`tls.ca_file` is only used with your own `tls.cert_file` and `tls.key_file`; the generated \
                 certificates come with their own CA",
            );
        }
        if self.cert_file.is_some()
            && self.ca_file.is_none()
            && (self.verify || self.routes || self.gateways || self.leafnodes)
        {
            return invalid(
                "`tls.verify`, `tls.routes`, `tls.gateways` and `tls.leafnodes` with your own certificate need \
                 `tls.ca_file` (the CA that signs client and peer certificates)",
            );
        }
        if self.websocket && !links.websocket {
            return invalid(
                "`tls.websocket` needs a websocket listener; set `websocket: true` too (or drop `tls.websocket`)",
            );
        }
        if self.routes && !links.cluster {
            return invalid(
                "`tls.routes` needs a cluster listener; set `cluster` (or start a Cluster) or drop `tls.routes`",
            );
        }
        if self.gateways && !links.gateway {
            return invalid(
                "`tls.gateways` needs a gateway; start a Supercluster (or set `gateway`) or drop `tls.gateways`",
            );
        }
        if self.leafnodes && !links.leafnodes {
            return invalid(
                "`tls.leafnodes` needs leaf node links; set `leafnodes: true` (a hub) or `leaf_remotes` (a leaf), or \
                 drop `tls.leafnodes`",
            );
        }
        Ok(())
    }
}

/// The listeners and links a server will have, which the TLS flags must match.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Links {
    pub websocket: bool,
    pub cluster: bool,
    pub gateway: bool,
    /// A leaf node listener (a hub) or leaf remotes (a leaf).
    pub leafnodes: bool,
}

impl From<bool> for TlsOptions {
    fn from(_: bool) -> Self {
        TlsOptions::default()
    }
}

/// Reads the `tls` field of the server options: `true`/`false`/`null` or a [`TlsOptions`] document (whose unknown
/// fields are still rejected by name).
pub(crate) fn deserialize_tls<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<TlsOptions>, D::Error> {
    struct TlsVisitor;
    impl<'de> Visitor<'de> for TlsVisitor {
        type Value = Option<TlsOptions>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("true, false, null or a TLS options object")
        }

        fn visit_bool<E: de::Error>(self, on: bool) -> std::result::Result<Self::Value, E> {
            Ok(on.then(TlsOptions::default))
        }

        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: Deserializer<'de>>(
            self,
            deserializer: D2,
        ) -> std::result::Result<Self::Value, D2::Error> {
            deserializer.deserialize_any(TlsVisitor)
        }

        fn visit_map<M: MapAccess<'de>>(
            self,
            map: M,
        ) -> std::result::Result<Self::Value, M::Error> {
            TlsOptions::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    deserializer.deserialize_any(TlsVisitor)
}

/// The TLS files of one server: what it is configured with, and what a client connects with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA certificate that signed the server's certificate (generated, or your `ca_file`).
    pub ca_file: Option<PathBuf>,
    /// The server's certificate.
    pub cert_file: PathBuf,
    /// The server's private key.
    pub key_file: PathBuf,
    /// A client certificate signed by the CA (generated material only).
    pub client_cert_file: Option<PathBuf>,
    /// The client certificate's private key (generated material only).
    pub client_key_file: Option<PathBuf>,
}

impl TlsFiles {
    /// Writes the generated material into `dir/tls/` (keys 0600), or resolves your own files to absolute paths.
    pub(crate) fn prepare(dir: &Path, opts: &TlsOptions) -> Result<TlsFiles> {
        if let (Some(cert), Some(key)) = (&opts.cert_file, &opts.key_file) {
            let absolute = |p: &PathBuf| {
                std::path::absolute(p)
                    .map_err(|e| Error::io(format!("resolving {}", p.display()), e))
            };
            return Ok(TlsFiles {
                ca_file: opts.ca_file.as_ref().map(absolute).transpose()?,
                cert_file: absolute(cert)?,
                key_file: absolute(key)?,
                client_cert_file: None,
                client_key_file: None,
            });
        }
        let material = Material::current()?;
        let tls = dir.join(TLS_DIR);
        fs::create_dir(&tls).map_err(|e| Error::io(format!("creating {}", tls.display()), e))?;
        let files = TlsFiles {
            ca_file: Some(tls.join("ca.pem")),
            cert_file: tls.join("server-cert.pem"),
            key_file: tls.join("server-key.pem"),
            client_cert_file: Some(tls.join("client-cert.pem")),
            client_key_file: Some(tls.join("client-key.pem")),
        };
        write_file(
            files.ca_file.as_deref().unwrap_or(&tls),
            &material.ca_pem,
            0o644,
        )?;
        write_file(&files.cert_file, &material.server_cert_pem, 0o644)?;
        write_file(&files.key_file, &material.server_key_pem, 0o600)?;
        if let (Some(cert), Some(key)) = (&files.client_cert_file, &files.client_key_file) {
            write_file(cert, &material.client_cert_pem, 0o644)?;
            write_file(key, &material.client_key_pem, 0o600)?;
        }
        Ok(files)
    }

    /// The `tls { ... }` block of the client listener (also used inside `websocket` and `cluster`).
    fn block(&self, indent: &str, verify: bool, handshake_first: bool) -> String {
        let mut text = format!("{indent}tls {{\n");
        text.push_str(&format!(
            "{indent}  cert_file: {}\n",
            quote(&self.cert_file)
        ));
        text.push_str(&format!("{indent}  key_file: {}\n", quote(&self.key_file)));
        if let Some(ca) = &self.ca_file {
            text.push_str(&format!("{indent}  ca_file: {}\n", quote(ca)));
        }
        if verify {
            text.push_str(&format!("{indent}  verify: true\n"));
        }
        if handshake_first {
            text.push_str(&format!("{indent}  handshake_first: true\n"));
        }
        // Generous (the server's default is 2 s): a client's first handshake can be slow on a loaded test machine or
        // under valgrind (OpenSSL's first use there takes seconds), and a timeout shows only as an EOF mid-handshake.
        text.push_str(&format!(
            "{indent}  timeout: {TLS_TIMEOUT_SECS}\n{indent}}}\n"
        ));
        text
    }

    /// The top-level config text for the client listener and the routes (the websocket block is written with
    /// the listener, see [`TlsFiles::websocket_block`]).
    pub(crate) fn config(&self, opts: &TlsOptions) -> String {
        let mut text = self.block("", opts.verify, opts.handshake_first);
        if opts.routes {
            // Merged with the command line's --cluster and --routes; peers verify each other against the CA.
            text.push_str("cluster {\n");
            text.push_str(&self.block("  ", true, false));
            text.push_str("}\n");
        }
        text
    }

    /// The `tls` block of a link listener (gateway, leaf node): peers must present a certificate of the CA.
    pub(crate) fn link_block(&self, indent: &str) -> String {
        self.block(indent, true, false)
    }

    /// The `tls` block of a leaf remote: verifies the hub against the CA and presents the server's certificate.
    pub(crate) fn remote_block(&self, indent: &str) -> String {
        self.block(indent, false, false)
    }

    /// The `tls` block inside the websocket listener's block.
    pub(crate) fn websocket_block(&self, opts: &TlsOptions) -> String {
        self.block("  ", opts.verify, false)
    }
}

/// A config-file string literal for a path.
fn quote(path: &Path) -> String {
    serde_json::to_string(&path.to_string_lossy()).expect("strings always serialize")
}

/// Creates `path` with `mode` (never wider, whatever the umask) and writes `text`.
fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// The generated PEM texts: one CA, a server certificate and a client certificate, shared by every server of
/// this process. Debug never prints the keys.
struct Material {
    made: Instant,
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

impl Material {
    /// The process's material, generated on first use (and again once it is half-way to expiry).
    fn current() -> Result<Arc<Material>> {
        static CURRENT: Mutex<Option<Arc<Material>>> = Mutex::new(None);
        let mut current = CURRENT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match current.as_ref() {
            Some(material) if material.made.elapsed() < RENEW_AFTER => Ok(material.clone()),
            _ => {
                let material = Arc::new(Material::generate().map_err(|e| {
                    Error::new(
                        ErrorKind::Internal,
                        format!("generating TLS certificates failed: {e}"),
                    )
                })?);
                *current = Some(material.clone());
                Ok(material)
            }
        }
    }

    fn generate() -> std::result::Result<Material, rcgen::Error> {
        let now = time::OffsetDateTime::now_utc();
        // An hour back, so a client whose clock is a little behind still accepts it.
        let not_before = now - time::Duration::hours(1);
        let not_after = now + VALIDITY;
        let stamp = now.unix_timestamp();

        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.distinguished_name.push(
            DnType::CommonName,
            format!("nats-server harness test CA {stamp}"),
        );
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.not_before = not_before;
        ca_params.not_after = not_after;
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf = |name: &str, sans: Vec<SanType>, usage: Vec<ExtendedKeyUsagePurpose>| {
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.subject_alt_names = sans;
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyAgreement,
            ];
            params.extended_key_usages = usage;
            params.use_authority_key_identifier_extension = true;
            params.not_before = not_before;
            params.not_after = not_after;
            let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
            let cert = params.signed_by(&key, &issuer)?;
            Ok::<_, rcgen::Error>((cert.pem(), key.serialize_pem()))
        };
        // Server and client authentication both: a route's dialling node presents it as a client certificate.
        let (server_cert_pem, server_key_pem) = leaf(
            "localhost",
            vec![
                SanType::DnsName("localhost".try_into()?),
                SanType::IpAddress([127, 0, 0, 1].into()),
                SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
            ],
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        )?;
        let (client_cert_pem, client_key_pem) = leaf(
            "nats-server harness test client",
            vec![SanType::DnsName("client.localhost".try_into()?)],
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        )?;
        Ok(Material {
            made: Instant::now(),
            ca_pem: ca_cert.pem(),
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
        })
    }
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material")
            .field("made", &self.made)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ServerOptions;

    #[test]
    fn shorthand_and_document_parse() {
        let on = ServerOptions::from_json(r#"{"tls": true}"#).unwrap();
        assert_eq!(on.tls, Some(TlsOptions::default()));
        let off = ServerOptions::from_json(r#"{"tls": false}"#).unwrap();
        assert_eq!(off.tls, None);
        let null = ServerOptions::from_json(r#"{"tls": null}"#).unwrap();
        assert_eq!(null.tls, None);
        let doc = ServerOptions::from_json(r#"{"tls": {"verify": true, "handshake_first": true}}"#)
            .unwrap();
        assert_eq!(
            doc.tls,
            Some(TlsOptions::new().verify(true).handshake_first(true))
        );
        assert_eq!(ServerOptions::from_json(&doc.to_json()).unwrap(), doc);
    }

    #[test]
    fn unknown_and_ill_typed_fields_are_named() {
        let err = ServerOptions::from_json(r#"{"tls": {"verfy": true}}"#).unwrap_err();
        assert!(err.message().contains("verfy"), "{err}");
        let err = ServerOptions::from_json(r#"{"tls": {"verify": 1}}"#).unwrap_err();
        assert!(err.message().contains("tls.verify"), "{err}");
        let err = ServerOptions::from_json(r#"{"tls": "yes"}"#).unwrap_err();
        assert!(err.message().contains("`tls`"), "{err}");
    }

    #[test]
    fn contradictions_are_rejected() {
        let check = |tls: TlsOptions, ws: bool, cluster: bool, needle: &str| {
            let links = Links {
                websocket: ws,
                cluster,
                ..Links::default()
            };
            let err = tls.validate(links).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidOptions);
            assert!(err.message().contains(needle), "{err}");
        };
        check(
            TlsOptions::new().cert_file("c.pem"),
            false,
            false,
            "key_file",
        );
        check(TlsOptions::new().ca_file("ca.pem"), false, false, "ca_file");
        check(
            TlsOptions::new().cert_file("c").key_file("k").verify(true),
            false,
            false,
            "ca_file",
        );
        check(
            TlsOptions::new().websocket(true),
            false,
            false,
            "websocket: true",
        );
        check(TlsOptions::new().routes(true), false, false, "cluster");
        check(
            TlsOptions::new().gateways(true),
            false,
            true,
            "Supercluster",
        );
        check(
            TlsOptions::new().leafnodes(true),
            false,
            false,
            "leafnodes: true",
        );
        check(
            TlsOptions::new()
                .cert_file("c")
                .key_file("k")
                .leafnodes(true),
            false,
            false,
            "ca_file",
        );
        let all = Links {
            websocket: true,
            cluster: true,
            gateway: true,
            leafnodes: true,
        };
        assert!(TlsOptions::new()
            .websocket(true)
            .routes(true)
            .gateways(true)
            .leafnodes(true)
            .validate(all)
            .is_ok());
    }

    #[test]
    fn material_is_generated_once_and_keys_are_private() {
        let a = Material::current().unwrap();
        let b = Material::current().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(a.server_key_pem.contains("PRIVATE KEY"));
        assert!(!format!("{a:?}").contains("PRIVATE"));
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles::prepare(dir.path(), &TlsOptions::new()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.key_file), 0o600);
        assert_eq!(mode(files.client_key_file.as_deref().unwrap()), 0o600);
        assert_eq!(
            fs::read_to_string(files.ca_file.unwrap()).unwrap(),
            a.ca_pem
        );
    }
}
