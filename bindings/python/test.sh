#!/usr/bin/env bash
# The Python binding's checks: ruff, mypy --strict, then pytest (the whole suite on 3 xdist workers).
#
#   NATS_SERVER_BIN=/path/to/nats-server NATS_SERVER_LIB_DIR=$PWD/target/debug bindings/python/test.sh
#
# Run from anywhere (CI runs it from the repository root). NATS_SERVER_LIB_DIR names a directory holding an already
# built libnats_server.so (cargo build --lib): the package is installed with that library, so cargo does not run
# again. Without it the install builds the library with cargo (release). The virtualenv lives in
# target/py-venv (PY_VENV overrides) and is reused; PYTHON picks the interpreter (default python3).
# Extra arguments go to pytest (e.g. `-k cluster`, `-n 0`). pytest's summary is the last line printed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PY_VENV:-$root/target/py-venv}"
python="${PYTHON:-python3}"

# Pinned tools and test dependencies (bump deliberately).
deps=(
    "setuptools==84.2.1"
    "pytest==9.2.0"
    "pytest-xdist==3.8.0"
    "execnet==2.1.2"
    "nats-py==2.16.0"
    # nats-py connects with nkeys and creds files only when nkeys is installed.
    "nkeys==0.2.1"
    # The async fixtures and tests of nats_server_harness.aio.
    "pytest-asyncio==1.5.0"
    "mypy==2.4.1"
    "ruff==0.17.6"
)

if [[ ! -x "$venv/bin/python" ]]; then
    echo "--- creating $venv"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1

stamp="$venv/.deps"
if [[ "$(cat "$stamp" 2>/dev/null)" != "${deps[*]}" ]]; then
    echo "--- installing test dependencies"
    "$py" -m pip install --quiet "${deps[@]}"
    echo "${deps[*]}" >"$stamp"
fi

echo "--- installing nats-server-harness"
if [[ -n "${NATS_SERVER_LIB_DIR:-}" ]]; then
    lib="$(cd "$NATS_SERVER_LIB_DIR" && pwd)/libnats_server.so"
    [[ -f "$lib" ]] || { echo "no libnats_server.so in $NATS_SERVER_LIB_DIR (run cargo build --lib)" >&2; exit 2; }
    export NATS_SERVER_HARNESS_LIB="$lib"
fi
# --no-build-isolation: setuptools is already in the venv (pinned above), so nothing is fetched per install.
"$py" -m pip install --quiet --no-deps --no-build-isolation --force-reinstall "$here"
# The tests use the library the wheel carries (the import-time override is tested on its own).
unset NATS_SERVER_HARNESS_LIB

cd "$here"
echo "--- ruff"
"$venv/bin/ruff" check --no-cache src tests bench.py setup.py
"$venv/bin/ruff" format --check --no-cache src tests bench.py setup.py
echo "--- mypy --strict"
"$venv/bin/mypy" --cache-dir "$venv/.mypy-cache"
echo "--- pytest"
exec "$py" -m pytest -n 3 -p no:cacheprovider "$@"
