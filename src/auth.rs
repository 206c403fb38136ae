//! Authentication as options: users (password or generated nkey) with permissions, accounts with exports and
//! imports, `no_auth_user`, JetStream limits, and (with `operator: true`) a generated operator whose accounts and
//! users are JWTs served by the server's memory resolver.
//!
//! The schema types here are fields of [`crate::ServerOptions`]. [`Credentials`] is the material generated for one
//! server when it is first started (keys, seed files, creds files, config text): it is owned by the
//! [`crate::Server`], kept across restarts, written 0600 into a 0700 directory inside the server's private
//! directory, and removed with it. Seeds and passwords never appear in an error message.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nkeys::KeyPair;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::jwt;
use crate::options::ServerOptions;

/// The name of the system account generated in operator mode (with one user, `sys`).
pub const SYSTEM_ACCOUNT: &str = "SYS";
/// The user generated in the system account in operator mode.
pub const SYSTEM_USER: &str = "sys";
/// How [`Credentials`] name the global account (users of [`ServerOptions::users`]) in messages.
const GLOBAL: &str = "$G";
/// The directory inside the server's private directory that holds seeds and creds files.
const AUTH_DIR: &str = "auth";

/// A user: `{"user": "a", "password": "p"}`, or `{"user": "a", "nkey": true}` for a generated nkey. In operator
/// mode every user is an nkey user with a creds file, and `password` is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct User {
    /// The user's name (unique in the server). For an nkey user it names the user in the harness only (the
    /// server knows the public key).
    pub user: String,
    /// The password (plain text; written only into the 0600 generated config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Identify the user by a generated nkey instead of a password.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nkey: bool,
    /// What the user may publish and subscribe to; default: everything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl User {
    /// A user with a password.
    pub fn with_password(user: impl Into<String>, password: impl Into<String>) -> Self {
        User {
            user: user.into(),
            password: Some(password.into()),
            ..User::default()
        }
    }

    /// A user identified by a generated nkey (in operator mode: any user).
    pub fn nkey(user: impl Into<String>) -> Self {
        User {
            user: user.into(),
            nkey: true,
            ..User::default()
        }
    }

    /// Sets the permissions.
    #[must_use]
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = Some(permissions);
        self
    }
}

/// Publish and subscribe permissions: `{"publish": {"allow": ["a.>"], "deny": ["a.b"]}, "subscribe": {...}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Permissions {
    /// Subjects the user may (not) publish to.
    pub publish: Rule,
    /// Subjects the user may (not) subscribe to.
    pub subscribe: Rule,
}

/// Subjects allowed and denied (wildcards allowed). An empty `allow` allows everything not denied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rule {
    /// Allowed subjects (empty: all).
    pub allow: Vec<String>,
    /// Denied subjects.
    pub deny: Vec<String>,
}

impl Rule {
    fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }
}

/// An account: its users, JetStream, and what it exports and imports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Account {
    /// The account's users.
    pub users: Vec<User>,
    /// JetStream for this account: `false` (default), `true` (no limits) or limits.
    pub jetstream: AccountJetStream,
    /// Subjects other accounts may import.
    pub exports: Vec<Export>,
    /// Subjects imported from other accounts.
    pub imports: Vec<Import>,
}

/// JetStream for one account: off, on without limits, or on with limits. In JSON `false`, `true`, or an object
/// of [`AccountLimits`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AccountJetStream {
    /// No JetStream for the account.
    #[default]
    Disabled,
    /// JetStream without limits.
    Enabled,
    /// JetStream with limits.
    Limits(AccountLimits),
}

impl AccountJetStream {
    fn is_enabled(&self) -> bool {
        !matches!(self, AccountJetStream::Disabled)
    }
}

impl Serialize for AccountJetStream {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            AccountJetStream::Disabled => s.serialize_bool(false),
            AccountJetStream::Enabled => s.serialize_bool(true),
            AccountJetStream::Limits(limits) => limits.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for AccountJetStream {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(false) => Ok(AccountJetStream::Disabled),
            Value::Bool(true) => Ok(AccountJetStream::Enabled),
            object @ Value::Object(_) => serde_json::from_value(object)
                .map(AccountJetStream::Limits)
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "expected true, false or limits like {{\"max_memory\": 1048576}}, found {other}"
            ))),
        }
    }
}

