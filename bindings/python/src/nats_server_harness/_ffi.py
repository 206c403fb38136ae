"""Loading ``libnats_server`` and calling its C ABI (include/nats_server.h) through ctypes.

Nothing here knows about servers: it loads the library (once, lazily, thread-safely), checks its ABI version,
declares every function's prototype, and turns a status code plus the ``char **error`` message into an exception.
Handles are plain integers (``void *``); strings the library returns are copied and freed at once.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
from ctypes import (
    POINTER,
    c_bool,
    c_char_p,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Any, NoReturn

from ._errors import AbiMismatch, LibraryNotFound, NatsServerError, error_for

#: The version of the C ABI this package was written for (``NATS_SERVER_ABI_VERSION`` in nats_server.h).
ABI_VERSION = 2

#: Environment variable naming a ``libnats_server`` shared library (or a directory holding one) to load instead
#: of the one bundled with the package. Read when the library is first needed. At build time it makes the build
#: copy that library instead of running cargo.
LIB_ENV = "NATS_SERVER_HARNESS_LIB"

if sys.platform == "darwin":
    LIB_NAME = "libnats_server.dylib"
elif sys.platform == "win32":  # pragma: no cover - the core is POSIX-only (signals, process groups)
    LIB_NAME = "nats_server.dll"
else:
    LIB_NAME = "libnats_server.so"

OK = 0

_CHAR_PP = POINTER(c_void_p)  # char **, read as an address so the string can be freed after copying it
_ERR = _CHAR_PP
_HANDLE = c_void_p
_HANDLE_P = POINTER(c_void_p)

# Every function of nats_server.h: name -> (return type, argument types). A test compares this table with the
# header, so a function added to the ABI and missing here fails the binding's tests.
PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    "nats_server_abi_version": (c_uint32, []),
    "nats_server_library_version": (c_char_p, []),
    "nats_server_status_name": (c_char_p, [c_int]),
    "nats_server_string_free": (None, [c_void_p]),
    # server: life cycle and control
    "nats_server_run": (c_int, [c_char_p, _HANDLE_P, _ERR]),
    "nats_server_free": (c_int, [_HANDLE]),
    "nats_server_spawn": (c_int, [c_char_p, _HANDLE_P, _ERR]),
    "nats_server_wait_ready": (c_int, [_HANDLE, _ERR]),
    "nats_server_stop": (c_int, [_HANDLE, _ERR]),
    "nats_server_start": (c_int, [_HANDLE, _ERR]),
    "nats_server_stop_timeout": (c_int, [_HANDLE, c_uint64, _ERR]),
    "nats_server_restart": (c_int, [_HANDLE, _ERR]),
    "nats_server_kill": (c_int, [_HANDLE, _ERR]),
    "nats_server_pause": (c_int, [_HANDLE, _ERR]),
    "nats_server_resume": (c_int, [_HANDLE, _ERR]),
    "nats_server_lame_duck": (c_int, [_HANDLE, _ERR]),
    "nats_server_reload": (c_int, [_HANDLE, _ERR]),
    "nats_server_wait_exit": (c_int, [_HANDLE, c_uint64, POINTER(c_int32), _ERR]),
    "nats_server_set_keep": (c_int, [_HANDLE, c_int32, _ERR]),
    "nats_server_keep_parse": (c_int, [c_char_p, POINTER(c_int32), _ERR]),
    "nats_server_mark_failed": (c_int, [_HANDLE, _ERR]),
    # server: queries
    "nats_server_is_running": (c_int, [_HANDLE, POINTER(c_bool), _ERR]),
    "nats_server_is_paused": (c_int, [_HANDLE, POINTER(c_bool), _ERR]),
    "nats_server_pid": (c_int, [_HANDLE, POINTER(c_uint32), _ERR]),
    "nats_server_last_pid": (c_int, [_HANDLE, POINTER(c_uint32), _ERR]),
    "nats_server_tls_required": (c_int, [_HANDLE, POINTER(c_bool), _ERR]),
    "nats_server_client_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_host": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_client_url_with": (c_int, [_HANDLE, c_char_p, c_char_p, _CHAR_PP, _ERR]),
    "nats_server_client_url_with_token": (c_int, [_HANDLE, c_char_p, _CHAR_PP, _ERR]),
    "nats_server_client_port": (c_int, [_HANDLE, POINTER(c_uint16), _ERR]),
    "nats_server_monitoring_port": (c_int, [_HANDLE, POINTER(c_uint16), _ERR]),
    "nats_server_websocket_port": (c_int, [_HANDLE, POINTER(c_uint16), _ERR]),
    "nats_server_cluster_port": (c_int, [_HANDLE, POINTER(c_uint16), _ERR]),
    "nats_server_monitoring_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_websocket_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_cluster_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_gateway_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_leafnode_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_mqtt_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_leaf_connections": (c_int, [_HANDLE, POINTER(c_size_t), _ERR]),
    "nats_server_wait_for_leaf_connections": (c_int, [_HANDLE, c_size_t, c_uint64, _ERR]),
    "nats_server_wait_for_leaf": (c_int, [_HANDLE, _HANDLE, c_uint64, _ERR]),
    "nats_server_dir": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_store_dir": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_log_path": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_ca_file": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_client_cert_file": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_client_key_file": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_log_tail": (c_int, [_HANDLE, c_size_t, _CHAR_PP, _ERR]),
    "nats_server_server_id": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_version": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_info": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_binary": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_options_json": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_monitor": (c_int, [_HANDLE, c_char_p, _CHAR_PP, _ERR]),
    "nats_server_monitor_status": (c_int, [_HANDLE, c_char_p, POINTER(c_uint16), _CHAR_PP, _ERR]),
    # server: generated authentication material
    "nats_server_creds": (c_int, [_HANDLE, c_char_p, c_char_p, _CHAR_PP, _ERR]),
    "nats_server_nkey_seed": (c_int, [_HANDLE, c_char_p, _CHAR_PP, _ERR]),
    "nats_server_nkey_public_key": (c_int, [_HANDLE, c_char_p, _CHAR_PP, _ERR]),
    "nats_server_seed_file": (c_int, [_HANDLE, c_char_p, _CHAR_PP, _ERR]),
    "nats_server_auth_json": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    # server: the client link's fault proxy
    "nats_server_proxied_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_fault_add": (c_int, [_HANDLE, c_char_p, _ERR]),
    "nats_server_fault_remove": (c_int, [_HANDLE, c_char_p, _ERR]),
    "nats_server_link_set_up": (c_int, [_HANDLE, c_bool, _ERR]),
    "nats_server_proxied_leafnode_url": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_server_leafnode_fault_add": (c_int, [_HANDLE, c_char_p, _ERR]),
    "nats_server_leafnode_fault_remove": (c_int, [_HANDLE, c_char_p, _ERR]),
    "nats_server_leafnode_link_set_up": (c_int, [_HANDLE, c_bool, _ERR]),
    "nats_server_upgrade": (c_int, [_HANDLE, c_char_p, _ERR]),
    # releases
    "nats_server_install": (c_int, [c_char_p, _CHAR_PP, _ERR]),
    "nats_server_versions": (c_int, [c_bool, _CHAR_PP, _ERR]),
    # cluster
    "nats_cluster_run": (c_int, [c_char_p, _HANDLE_P, _ERR]),
    "nats_cluster_free": (c_int, [_HANDLE]),
    "nats_cluster_len": (c_int, [_HANDLE, POINTER(c_size_t), _ERR]),
    "nats_cluster_node": (c_int, [_HANDLE, c_size_t, _HANDLE_P, _ERR]),
    "nats_cluster_name": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_cluster_client_urls": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_cluster_client_urls_json": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_cluster_jetstream": (c_int, [_HANDLE, POINTER(c_bool), _ERR]),
    "nats_cluster_kill_node": (c_int, [_HANDLE, c_size_t, _ERR]),
    "nats_cluster_stop_node": (c_int, [_HANDLE, c_size_t, _ERR]),
    "nats_cluster_stop_node_timeout": (c_int, [_HANDLE, c_size_t, c_uint64, _ERR]),
    "nats_cluster_start_node": (c_int, [_HANDLE, c_size_t, _ERR]),
    "nats_cluster_restart_node": (c_int, [_HANDLE, c_size_t, _ERR]),
    "nats_cluster_pause_node": (c_int, [_HANDLE, c_size_t, _ERR]),
    "nats_cluster_resume_node": (c_int, [_HANDLE, c_size_t, _ERR]),
    "nats_cluster_lame_duck_node": (c_int, [_HANDLE, c_size_t, _ERR]),
    "nats_cluster_rolling_restart": (c_int, [_HANDLE, _ERR]),
    "nats_cluster_upgrade_node": (c_int, [_HANDLE, c_size_t, c_char_p, _ERR]),
    "nats_cluster_rolling_upgrade": (c_int, [_HANDLE, c_char_p, _ERR]),
    "nats_cluster_set_keep": (c_int, [_HANDLE, c_int32, _ERR]),
    "nats_cluster_mark_failed": (c_int, [_HANDLE, _ERR]),
    "nats_cluster_wait_ready": (c_int, [_HANDLE, c_uint64, _ERR]),
    "nats_cluster_wait_for_leader": (c_int, [_HANDLE, c_uint64, POINTER(c_size_t), _ERR]),
    "nats_cluster_meta_leader": (c_int, [_HANDLE, POINTER(c_size_t), _ERR]),
    # supercluster
    "nats_supercluster_run": (c_int, [c_char_p, _HANDLE_P, _ERR]),
    "nats_supercluster_free": (c_int, [_HANDLE]),
    "nats_supercluster_len": (c_int, [_HANDLE, POINTER(c_size_t), _ERR]),
    "nats_supercluster_cluster_len": (c_int, [_HANDLE, c_size_t, POINTER(c_size_t), _ERR]),
    "nats_supercluster_cluster_name": (c_int, [_HANDLE, c_size_t, _CHAR_PP, _ERR]),
    "nats_supercluster_node": (c_int, [_HANDLE, c_size_t, c_size_t, _HANDLE_P, _ERR]),
    "nats_supercluster_client_urls_json": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    "nats_supercluster_kill_node": (c_int, [_HANDLE, c_size_t, c_size_t, _ERR]),
    "nats_supercluster_stop_node": (c_int, [_HANDLE, c_size_t, c_size_t, _ERR]),
    "nats_supercluster_start_node": (c_int, [_HANDLE, c_size_t, c_size_t, _ERR]),
    "nats_supercluster_restart_node": (c_int, [_HANDLE, c_size_t, c_size_t, _ERR]),
    "nats_supercluster_pause_node": (c_int, [_HANDLE, c_size_t, c_size_t, _ERR]),
    "nats_supercluster_resume_node": (c_int, [_HANDLE, c_size_t, c_size_t, _ERR]),
    "nats_supercluster_lame_duck_node": (c_int, [_HANDLE, c_size_t, c_size_t, _ERR]),
    "nats_supercluster_set_keep": (c_int, [_HANDLE, c_int32, _ERR]),
    "nats_supercluster_mark_failed": (c_int, [_HANDLE, _ERR]),
    "nats_supercluster_wait_ready": (c_int, [_HANDLE, c_uint64, _ERR]),
    "nats_supercluster_wait_for_queue_interest": (c_int, [_HANDLE, c_char_p, c_char_p, c_uint64, _ERR]),
    "nats_supercluster_wait_for_leader": (
        c_int,
        [_HANDLE, c_uint64, POINTER(c_size_t), POINTER(c_size_t), _ERR],
    ),
    # the options builder (for C; Python passes its options as JSON)
    "nats_server_options_new": (_HANDLE, []),
    "nats_cluster_options_new": (_HANDLE, []),
    "nats_server_options_free": (None, [_HANDLE]),
    "nats_server_options_set_string": (c_int, [_HANDLE, c_char_p, c_char_p, _ERR]),
    "nats_server_options_set_bool": (c_int, [_HANDLE, c_char_p, c_bool, _ERR]),
    "nats_server_options_set_int": (c_int, [_HANDLE, c_char_p, c_int64, _ERR]),
    "nats_server_options_append_string": (c_int, [_HANDLE, c_char_p, c_char_p, _ERR]),
    "nats_server_options_add_arg": (c_int, [_HANDLE, c_char_p, _ERR]),
    "nats_server_options_to_json": (c_int, [_HANDLE, _CHAR_PP, _ERR]),
    # cluster: route links
    "nats_cluster_partition": (c_int, [_HANDLE, c_char_p, _ERR]),
    "nats_cluster_heal": (c_int, [_HANDLE, _ERR]),
    "nats_cluster_route_fault_add": (c_int, [_HANDLE, c_size_t, c_size_t, c_char_p, _ERR]),
    "nats_cluster_route_fault_remove": (c_int, [_HANDLE, c_size_t, c_size_t, c_char_p, _ERR]),
    # supercluster: gateway links
    "nats_supercluster_partition": (c_int, [_HANDLE, c_char_p, _ERR]),
    "nats_supercluster_heal": (c_int, [_HANDLE, _ERR]),
    "nats_supercluster_gateway_fault_add": (
        c_int,
        [_HANDLE, c_size_t, c_size_t, c_size_t, c_size_t, c_char_p, _ERR],
    ),
    "nats_supercluster_gateway_fault_remove": (
        c_int,
        [_HANDLE, c_size_t, c_size_t, c_size_t, c_size_t, c_char_p, _ERR],
    ),
}

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_lib_path: Path | None = None


def bundled_library_path() -> Path:
    """Where the library bundled with the package lives."""
    return Path(__file__).resolve().parent / LIB_NAME


def library_path() -> Path:
    """The library that is (or will be) loaded: ``$NATS_SERVER_HARNESS_LIB`` (a file, or a directory holding
    ``libnats_server.so``) if set, else the bundled one."""
    if _lib_path is not None:
        return _lib_path
    override = os.environ.get(LIB_ENV, "").strip()
    if override:
        path = Path(override).expanduser()
        return path / LIB_NAME if path.is_dir() else path
    return bundled_library_path()


def lib() -> ctypes.CDLL:
    """The loaded library (loaded and checked on first use)."""
    loaded = _lib
    if loaded is not None:
        return loaded
    return _load()


def _load() -> ctypes.CDLL:
    global _lib, _lib_path  # noqa: PLW0603 - the library is loaded once, lazily
    with _lock:
        if _lib is not None:
            return _lib
        path = library_path()
        source = f"${LIB_ENV}" if os.environ.get(LIB_ENV, "").strip() else "the package"
        if not path.is_file():
            hint = (
                f"unset ${LIB_ENV} to use the bundled library, or point it at target/debug or target/release"
                if source != "the package"
                else f"reinstall the package (pip install ./bindings/python), or set ${LIB_ENV} to a library "
                "built with `cargo build --lib`"
            )
            raise LibraryNotFound(
                f"nats-server harness: the shared library {path} (from {source}) does not exist; {hint}"
            )
        try:
            handle = ctypes.CDLL(str(path))
        except OSError as e:
            raise LibraryNotFound(f"nats-server harness: could not load {path} (from {source}): {e}") from e
        check_abi(handle, path)
        for name, (restype, argtypes) in PROTOTYPES.items():
            try:
                fn = getattr(handle, name)
            except AttributeError:
                raise AbiMismatch(
                    f"nats-server harness: {path} does not export {name}: it is older or newer than this package "
                    f"(C ABI {ABI_VERSION}); rebuild it or reinstall the package"
                ) from None
            fn.restype = restype
            fn.argtypes = argtypes
        _lib_path = path
        _lib = handle
        return handle


def check_abi(handle: ctypes.CDLL, path: Path | str, expected: int = ABI_VERSION) -> int:
    """Checks the library's ``nats_server_abi_version()``; raises :class:`AbiMismatch` when it differs."""
    try:
        fn = handle.nats_server_abi_version
    except AttributeError:
        raise AbiMismatch(
            f"nats-server harness: {path} is not the nats-server harness library: it does not export "
            "nats_server_abi_version"
        ) from None
    fn.restype = c_uint32
    fn.argtypes = []
    found = int(fn())
    if found != expected:
        raise AbiMismatch(
            f"nats-server harness: {path} implements C ABI version {found}, but this package needs version "
            f"{expected}; rebuild the library from the same checkout as the package, or reinstall the package"
        )
    return found


