"""TLS in front of a plain server, for the tests that need a real handshake: the production server
behind a TLS-terminating proxy (tests.support.serving.TlsProxy) and rediss:// to an embedded
Valkey, whose build has no TLS of its own (tests/test_redis_settings.py). A self-signed
certificate made by `openssl`, and a listener that hands each connection to a thread."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, valid for a day, and its key, in `directory`."""
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return certificate, key


class TlsListener:
    """Accepts connections on 127.0.0.1:`port` (a free port) until `close()`; each goes, still
    plain, to `handle` in a thread of its own, which wraps it with `context` (`certificate`)."""

    def __init__(self, certificate: Path, key: Path):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificate, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name=type(self).__name__).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self.handle, args=(raw,), daemon=True).start()

    def handle(self, raw: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._listener.close()