/// One account's JetStream limits (bytes and counts; unset: unlimited).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountLimits {
    /// Maximum bytes in memory streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<i64>,
    /// Maximum bytes in file streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_file: Option<i64>,
    /// Maximum number of streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_streams: Option<i64>,
    /// Maximum number of consumers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_consumers: Option<i64>,
}

/// The server's JetStream limits (bytes; unset: the server's defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JetStreamLimits {
    /// Maximum bytes of all memory streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<i64>,
    /// Maximum bytes of all file streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_file: Option<i64>,
}

/// An export: `{"stream": "events.>"}` or `{"service": "requests.>"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Export {
    /// A stream (messages) subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// A service (request/reply) subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// An import from another account: `{"stream": "events.>", "account": "A"}` or
/// `{"service": "requests.>", "account": "A", "to": "a.requests.>"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Import {
    /// The exporting account's stream subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// The exporting account's service subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The exporting account (a name in `accounts`).
    pub account: String,
    /// The subject in the importing account (default: the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl Export {
    /// (kind, subject), once validated.
    fn kind_subject(&self) -> (&'static str, &str) {
        match (&self.stream, &self.service) {
            (Some(s), _) => ("stream", s),
            (_, Some(s)) => ("service", s),
            _ => ("stream", ""),
        }
    }
}

impl Import {
    /// (kind, subject), once validated.
    fn kind_subject(&self) -> (&'static str, &str) {
        match (&self.stream, &self.service) {
            (Some(s), _) => ("stream", s),
            (_, Some(s)) => ("service", s),
            _ => ("stream", ""),
        }
    }
}

/// Whether the options ask for any of this module's material.
pub(crate) fn wanted(o: &ServerOptions) -> bool {
    o.operator
        || !o.users.is_empty()
        || !o.accounts.is_empty()
        || o.no_auth_user.is_some()
        || o.jetstream_limits.is_some()
}