# ----- calling ---------------------------------------------------------------------------------------------------


def _take(ptr: c_void_p) -> bytes:
    """Copies a string the library returned and frees it."""
    address = ptr.value
    if not address:
        return b""
    try:
        return ctypes.string_at(address)
    finally:
        lib().nats_server_string_free(address)


def status_name(status: int) -> str:
    name: bytes | None = lib().nats_server_status_name(status)
    return name.decode() if name else "NATS_SERVER_UNKNOWN_STATUS"


def _raise(status: int, err: c_void_p) -> NoReturn:
    message = _take(err).decode("utf-8", "replace")
    name = status_name(status)
    raise error_for(status, message or f"nats-server harness: {name}", name)


def call(name: str, *args: Any) -> None:
    """Calls a function whose last parameter is ``char **error``; raises the mapped exception on failure."""
    err = c_void_p()
    status = getattr(lib(), name)(*args, ctypes.byref(err))
    if status != OK:
        _raise(status, err)


def out(name: str, ctype: Any, *args: Any) -> Any:
    """Calls a function with one out-parameter of ``ctype`` before ``error``; returns the value."""
    value = ctype()
    err = c_void_p()
    status = getattr(lib(), name)(*args, ctypes.byref(value), ctypes.byref(err))
    if status != OK:
        _raise(status, err)
    return value.value


