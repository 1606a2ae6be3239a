"""One timed HTTP request, which the benchmarks that serve the WSGI app (health, topology)
share: a new connection, the whole response read, anything but 200 an error."""

from __future__ import annotations

import time
from http.client import HTTPConnection


def timed_get(port: int, path: str, *, headers: dict | None = None, timeout: float = 30) -> float:
    """GET `path` from 127.0.0.1:`port` on a connection of its own; milliseconds it took."""
    started = time.perf_counter()
    conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    return (time.perf_counter() - started) * 1000