/// Checks the authentication options; every message names the field at fault.
pub(crate) fn validate(o: &ServerOptions) -> Result<()> {
    let invalid = |msg: String| Err(Error::new(ErrorKind::InvalidOptions, msg));
    let users_or_accounts = !o.users.is_empty() || !o.accounts.is_empty() || o.operator;
    if users_or_accounts && (o.user.is_some() || o.token.is_some()) {
        return invalid(
            "`user`/`password` and `token` cannot be combined with `users`, `accounts` or `operator`; put the user \
             into `users` instead"
                .into(),
        );
    }
    if o.jetstream_limits.is_some() && !o.jetstream {
        return invalid("`jetstream_limits` needs `jetstream: true`".into());
    }
    if o.operator && !o.users.is_empty() {
        return invalid(
            "`users` has no place in operator mode (there is no global account); put them into an account of \
             `accounts`"
                .into(),
        );
    }
    if o.operator && o.no_auth_user.is_some() {
        return invalid("`no_auth_user` is not supported in operator mode".into());
    }
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    let global = o.users.iter().map(|u| ("users".to_string(), u));
    let in_accounts = o.accounts.iter().flat_map(|(name, account)| {
        account
            .users
            .iter()
            .map(move |u| (format!("accounts.{name}.users"), u))
    });
    for (field, user) in global.chain(in_accounts) {
        if user.user.trim().is_empty() {
            return invalid(format!("`{field}`: a user has an empty `user` name"));
        }
        if o.operator
            && user.user == SYSTEM_USER
            && field != format!("accounts.{SYSTEM_ACCOUNT}.users")
        {
            return invalid(format!(
                "`{field}`: user {SYSTEM_USER:?} is reserved in operator mode for the generated user of the system \
                 account {SYSTEM_ACCOUNT:?} (`creds(\"{SYSTEM_ACCOUNT}\", \"{SYSTEM_USER}\")`); choose another name"
            ));
        }
        if let Some(earlier) = seen.insert(&user.user, field.clone()) {
            return invalid(format!(
                "`{field}`: user {:?} is also in `{earlier}`; user names must be unique in a server",
                user.user
            ));
        }
        if o.operator {
            if user.password.is_some() {
                return invalid(format!(
                    "`{field}`: user {:?} has a `password`, but in operator mode users connect with their creds \
                     file; remove it",
                    user.user
                ));
            }
        } else if user.nkey == user.password.is_some() {
            return invalid(format!(
                "`{field}`: user {:?} needs exactly one of `password` or `nkey: true`",
                user.user
            ));
        }
    }
    if let Some(no_auth) = &o.no_auth_user {
        if !seen.contains_key(no_auth.as_str()) {
            return invalid(format!(
                "`no_auth_user` {no_auth:?} is not a user in `users` or `accounts` (users: {})",
                list(seen.keys().copied())
            ));
        }
    }
    for (name, account) in &o.accounts {
        if name.trim().is_empty() || name == GLOBAL {
            return invalid(format!("`accounts`: {name:?} is not a usable account name"));
        }
        if account.jetstream.is_enabled() && !o.jetstream {
            return invalid(format!(
                "`accounts.{name}.jetstream` needs the server's `jetstream: true`"
            ));
        }
        for (i, export) in account.exports.iter().enumerate() {
            if export.stream.is_some() == export.service.is_some() {
                return invalid(format!(
                    "`accounts.{name}.exports[{i}]` needs exactly one of `stream` or `service`"
                ));
            }
        }
        for (i, import) in account.imports.iter().enumerate() {
            let field = format!("accounts.{name}.imports[{i}]");
            if import.stream.is_some() == import.service.is_some() {
                return invalid(format!(
                    "`{field}` needs exactly one of `stream` or `service`"
                ));
            }
            let Some(source) = o.accounts.get(&import.account) else {
                return invalid(format!(
                    "`{field}.account`: account {:?} does not exist (accounts: {})",
                    import.account,
                    list(o.accounts.keys().map(String::as_str))
                ));
            };
            if import.account == *name {
                return invalid(format!(
                    "`{field}.account`: an account cannot import from itself"
                ));
            }
            let (kind, subject) = import.kind_subject();
            if !source
                .exports
                .iter()
                .any(|e| e.kind_subject() == (kind, subject))
            {
                return invalid(format!(
                    "`{field}`: account {:?} exports no {kind} {subject:?}; add {{\"{kind}\": {subject:?}}} to \
                     `accounts.{}.exports`",
                    import.account, import.account
                ));
            }
        }
    }
    Ok(())
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// One user's generated identity. Its `Debug` leaves the seed out (a `Server` is `Debug`).
struct Identity {
    account: String,
    public_key: Option<String>,
    seed: Option<String>,
    seed_file: Option<PathBuf>,
    creds_file: Option<PathBuf>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("account", &self.account)
            .field("public_key", &self.public_key)
            .field("seed", &self.seed.as_ref().map(|_| "***"))
            .field("seed_file", &self.seed_file)
            .field("creds_file", &self.creds_file)
            .finish()
    }
}

/// The material generated for one server: keys, seed and creds files, and the config text that uses them.
/// Owned by its [`crate::Server`]; its files live in the server's private directory and go with it.
#[derive(Default)]
pub(crate) struct Credentials {
    users: BTreeMap<String, Identity>,
    accounts: Vec<String>,
    config: String,
    operator: Option<jwt::Operator>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No config text: it holds passwords.
        f.debug_struct("Credentials")
            .field("users", &self.users)
            .field("accounts", &self.accounts)
            .field("operator", &self.operator)
            .finish()
    }
}

impl Credentials {
    /// Generates everything the options ask for, writing secrets 0600 into `<server_dir>/auth` (0700).
    pub(crate) fn generate(o: &ServerOptions, server_dir: &Path) -> Result<Credentials> {
        let mut creds = Credentials::default();
        if !wanted(o) {
            return Ok(creds);
        }
        let dir = server_dir.join(AUTH_DIR);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        if o.operator {
            creds.generate_operator(o, &dir)?;
        } else {
            creds.generate_config(o, &dir)?;
        }
        if let Some(limits) = &o.jetstream_limits {
            let mut js = Map::new();
            if let Some(m) = limits.max_memory {
                js.insert("max_memory_store".into(), m.into());
            }
            if let Some(f) = limits.max_file {
                js.insert("max_file_store".into(), f.into());
            }
            creds
                .config
                .push_str(&format!("jetstream: {}\n", Value::Object(js)));
        }
        Ok(creds)
    }