def out_string(name: str, *args: Any) -> str:
    """Calls a function that hands back a string (``char **out``) and returns it decoded."""
    return out_bytes(name, *args).decode("utf-8", "replace")


def out_path(name: str, *args: Any) -> Path:
    """Calls a function that hands back a path (raw bytes) and returns it as a :class:`Path`."""
    return Path(os.fsdecode(out_bytes(name, *args)))


def out_bytes(name: str, *args: Any) -> bytes:
    value = c_void_p()
    err = c_void_p()
    status = getattr(lib(), name)(*args, ctypes.byref(value), ctypes.byref(err))
    if status != OK:
        _raise(status, err)
    return _take(value)


def monitor_status(handle: int, endpoint: bytes) -> tuple[int, bytes]:
    http = c_uint16()
    value = c_void_p()
    err = c_void_p()
    status = lib().nats_server_monitor_status(
        handle, endpoint, ctypes.byref(http), ctypes.byref(value), ctypes.byref(err)
    )
    if status != OK:
        _raise(status, err)
    return int(http.value), _take(value)


#: The ``nats_server_keep`` numbers, by the canonical name the library serializes.
KEEP_NAMES = {0: "never", 1: "on-failure", 2: "always"}


def keep_parse(text: str) -> int:
    """Parses a keep policy name with the library's one parser (``nats_server_keep_parse``): every spelling
    ``NATS_SERVER_KEEP`` and the ``keep`` option accept (``on_failure``, ``1``, ``true``, ...)."""
    value = out("nats_server_keep_parse", c_int32, str(text).encode())
    return int(value)


