"""TLS material of a server for Python clients: an :class:`ssl.SSLContext` from the harness's generated files."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None) -> ssl.SSLContext:
    """A client :class:`ssl.SSLContext` that trusts exactly ``ca_file`` (hostnames checked) and, when given,
    presents ``cert_file``/``key_file`` (mTLS)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file else None)
    if cert_file is not None and key_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file))
    return context
