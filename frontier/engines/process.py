"""One server process under management: start in its own process group, wait ready, stop.

Each process runs in a new session (its own process group) with stdout+stderr to a log file
kept as an artifact. ``stop()`` sends SIGTERM to the whole group, waits, then SIGKILLs, so no
child (tokenizer, scheduler, detokenizer of a real SGLang server) survives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from frontier.errors import FrontierError


class LaunchError(FrontierError):
    """A server that failed to start or become healthy; carries the log tail."""

    def __init__(self, message: str, log_tail: str = "", stage: str = "launch"):
        super().__init__(message)
        self.log_tail = log_tail
        self.stage = stage


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """A small blocking GET: (status, body); status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback/cluster URLs
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read() or b""
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, b""


def get_json(url: str, timeout: float = 5.0) -> dict:
    status, body = http_get(url, timeout)
    if status != 200:
        return {}
    try:
        return json.loads(body)
    except ValueError:
        return {}


@dataclass
class ManagedProcess:
    argv: list[str]
    log_path: Path
    name: str = "server"
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    proc: subprocess.Popen | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as e:
            raise LaunchError(f"{self.name}: cannot start {self.argv[0]!r}: {e}") from None
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, base_url: str, timeout_s: float, paths=("/health", "/health_generate")) -> None:
        """Poll each health path in turn until 200; fail early if the process exits."""
        deadline = time.monotonic() + timeout_s
        for path in paths:
            while True:
                if not self.alive():
                    code = self.proc.returncode if self.proc else None
                    raise LaunchError(
                        f"{self.name} exited with code {code} before becoming healthy",
                        self.log_tail(),
                        stage="launch",
                    )
                status, _ = http_get(base_url + path, timeout=min(10.0, max(0.5, deadline - time.monotonic())))
                if status == 200:
                    break
                if time.monotonic() > deadline:
                    raise LaunchError(
                        f"{self.name} not healthy at {base_url}{path} within {timeout_s:.0f} s",
                        self.log_tail(),
                        stage="readiness",
                    )
                time.sleep(0.1)

    def stop(self, grace_s: float = 10.0) -> int | None:
        """SIGTERM the process group, wait up to grace_s, then SIGKILL it. Returns the exit code."""
        if self.proc is None:
            return None
        pgid = self.proc.pid
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # the leader is gone; make sure no straggler of its group is left
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        return self.proc.returncode