def wait_exit(handle: int, timeout_ms: int) -> int:
    code = c_int32()
    err = c_void_p()
    status = lib().nats_server_wait_exit(handle, timeout_ms, ctypes.byref(code), ctypes.byref(err))
    if status != OK:
        _raise(status, err)
    return int(code.value)


def run(name: str, options_json: bytes) -> int:
    """Calls ``nats_server_run`` / ``nats_cluster_run`` / ``nats_supercluster_run``; returns the new handle."""
    handle = c_void_p()
    err = c_void_p()
    status = getattr(lib(), name)(options_json, ctypes.byref(handle), ctypes.byref(err))
    if status != OK:
        _raise(status, err)
    if not handle.value:  # pragma: no cover - the library promises a handle on success
        raise NatsServerError(f"nats-server harness: {name} succeeded but returned no handle")
    return int(handle.value)


def _free(function: str, handle: int) -> None:
    status = getattr(lib(), function)(handle)
    if status != OK:
        name = status_name(status)
        raise error_for(status, f"nats-server harness: {function} failed: {name}", name)


def free_server(handle: int) -> None:
    _free("nats_server_free", handle)


def free_cluster(handle: int) -> None:
    _free("nats_cluster_free", handle)


def free_supercluster(handle: int) -> None:
    status = lib().nats_supercluster_free(handle)
    if status != OK:  # pragma: no cover - only a dead handle fails, and the class never passes one
        name = status_name(status)
        raise error_for(status, f"nats-server harness: nats_supercluster_free failed: {name}", name)


