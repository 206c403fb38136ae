//! NATS JWTs (version 2) for operator mode, encoded here with the `nkeys` key pairs.
//!
//! A NATS JWT is `base64url(header).base64url(claims).base64url(signature)` with the header
//! `{"typ":"JWT","alg":"ed25519-nkey"}`, claims `{jti, iat, iss, sub, name, nats: {type, version: 2, ...}}` and an
//! ed25519 signature by the issuer's nkey over the first two parts. The crates that encode them (`nats-jwt` 0.3:
//! no operator claims, no JetStream limits; `nats-io-jwt` 0.x: generated code, marked work in progress) would
//! cover less than these hundred lines, so they are not used.
//!
//! An [`Operator`] is generated per server: it holds the operator, one key pair per account, and the signed
//! account JWTs; it issues user JWTs and creds files. Owned by the server's `Credentials`; never printed.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use nkeys::KeyPair;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512_256};

use crate::auth::{Account, AccountJetStream, Permissions, User};
use crate::error::{Error, ErrorKind, Result};

/// A generated operator with its accounts.
pub(crate) struct Operator {
    key: KeyPair,
    jwt: String,
    system_account: String,
    /// Account name -> (key pair, signed JWT).
    accounts: BTreeMap<String, (KeyPair, String)>,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No seeds, no JWTs: only public keys.
        f.debug_struct("Operator")
            .field("public_key", &self.key.public_key())
            .field("accounts", &self.accounts.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A user's JWT identity: what goes into the creds file.
pub(crate) struct IssuedUser {
    pub(crate) public_key: String,
    pub(crate) seed: String,
    pub(crate) creds: String,
}

impl Operator {
    /// Generates the operator and signs one JWT per account; `system` names the system account.
    pub(crate) fn generate(accounts: &BTreeMap<String, Account>, system: &str) -> Result<Operator> {
        let key = KeyPair::new_operator();
        let keys: BTreeMap<String, KeyPair> = accounts
            .keys()
            .map(|name| (name.clone(), KeyPair::new_account()))
            .collect();
        let system_account = keys[system].public_key();
        let jwt = sign(
            &key,
            &key.public_key(),
            "harness-operator",
            json!({"type": "operator", "version": 2, "system_account": system_account}),
        )?;
        let mut tokens = BTreeMap::new();
        for (name, account) in accounts {
            let claims = account_claims(account, accounts, &keys);
            tokens.insert(
                name.clone(),
                sign(&key, &keys[name].public_key(), name, claims)?,
            );
        }
        let signed = keys
            .into_iter()
            .zip(tokens.into_values())
            .map(|((name, pair), token)| (name, (pair, token)))
            .collect();
        Ok(Operator {
            key,
            jwt,
            system_account,
            accounts: signed,
        })
    }

    /// The operator's public key (`O...`).
    pub(crate) fn public_key(&self) -> String {
        self.key.public_key()
    }

    /// Signs a new user of `account` and formats its creds file.
    pub(crate) fn issue_user(&self, account: &str, user: &User) -> Result<IssuedUser> {
        let (account_key, _) = &self.accounts[account];
        let key = KeyPair::new_user();
        let mut nats = json!({"type": "user", "version": 2, "subs": -1, "data": -1, "payload": -1});
        if let Some(p) = &user.permissions {
            nats["pub"] = rule(p, true);
            nats["sub"] = rule(p, false);
        }
        let token = sign(account_key, &key.public_key(), &user.user, nats)?;
        let seed = seed_of(&key)?;
        let creds = format!(
            "-----BEGIN NATS USER JWT-----\n{token}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n"
        );
        Ok(IssuedUser {
            public_key: key.public_key(),
            seed,
            creds,
        })
    }

    /// The server config: the operator, the system account, and the memory resolver preloaded with every account.
    pub(crate) fn config(&self) -> String {
        let preload: Map<String, Value> = self
            .accounts
            .values()
            .map(|(key, token)| (key.public_key(), Value::String(token.clone())))
            .collect();
        format!(
            "operator: {}\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {}\n",
            Value::String(self.jwt.clone()),
            Value::String(self.system_account.clone()),
            Value::Object(preload)
        )
    }
}

/// The `nats` claims of an account: limits (JetStream when enabled), exports, imports.
fn account_claims(
    account: &Account,
    all: &BTreeMap<String, Account>,
    keys: &BTreeMap<String, KeyPair>,
) -> Value {
    let mut limits = json!({
        "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": true,
        "conn": -1, "leaf": -1,
    });
    match &account.jetstream {
        AccountJetStream::Disabled => {}
        AccountJetStream::Enabled => {
            for key in ["mem_storage", "disk_storage", "streams", "consumer"] {
                limits[key] = json!(-1);
            }
        }
        AccountJetStream::Limits(l) => {
            for (key, value) in [
                ("mem_storage", l.max_memory),
                ("disk_storage", l.max_file),
                ("streams", l.max_streams),
                ("consumer", l.max_consumers),
            ] {
                limits[key] = json!(value.unwrap_or(-1));
            }
        }
    }
    let exports: Vec<Value> = account
        .exports
        .iter()
        .map(|e| {
            let (kind, subject) = match (&e.stream, &e.service) {
                (Some(s), _) => ("stream", s.clone()),
                (_, Some(s)) => ("service", s.clone()),
                _ => ("stream", String::new()),
            };
            json!({"name": subject, "subject": subject, "type": kind})
        })
        .collect();
    let imports: Vec<Value> = account
        .imports
        .iter()
        .filter(|i| all.contains_key(&i.account))
        .map(|i| {
            let (kind, subject) = match (&i.stream, &i.service) {
                (Some(s), _) => ("stream", s.clone()),
                (_, Some(s)) => ("service", s.clone()),
                _ => ("stream", String::new()),
            };
            let mut import = json!({
                "name": subject, "subject": subject, "type": kind,
                "account": keys[&i.account].public_key(),
            });
            if let Some(to) = &i.to {
                import["local_subject"] = json!(to);
            }
            import
        })
        .collect();
    let mut nats = json!({"type": "account", "version": 2, "limits": limits,
        "default_permissions": {"pub": {}, "sub": {}}});
    if !exports.is_empty() {
        nats["exports"] = Value::Array(exports);
    }
    if !imports.is_empty() {
        nats["imports"] = Value::Array(imports);
    }
    nats
}

fn rule(p: &Permissions, publish: bool) -> Value {
    let r = if publish { &p.publish } else { &p.subscribe };
    let mut v = Map::new();
    if !r.allow.is_empty() {
        v.insert("allow".into(), json!(r.allow));
    }
    if !r.deny.is_empty() {
        v.insert("deny".into(), json!(r.deny));
    }
    Value::Object(v)
}

/// Encodes and signs one JWT: `issuer` signs claims about `subject`.
fn sign(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> Result<String> {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut claims = json!({
        "jti": "", "iat": iat, "iss": issuer.public_key(), "name": name, "sub": subject, "nats": nats,
    });
    // The id is the hash of the claims without it, as the Go library computes it.
    let hash = Sha512_256::digest(claims.to_string().as_bytes());
    claims["jti"] = json!(BASE32_NOPAD.encode(&hash));
    let header = BASE64URL_NOPAD.encode(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = BASE64URL_NOPAD.encode(claims.to_string().as_bytes());
    let input = format!("{header}.{body}");
    let signature = issuer.sign(input.as_bytes()).map_err(internal)?;
    Ok(format!("{input}.{}", BASE64URL_NOPAD.encode(&signature)))
}

fn seed_of(key: &KeyPair) -> Result<String> {
    key.seed().map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Internal, format!("nkeys: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_verifies_with_the_issuers_public_key() {
        let issuer = KeyPair::new_account();
        let token = sign(&issuer, "UABC", "u", json!({"type": "user", "version": 2})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: Value =
            serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap()).unwrap();
        assert_eq!(claims["iss"], json!(issuer.public_key()));
        assert_eq!(claims["sub"], json!("UABC"));
        let signature = BASE64URL_NOPAD.decode(parts[2].as_bytes()).unwrap();
        let public = KeyPair::from_public_key(&issuer.public_key()).unwrap();
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }
}