    /// Users and accounts in the server's config (passwords and nkey public keys).
    fn generate_config(&mut self, o: &ServerOptions, dir: &Path) -> Result<()> {
        let mut users = Vec::new();
        for user in &o.users {
            users.push(self.config_user(user, GLOBAL, dir)?);
        }
        if !users.is_empty() {
            self.config
                .push_str(&format!("authorization: {}\n", json!({ "users": users })));
        }
        let mut accounts = Map::new();
        for (name, account) in &o.accounts {
            self.accounts.push(name.clone());
            let mut block = Map::new();
            let mut users = Vec::new();
            for user in &account.users {
                users.push(self.config_user(user, name, dir)?);
            }
            block.insert("users".into(), Value::Array(users));
            match &account.jetstream {
                AccountJetStream::Disabled => {}
                AccountJetStream::Enabled => {
                    block.insert("jetstream".into(), "enabled".into());
                }
                AccountJetStream::Limits(l) => {
                    let mut js = Map::new();
                    for (key, value) in [
                        ("max_mem", l.max_memory),
                        ("max_file", l.max_file),
                        ("max_streams", l.max_streams),
                        ("max_consumers", l.max_consumers),
                    ] {
                        js.insert(key.into(), value.unwrap_or(-1).into());
                    }
                    block.insert("jetstream".into(), Value::Object(js));
                }
            }
            let exports: Vec<Value> = account
                .exports
                .iter()
                .map(|e| {
                    let (kind, subject) = e.kind_subject();
                    json!({ kind: subject })
                })
                .collect();
            if !exports.is_empty() {
                block.insert("exports".into(), Value::Array(exports));
            }
            let imports: Vec<Value> = account
                .imports
                .iter()
                .map(|i| {
                    let (kind, subject) = i.kind_subject();
                    let mut import = Map::new();
                    import.insert(
                        kind.into(),
                        json!({ "account": i.account, "subject": subject }),
                    );
                    if let Some(to) = &i.to {
                        import.insert("to".into(), to.clone().into());
                    }
                    Value::Object(import)
                })
                .collect();
            if !imports.is_empty() {
                block.insert("imports".into(), Value::Array(imports));
            }
            accounts.insert(name.clone(), Value::Object(block));
        }
        if !accounts.is_empty() {
            self.config
                .push_str(&format!("accounts: {}\n", Value::Object(accounts)));
        }
        if let Some(no_auth) = &o.no_auth_user {
            // An nkey user is known to the server by its public key.
            let name = self
                .users
                .get(no_auth)
                .and_then(|id| id.public_key.clone())
                .unwrap_or_else(|| no_auth.clone());
            self.config
                .push_str(&format!("no_auth_user: {}\n", Value::String(name)));
        }
        Ok(())
    }

    /// One user's entry in the config; generates the nkey of an nkey user.
    fn config_user(&mut self, user: &User, account: &str, dir: &Path) -> Result<Value> {
        let mut entry = Map::new();
        let mut identity = Identity {
            account: account.to_string(),
            public_key: None,
            seed: None,
            seed_file: None,
            creds_file: None,
        };
        if user.nkey {
            let key = KeyPair::new_user();
            let seed = seed_of(&key)?;
            let file = dir.join(format!("{}.nk", file_name(&user.user)));
            write_secret(&file, &format!("{seed}\n"))?;
            entry.insert("nkey".into(), key.public_key().into());
            identity.public_key = Some(key.public_key());
            identity.seed = Some(seed);
            identity.seed_file = Some(file);
        } else {
            entry.insert("user".into(), user.user.clone().into());
            entry.insert(
                "password".into(),
                user.password.clone().unwrap_or_default().into(),
            );
        }
        if let Some(p) = &user.permissions {
            let mut perms = Map::new();
            for (key, rule) in [("publish", &p.publish), ("subscribe", &p.subscribe)] {
                if !rule.is_empty() {
                    perms.insert(
                        key.into(),
                        json!({ "allow": rule.allow, "deny": rule.deny }),
                    );
                }
            }
            entry.insert("permissions".into(), Value::Object(perms));
        }
        self.users.insert(user.user.clone(), identity);
        Ok(Value::Object(entry))
    }

