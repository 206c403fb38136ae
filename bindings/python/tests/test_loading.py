"""The package and its library: the wheel carries it, the environment override, the ABI check, and every
function of the header bound with its exact signature."""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import nats_server_harness as h
from nats_server_harness import _ffi

HEADER = Path(__file__).resolve().parents[3] / "include" / "nats_server.h"


def header_text() -> str:
    if not HEADER.is_file():
        pytest.skip(f"{HEADER} is not here (the tests run outside the repository)")
    return HEADER.read_text()


C_TYPES = {
    "nats_server_status": ctypes.c_int,
    "void": None,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "bool": ctypes.c_bool,
    "int": ctypes.c_int,
    "size_t": ctypes.c_size_t,
    "const char *": ctypes.c_char_p,
    "char *": ctypes.c_void_p,  # only nats_server_string_free takes one: an address we got back
    "char **": ctypes.POINTER(ctypes.c_void_p),
    "nats_server_t *": ctypes.c_void_p,
    "const nats_server_t *": ctypes.c_void_p,
    "nats_cluster_t *": ctypes.c_void_p,
    "nats_server_options_t *": ctypes.c_void_p,
    "const nats_server_options_t *": ctypes.c_void_p,
    "const nats_cluster_t *": ctypes.c_void_p,
    "nats_server_t **": ctypes.POINTER(ctypes.c_void_p),
    "nats_cluster_t **": ctypes.POINTER(ctypes.c_void_p),
    "nats_supercluster_t *": ctypes.c_void_p,
    "const nats_supercluster_t *": ctypes.c_void_p,
    "nats_supercluster_t **": ctypes.POINTER(ctypes.c_void_p),
    "bool *": ctypes.POINTER(ctypes.c_bool),
    "uint16_t *": ctypes.POINTER(ctypes.c_uint16),
    "uint32_t *": ctypes.POINTER(ctypes.c_uint32),
    "int32_t *": ctypes.POINTER(ctypes.c_int32),
    "size_t *": ctypes.POINTER(ctypes.c_size_t),
}


def normalize(c_decl: str) -> str:
    """``const nats_server_t*`` -> ``const nats_server_t *``."""
    return re.sub(r"\s*(\*+)", r" \1", " ".join(c_decl.split())).strip()


def c_type(parameter: str) -> object:
    """The ctypes type of a C parameter such as ``const nats_server_t *server``."""
    match = re.fullmatch(r"\s*(.*?)\s*\b(\w+)\s*", parameter)
    assert match is not None, parameter
    return C_TYPES[normalize(match.group(1))]


def header_functions() -> dict[str, tuple[object, list[object]]]:
    found: dict[str, tuple[object, list[object]]] = {}
    pattern = r"^([A-Za-z_][\w \*]*?)\s*\b(nats_(?:server|cluster|supercluster)_\w+)\(([^)]*)\);"
    for ret, name, params in re.findall(pattern, header_text(), re.MULTILINE):
        args = [] if params.strip() in ("", "void") else [c_type(p) for p in params.split(",")]
        found[name] = (C_TYPES[normalize(ret)], args)
    return found


def test_every_header_function_is_bound_with_its_signature() -> None:
    declared = header_functions()
    assert len(declared) >= 59
    assert sorted(declared) == sorted(_ffi.PROTOTYPES)
    for name, (ret, args) in declared.items():
        bound_ret, bound_args = _ffi.PROTOTYPES[name]
        assert bound_ret == ret, f"{name}: return type"
        assert bound_args == args, f"{name}: parameters"


PACKAGE = Path(_ffi.__file__).resolve().parent
README = HEADER.parents[1] / "README.md"


def test_every_header_function_is_called_by_the_package() -> None:
    # Bound is not enough: each function must be used by the package itself, outside the table of prototypes.
    sources = "".join(p.read_text() for p in PACKAGE.glob("*.py"))
    prototypes = re.search(r"PROTOTYPES[^=]*= \{(.*?)\n\}", sources, re.DOTALL)
    assert prototypes is not None
    code = sources.replace(prototypes.group(1), "")
    # The options builder serves C callers; Python sends its options as one JSON document.
    c_only = {
        "nats_server_options_new",
        "nats_cluster_options_new",
        "nats_server_options_free",
        "nats_server_options_set_string",
        "nats_server_options_set_bool",
        "nats_server_options_set_int",
        "nats_server_options_append_string",
        "nats_server_options_add_arg",
        "nats_server_options_to_json",
    }
    assert c_only <= set(header_functions())
    unused = [
        name
        for name in header_functions()
        if name not in c_only and f'"{name}"' not in code and f".{name}(" not in code
    ]
    assert unused == []


def names_table() -> list[list[str]]:
    """The rows of the README's "Names across the surfaces" table (concept, Rust, C, C++, Python, Go, CLI)."""
    if not README.is_file():
        pytest.skip(f"{README} is not here (the tests run outside the repository)")
    text = README.read_text()
    section = text[text.index("## Names across the surfaces") :]
    lines = list(itertools.dropwhile(lambda line: not line.startswith("|"), section.splitlines()))
    table = itertools.takewhile(lambda line: line.startswith("|"), lines)
    rows = [line.strip("|").split("|") for line in table]
    assert [c.strip() for c in rows[0]] == ["concept", "Rust", "C", "C++", "Python", "Go", "CLI"]
    return [[c.strip() for c in row] for row in rows[2:]]


