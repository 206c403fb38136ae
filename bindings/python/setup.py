"""Puts the Rust library ``libnats_server`` into the package while setuptools builds it.

The library comes from, in this order:

1. ``$NATS_SERVER_HARNESS_LIB``: a prebuilt ``libnats_server.so`` (or a directory holding one, e.g.
   ``target/debug``), copied as is: no cargo run (CI builds the library once and shares it);
2. ``cargo build --release --lib`` of the crate: the copy inside an sdist (``rust/``), else the crate two
   directories up (``../../Cargo.toml``), which is what ``pip install ./bindings/python`` does on a fresh machine
   (it needs cargo; ``$CARGO`` names another one).

The sdist carries the crate's sources (the files of its ``include`` list in Cargo.toml) under ``rust/``, so it
builds from its own contents. The package's version is the crate's (Cargo.toml is the only place it is set).

The wheel is tagged ``py3-none-<platform>``: the library is native code, but it is loaded with ctypes, so any
Python 3 interpreter on that platform can use it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef,import-not-found,unused-ignore]

HERE = Path(__file__).resolve().parent
PACKAGE = "nats_server_harness"
LIB_ENV = "NATS_SERVER_HARNESS_LIB"
LIB_NAME = "libnats_server.dylib" if sys.platform == "darwin" else "libnats_server.so"
#: Where an sdist keeps its copy of the crate.
VENDORED_CRATE = "rust"


def crate_root() -> Path:
    for candidate in (HERE / VENDORED_CRATE, HERE.parent.parent, *HERE.parents):
        manifest = candidate / "Cargo.toml"
        if manifest.is_file() and 'name = "nats-server"' in manifest.read_text(encoding="utf-8"):
            return candidate
    raise SystemExit(
        f"nats-server-harness: cannot build the Rust library: no Cargo.toml of the `nats-server` crate above {HERE}. "
        f"Build from the repository (pip install ./bindings/python), or set {LIB_ENV} to a prebuilt {LIB_NAME}."
    )


def crate_version() -> str:
    """The ``version`` of the crate's ``[package]`` table: the one version of the crate, the C library and the wheel."""
    manifest = (crate_root() / "Cargo.toml").read_text(encoding="utf-8")
    package = re.search(r"^\[package\]\n(.*?)(?=^\[)", manifest, re.MULTILINE | re.DOTALL)
    version = re.search(r'^version\s*=\s*"([^"]+)"', package.group(1) if package else "", re.MULTILINE)
    if version is None:
        raise SystemExit(f"nats-server-harness: no [package] version in {crate_root() / 'Cargo.toml'}")
    return version.group(1)


def crate_files() -> list[Path]:
    """The crate's files as ``cargo package`` takes them: the patterns of Cargo.toml's ``include`` list."""
    root = crate_root()
    manifest = (root / "Cargo.toml").read_text(encoding="utf-8")
    listed = re.search(r"^include\s*=\s*\[(.*?)\]", manifest, re.MULTILINE | re.DOTALL)
    if listed is None:
        raise SystemExit(f"nats-server-harness: {root / 'Cargo.toml'} has no include list to copy into the sdist")
    files: set[Path] = set()
    for pattern in re.findall(r'"([^"]+)"', listed.group(1)):
        files.update(path for path in root.glob(pattern.lstrip("/")) if path.is_file())
    return sorted(files)


def cargo_build() -> Path:
    """Builds the cdylib in release mode and returns its path (read from cargo's own artifact messages)."""
    root = crate_root()
    cargo = os.environ.get("CARGO", "cargo")
    command = [
        cargo,
        "build",
        "--release",
        "--lib",
        "--no-default-features",  # the default feature only adds the command-line tool's dependencies
        "--manifest-path",
        str(root / "Cargo.toml"),
        "--message-format=json-render-diagnostics",
    ]
    print("nats-server-harness: building the Rust library:", " ".join(command), file=sys.stderr)
    try:
        result = subprocess.run(command, check=False, stdout=subprocess.PIPE, cwd=root)
    except FileNotFoundError:
        raise SystemExit(
            f"nats-server-harness: `{cargo}` was not found: install Rust (https://rustup.rs) to build the library, "
            f"or set {LIB_ENV} to a prebuilt {LIB_NAME}"
        ) from None
    if result.returncode != 0:
        raise SystemExit(f"nats-server-harness: cargo build failed (exit {result.returncode}); see the errors above")
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("reason") != "compiler-artifact" or "cdylib" not in message.get("target", {}).get("kind", []):
            continue
        for filename in message.get("filenames", []):
            if filename.endswith(LIB_NAME):
                return Path(filename)
    raise SystemExit(f"nats-server-harness: cargo build succeeded but reported no {LIB_NAME}")


def library() -> Path:
    override = os.environ.get(LIB_ENV, "").strip()
    if override:
        path = Path(override).expanduser().resolve()
        if path.is_dir():
            path = path / LIB_NAME
        if not path.is_file():
            raise SystemExit(f"nats-server-harness: {LIB_ENV}={override} names no file ({path} does not exist)")
        print(f"nats-server-harness: using the prebuilt library {path} (from {LIB_ENV})", file=sys.stderr)
        return path
    return cargo_build()


class BuildPyWithLibrary(build_py):
    """build_py, then the library next to the package's modules (in the source tree for editable installs)."""

    def run(self) -> None:
        super().run()
        source = library()
        editable = getattr(self, "editable_mode", False)
        target_dir = HERE / "src" / PACKAGE if editable else Path(self.build_lib) / PACKAGE
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / LIB_NAME
        if target.exists():
            target.unlink()  # never write through into a library that a running process has mapped
        shutil.copyfile(source, target)
        target.chmod(0o755)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs: list[str] = super().get_outputs(include_bytecode)
        return [*outputs, str(Path(self.build_lib) / PACKAGE / LIB_NAME)]


class BinaryDistribution(Distribution):
    """A distribution with native code: setuptools then makes a platform wheel, not a pure one."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """Tags the wheel py3-none-PLATFORM: native, but independent of the Python version and ABI (ctypes)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class SdistWithCrate(sdist):
    """sdist, plus the crate's sources under ``rust/``: the sdist then builds without this repository."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        root = crate_root()
        for source in crate_files():
            target = Path(base_dir) / VENDORED_CRATE / source.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


cmdclass: dict[str, Any] = {
    "build_py": BuildPyWithLibrary,
    "bdist_wheel": PlatformWheel,
    "sdist": SdistWithCrate,
}
setup(version=crate_version(), cmdclass=cmdclass, distclass=BinaryDistribution)
