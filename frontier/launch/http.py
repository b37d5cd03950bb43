"""Small blocking HTTP helpers of the launch layer (readiness, liveness, server info)."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (bound and released)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """A small blocking GET: (status, body); status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read() or b""
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, b""


def get_json(url: str, timeout: float = 5.0) -> dict:
    """The JSON object at ``url``; ``{}`` when it does not answer 200 with an object."""
    status, body = http_get(url, timeout)
    if status != 200:
        return {}
    try:
        out = json.loads(body)
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}