def test_the_readme_python_column_names_the_api() -> None:
    owners: dict[str, object] = {"Server": h.Server, "Cluster": h.Cluster, "h": h}
    rows = names_table()
    assert len(rows) >= 60
    for row in rows:
        for name in re.findall(r"`([^`]+)`", row[4]):
            path = re.sub(r"\(.*\)$", "", name).split(".")
            assert path[0] in owners, f"{row[0]}: {name} names no known class"
            if len(path) > 1:
                assert hasattr(owners[path[0]], path[1]), f"README row {row[0]!r}: Python has no {name}"


def test_abi_version_matches_the_header() -> None:
    match = re.search(r"#define NATS_SERVER_ABI_VERSION (\d+)", header_text())
    assert match is not None
    assert int(match.group(1)) == h.ABI_VERSION == h.abi_version()


def test_status_codes_match_the_exceptions() -> None:
    codes = dict(re.findall(r"NATS_SERVER_(\w+) = (\d+),", header_text()))
    from nats_server_harness._errors import _BY_CODE

    named = {k: int(v) for k, v in codes.items() if not k.startswith("KEEP_")}
    assert named.pop("OK") == 0
    assert sorted(named.values()) == sorted(_BY_CODE)
    for name, code in named.items():
        assert _ffi.status_name(code) == f"NATS_SERVER_{name}"
        assert _BY_CODE[code].code == code


def test_the_wheel_carries_the_library_and_is_tagged_for_the_platform() -> None:
    if os.environ.get(_ffi.LIB_ENV):
        pytest.skip(f"{_ffi.LIB_ENV} overrides the bundled library")
    assert h.library_path() == _ffi.bundled_library_path()
    assert _ffi.bundled_library_path().is_file()
    dist = metadata.distribution("nats-server-harness")
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    assert tags, wheel
    assert all(tag.startswith("py3-none-") and not tag.endswith("-any") for tag in tags), tags
    assert "Root-Is-Purelib: false" in wheel
    files = [str(f) for f in dist.files or []]
    assert "nats_server_harness/libnats_server.so" in files
    assert "nats_server_harness/py.typed" in files


def test_the_package_and_the_library_have_one_version() -> None:
    # Cargo.toml sets it once: the wheel's metadata, __version__ and the bundled library must all say the same.
    if os.environ.get(_ffi.LIB_ENV):
        pytest.skip(f"{_ffi.LIB_ENV} overrides the bundled library")
    assert metadata.version("nats-server-harness") == h.__version__ == h.library_version()


def test_the_pytest_plugin_is_registered() -> None:
    points = metadata.entry_points(group="pytest11")
    assert any(p.name == "nats_server" and p.value == "nats_server_harness.pytest_plugin" for p in points)


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_env_override_loads_another_library(tmp_path: Path) -> None:
    # A copy in a directory of its own: the variable may name the file or the directory.
    copy = tmp_path / _ffi.LIB_NAME
    copy.write_bytes(_ffi.library_path().read_bytes())
    code = "import nats_server_harness as h; print(h.load_library()); s = h.Server(); print(s.client_port); s.close()"
    for value in (str(copy), str(tmp_path)):
        result = python(code, NATS_SERVER_HARNESS_LIB=value)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0] == str(copy)


def test_env_override_to_a_missing_library_fails_clearly() -> None:
    # Importing works (the plugin must never break pytest); the first use says what is wrong.
    result = python(
        "import nats_server_harness as h\ntry:\n    h.Server()\nexcept h.LibraryNotFound as e:\n    print(e)",
        NATS_SERVER_HARNESS_LIB="/nonexistent/libnats_server.so",
    )
    assert result.returncode == 0, result.stderr
    assert "/nonexistent/libnats_server.so" in result.stdout
    assert "NATS_SERVER_HARNESS_LIB" in result.stdout


def test_env_override_to_a_foreign_library_fails_clearly() -> None:
    libc = ctypes.util.find_library("m") or "libm.so.6"
    path = next((p for p in (Path("/lib/x86_64-linux-gnu") / libc, Path("/usr/lib") / libc) if p.is_file()), None)
    if path is None:
        pytest.skip("no libm found to stand in for a foreign library")
    result = python(
        "import nats_server_harness as h\ntry:\n    h.load_library()\nexcept h.AbiMismatch as e:\n    print(e)",
        NATS_SERVER_HARNESS_LIB=str(path),
    )
    assert result.returncode == 0, result.stderr
    assert "does not export nats_server_abi_version" in result.stdout


def test_abi_mismatch_is_reported_with_both_versions() -> None:
    library = ctypes.CDLL(str(h.library_path()))
    assert _ffi.check_abi(library, "lib") == h.ABI_VERSION
    wanted = h.ABI_VERSION + 1
    with pytest.raises(
        h.AbiMismatch, match=f"implements C ABI version {h.ABI_VERSION}, but this package needs version {wanted}"
    ) as caught:
        _ffi.check_abi(library, "lib", expected=wanted)
    assert isinstance(caught.value, ImportError)
