//! `nats_server_options_t`: options built field by field from C, so a C test never writes JSON by hand.
//!
//! The builder holds one JSON document of the options schema (`ServerOptions`, or `ClusterOptions` when made by
//! `nats_cluster_options_new`). Every change is checked against the schema at once, so an unknown field or a
//! wrong type fails at the call that made it, naming the field; `nats_server_options_to_json` then checks the
//! whole (e.g. `user` without `password`) and hands out the document for `nats_server_run` /
//! `nats_cluster_run`.

use std::ffi::c_char;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::boundary::{bad_handle, guard, guard_value, lock, out_arg, str_arg, to_c_string};
use super::status::{nats_server_status, FfiResult};
use crate::options::{from_json, ClusterOptions, ServerOptions};

const OPTIONS_MAGIC: u64 = 0x6e61_7473_5f6f_7074; // "nats_opt"
const DEAD_MAGIC: u64 = 0xdead_dead_dead_dead;

/// Options being built (opaque). Made by `nats_server_options_new` or `nats_cluster_options_new`, owned by the
/// caller, freed with `nats_server_options_free`. Holds a mutex: one builder may be used from several threads.
pub struct nats_server_options_t {
    magic: u64,
    cluster: bool,
    document: Mutex<Map<String, Value>>,
}

impl nats_server_options_t {
    /// Checks the document against the schema's types and field names (not the cross-field rules).
    fn check_types(&self, document: &Map<String, Value>) -> crate::error::Result<()> {
        let json = Value::Object(document.clone()).to_string();
        if self.cluster {
            from_json::<ClusterOptions>(&json, "cluster").map(drop)
        } else {
            from_json::<ServerOptions>(&json, "server").map(drop)
        }
    }

    /// Applies `change` to the value at a dotted `key` (`"jetstream"`, `"cluster.name"`, `"server.port"`),
    /// creating objects on the way; keeps the change only if the document still fits the schema.
    fn change(
        &self,
        key: &str,
        change: impl FnOnce(&mut Value) -> Result<(), String>,
    ) -> FfiResult<()> {
        let mut document = lock(&self.document);
        let mut candidate = document.clone();
        let mut parts = key.split('.').peekable();
        let mut map = &mut candidate;
        let invalid =
            |msg: String| crate::error::Error::new(crate::error::ErrorKind::InvalidOptions, msg);
        loop {
            let part = parts.next().unwrap_or_default();
            if part.is_empty() {
                return Err(invalid(format!("option key {key:?} has an empty part")).into());
            }
            if parts.peek().is_none() {
                let slot = map.entry(part).or_insert(Value::Null);
                change(slot).map_err(|e| invalid(format!("field `{key}`: {e}")))?;
                break;
            }
            let next = map.entry(part).or_insert_with(|| Value::Object(Map::new()));
            if next.is_null() {
                *next = Value::Object(Map::new());
            }
            map = match next {
                Value::Object(inner) => inner,
                _ => {
                    return Err(
                        invalid(format!("field `{part}` of {key:?} is not an object")).into(),
                    )
                }
            };
        }
        self.check_types(&candidate)?;
        *document = candidate;
        Ok(())
    }
}

impl Drop for nats_server_options_t {
    fn drop(&mut self) {
        self.magic = DEAD_MAGIC;
    }
}

unsafe fn builder<'a>(
    options: *const nats_server_options_t,
) -> FfiResult<&'a nats_server_options_t> {
    if options.is_null() || (*options).magic != OPTIONS_MAGIC {
        return Err(bad_handle(
            "options",
            "nats_server_options_t",
            options.is_null(),
        ));
    }
    Ok(&*options)
}

fn new_builder(cluster: bool) -> *mut nats_server_options_t {
    guard_value(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(nats_server_options_t {
            magic: OPTIONS_MAGIC,
            cluster,
            document: Mutex::new(Map::new()),
        }))
    })
}

/// New, empty server options (the defaults: loopback, dynamic ports, monitoring on, JetStream off), owned by the
/// caller: free with `nats_server_options_free`.
///
/// ```c
/// nats_server_options_t *o = nats_server_options_new();
/// nats_server_options_set_bool(o, "jetstream", true, NULL);
/// nats_server_options_set_string(o, "config", "max_payload: 2MB", NULL);
/// nats_server_options_add_arg(o, "-D", NULL);
/// char *json = NULL;
/// nats_server_options_to_json(o, &json, &error);   // then nats_server_run(json, &server, &error)
/// ```
#[no_mangle]
pub extern "C" fn nats_server_options_new() -> *mut nats_server_options_t {
    new_builder(false)
}