    /// A generated operator, its system account and the accounts of the options, as JWTs for the memory
    /// resolver; one creds file per user.
    fn generate_operator(&mut self, o: &ServerOptions, dir: &Path) -> Result<()> {
        let mut accounts = o.accounts.clone();
        accounts
            .entry(SYSTEM_ACCOUNT.to_string())
            .or_default()
            .users
            .retain(|u| u.user != SYSTEM_USER);
        if let Some(sys) = accounts.get_mut(SYSTEM_ACCOUNT) {
            sys.users.push(User::nkey(SYSTEM_USER));
        }
        let operator = jwt::Operator::generate(&accounts, SYSTEM_ACCOUNT)?;
        for (name, account) in &accounts {
            self.accounts.push(name.clone());
            for user in &account.users {
                let issued = operator.issue_user(name, user)?;
                let base = file_name(&user.user);
                let creds_file = dir.join(format!("{base}.creds"));
                write_secret(&creds_file, &issued.creds)?;
                let seed_file = dir.join(format!("{base}.nk"));
                write_secret(&seed_file, &format!("{}\n", issued.seed))?;
                self.users.insert(
                    user.user.clone(),
                    Identity {
                        account: name.clone(),
                        public_key: Some(issued.public_key),
                        seed: Some(issued.seed),
                        seed_file: Some(seed_file),
                        creds_file: Some(creds_file),
                    },
                );
            }
        }
        self.config.push_str(&operator.config());
        self.operator = Some(operator);
        Ok(())
    }

    /// The config text to append to the server's generated config (empty when no auth is asked for).
    pub(crate) fn config(&self) -> &str {
        &self.config
    }

    /// Whether the config holds secrets (passwords); it always does when not empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.config.is_empty()
    }

    fn identity(&self, user: &str) -> Result<&Identity> {
        self.users.get(user).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "no user {user:?} in this server's options (users: {})",
                    list(self.users.keys().map(String::as_str))
                ),
            )
        })
    }

    fn nkey_identity(&self, user: &str) -> Result<&Identity> {
        let identity = self.identity(user)?;
        if identity.seed.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                format!("user {user:?} has a password, not an nkey; give it `nkey: true`"),
            ));
        }
        Ok(identity)
    }

    /// The account a user belongs to (`$G` for `users`).
    pub(crate) fn account_of(&self, user: &str) -> Result<&str> {
        Ok(&self.identity(user)?.account)
    }

    /// An nkey user's seed (`SU...`).
    pub(crate) fn nkey_seed(&self, user: &str) -> Result<&str> {
        Ok(self
            .nkey_identity(user)?
            .seed
            .as_deref()
            .unwrap_or_default())
    }

    /// An nkey user's public key (`U...`).
    pub(crate) fn nkey_public_key(&self, user: &str) -> Result<&str> {
        Ok(self
            .nkey_identity(user)?
            .public_key
            .as_deref()
            .unwrap_or_default())
    }

    /// The file holding an nkey user's seed (0600).
    pub(crate) fn seed_file(&self, user: &str) -> Result<&Path> {
        Ok(self
            .nkey_identity(user)?
            .seed_file
            .as_deref()
            .unwrap_or(Path::new("")))
    }

    /// An operator-mode user's creds file (JWT and seed, 0600).
    pub(crate) fn creds(&self, account: &str, user: &str) -> Result<&Path> {
        if self.operator.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                "creds files exist only in operator mode (`operator: true`); use nkey_seed or seed_file for nkey \
                 users",
            ));
        }
        if !self.accounts.iter().any(|a| a == account) {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "no account {account:?} in this server's options (accounts: {})",
                    list(self.accounts.iter().map(String::as_str))
                ),
            ));
        }
        let identity = self.identity(user)?;
        if identity.account != account {
            return Err(Error::new(
                ErrorKind::InvalidOptions,
                format!(
                    "user {user:?} is in account {:?}, not {account:?}",
                    identity.account
                ),
            ));
        }
        Ok(identity.creds_file.as_deref().unwrap_or(Path::new("")))
    }

    /// Every user with its account, nkey public key and files, as JSON for the bindings and the CLI (no
    /// seeds: they are in the files).
    pub(crate) fn describe(&self) -> Value {
        let users: Map<String, Value> = self
            .users
            .iter()
            .map(|(name, id)| {
                (
                    name.clone(),
                    json!({
                        "account": id.account,
                        "public_key": id.public_key,
                        "seed_file": id.seed_file,
                        "creds": id.creds_file,
                    }),
                )
            })
            .collect();
        json!({
            "operator": self.operator.as_ref().map(jwt::Operator::public_key),
            "accounts": self.accounts,
            "users": users,
        })
    }
}