def wait_for_leader_at(handle: int, timeout_ms: int) -> tuple[int, int]:
    """Calls ``nats_supercluster_wait_for_leader``; returns the leader's (cluster, node) indices."""
    cluster = c_size_t()
    node = c_size_t()
    err = c_void_p()
    status = lib().nats_supercluster_wait_for_leader(
        handle, timeout_ms, ctypes.byref(cluster), ctypes.byref(node), ctypes.byref(err)
    )
    if status != OK:
        _raise(status, err)
    return int(cluster.value), int(node.value)


def abi_version() -> int:
    """The C ABI version of the loaded library."""
    return int(lib().nats_server_abi_version())


def library_version() -> str:
    """The version of the loaded library (the Rust crate's version)."""
    version: bytes = lib().nats_server_library_version()
    return version.decode()


def install(version: str) -> str:
    """Installs the nats-server release ``version`` (``"2.14"``, ``"2.14.6"``, ``"latest"``) into the per-user
    cache when missing (``$NATS_SERVER_CACHE``, else ``$XDG_CACHE_HOME`` or ``~/.cache``) and returns its
    binary's path. Raises :class:`InstallError` naming the version, the sources tried and their answers."""
    return str(out_path("nats_server_install", str(version).encode()))


def versions(installed_only: bool = False) -> dict[str, Any]:
    """The releases in the cache and, unless ``installed_only``, the ones the sources offer:
    ``{"cache": ..., "installed": [{"version": ..., "binary": ...}], "available": [...]}``."""
    doc: dict[str, Any] = json.loads(out_string("nats_server_versions", bool(installed_only)))
    return doc