/// New, empty cluster options (the schema of `nats_cluster_run`: `nodes`, `name`, `server.jetstream`, ...).
#[no_mangle]
pub extern "C" fn nats_cluster_options_new() -> *mut nats_server_options_t {
    new_builder(true)
}

/// Frees options. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn nats_server_options_free(options: *mut nats_server_options_t) {
    guard_value((), || {
        if !options.is_null() && builder(options).is_ok() {
            drop(Box::from_raw(options));
        }
    })
}

/// Sets a string field. `key` names the field as in the JSON schema, nested fields with dots (`"name"`,
/// `"config"`, `"cluster.name"`, `"server.binary"`). An unknown field or a field of another type fails with
/// `NATS_SERVER_INVALID_OPTIONS` naming it, and changes nothing. `value` is copied; any text is fine (no escaping).
#[no_mangle]
pub unsafe extern "C" fn nats_server_options_set_string(
    options: *mut nats_server_options_t,
    key: *const c_char,
    value: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let value = str_arg(value, "value")?.to_string();
        builder(options)?.change(str_arg(key, "key")?, |slot| {
            *slot = Value::String(value);
            Ok(())
        })
    })
}

/// Sets a boolean field (`"jetstream"`, `"monitoring"`, `"wait_for_routes"`, `"server.jetstream"`, ...).
#[no_mangle]
pub unsafe extern "C" fn nats_server_options_set_bool(
    options: *mut nats_server_options_t,
    key: *const c_char,
    value: bool,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        builder(options)?.change(str_arg(key, "key")?, |slot| {
            *slot = Value::Bool(value);
            Ok(())
        })
    })
}

/// Sets an integer field (`"port"`, `"startup_timeout_ms"`, `"nodes"`, `"cluster.port"`, ...). A value out of
/// the field's range fails naming the field.
#[no_mangle]
pub unsafe extern "C" fn nats_server_options_set_int(
    options: *mut nats_server_options_t,
    key: *const c_char,
    value: i64,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        builder(options)?.change(str_arg(key, "key")?, |slot| {
            *slot = Value::from(value);
            Ok(())
        })
    })
}

/// Appends a string to a list field (`"args"`, `"cluster.routes"`, `"node_names"`, `"node_store_dirs"`, ...).
#[no_mangle]
pub unsafe extern "C" fn nats_server_options_append_string(
    options: *mut nats_server_options_t,
    key: *const c_char,
    value: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let value = str_arg(value, "value")?.to_string();
        builder(options)?.change(str_arg(key, "key")?, |slot| append(slot, value))
    })
}

/// Appends one extra command-line argument (`"args"`), e.g. `"--max_payload"` then `"2MB"`: one argument per
/// call, no splitting or quoting. Arguments that would take over what the harness sets are refused by
/// `nats_server_options_to_json` (and the start) with the option to use instead.
#[no_mangle]
pub unsafe extern "C" fn nats_server_options_add_arg(
    options: *mut nats_server_options_t,
    arg: *const c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let options = builder(options)?;
        let arg = str_arg(arg, "arg")?.to_string();
        let key = if options.cluster {
            "server.args"
        } else {
            "args"
        };
        options.change(key, |slot| append(slot, arg))
    })
}

fn append(slot: &mut Value, value: String) -> Result<(), String> {
    match slot {
        Value::Null => *slot = Value::Array(vec![Value::String(value)]),
        Value::Array(items) => items.push(Value::String(value)),
        _ => return Err("is not a list".into()),
    }
    Ok(())
}

/// The options as one JSON document for `nats_server_run` / `nats_cluster_run`, after the whole is checked
/// (`NATS_SERVER_INVALID_OPTIONS` for e.g. `user` without `password`). `*out` is freed with
/// `nats_server_string_free`.
#[no_mangle]
pub unsafe extern "C" fn nats_server_options_to_json(
    options: *const nats_server_options_t,
    out: *mut *mut c_char,
    error: *mut *mut c_char,
) -> nats_server_status {
    guard(error, || {
        let out = out_arg(out, "out")?;
        let options = builder(options)?;
        let json = Value::Object(lock(&options.document).clone()).to_string();
        if options.cluster {
            ClusterOptions::from_json(&json)?;
        } else {
            ServerOptions::from_json(&json)?;
        }
        *out = to_c_string(json);
        Ok(())
    })
}