fn seed_of(key: &KeyPair) -> Result<String> {
    key.seed()
        .map_err(|e| Error::new(ErrorKind::Internal, format!("nkey seed: {e}")))
}

/// A user name as a file name: anything but ASCII letters, digits, `-` and `_` becomes `_`, plus a short hash
/// when that changed it (so two names never share a file).
fn file_name(user: &str) -> String {
    let clean: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean == user {
        clean
    } else {
        let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        format!("{clean}-{hash:016x}")
    }
}

/// Writes a secret file, readable by its owner only (created 0600, never widened).
pub(crate) fn write_secret(path: &Path, text: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(json: &str) -> Result<ServerOptions> {
        ServerOptions::from_json(json)
    }

    #[test]
    fn schema_round_trips_and_rejects_unknown_fields() {
        let json = r#"{"jetstream": true, "users": [{"user": "g", "password": "p",
            "permissions": {"publish": {"deny": ["x"]}}}],
            "accounts": {"A": {"users": [{"user": "a", "nkey": true}], "jetstream": {"max_memory": 1024},
            "exports": [{"stream": "s.>"}]},
            "B": {"jetstream": true, "imports": [{"stream": "s.>", "account": "A", "to": "b.>"}]}},
            "no_auth_user": "g", "jetstream_limits": {"max_file": 1048576}}"#;
        let o = opts(json).unwrap();
        assert_eq!(
            o.accounts["A"].jetstream,
            AccountJetStream::Limits(AccountLimits {
                max_memory: Some(1024),
                ..Default::default()
            })
        );
        assert_eq!(ServerOptions::from_json(&o.to_json()).unwrap(), o);
        let err = opts(r#"{"accounts": {"A": {"jetstream": {"max_mem": 1}}}}"#).unwrap_err();
        assert!(err.message().contains("max_mem"), "{err}");
        assert!(err.message().contains("accounts.A.jetstream"), "{err}");
        let err = opts(r#"{"users": [{"user": "a", "pasword": "p"}]}"#).unwrap_err();
        assert!(err.message().contains("pasword"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (
                r#"{"accounts": {"B": {"imports": [{"stream": "s", "account": "NOPE"}]}}}"#,
                "accounts.B.imports[0].account",
            ),
            (
                r#"{"users": [{"user": "a", "password": "p"}], "no_auth_user": "x"}"#,
                "no_auth_user",
            ),
            (
                r#"{"users": [{"user": "a"}]}"#,
                "exactly one of `password` or `nkey",
            ),
            (
                r#"{"users": [{"user": "a", "nkey": true}], "accounts": {"A": {"users": [{"user": "a", "nkey": true}]}}}"#,
                "unique",
            ),
            (
                r#"{"accounts": {"A": {"jetstream": true}}}"#,
                "accounts.A.jetstream",
            ),
            (
                r#"{"jetstream_limits": {"max_memory": 1}}"#,
                "jetstream_limits",
            ),
            (
                r#"{"operator": true, "accounts": {"A": {"users": [{"user": "a", "password": "p"}]}}}"#,
                "password",
            ),
            (
                r#"{"user": "u", "password": "p", "users": [{"user": "a", "nkey": true}]}"#,
                "users",
            ),
            (
                r#"{"accounts": {"A": {}, "B": {"imports": [{"service": "q", "account": "A"}]}}}"#,
                "exports no service",
            ),
        ];
        for (json, needle) in cases {
            let err = opts(json).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidOptions, "{json}");
            assert!(err.message().contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name("alice"), "alice");
        assert_ne!(file_name("a/b"), file_name("a_b"));
        assert!(!file_name("../x").contains('/'));
    }
}
