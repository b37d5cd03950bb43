"""One server process under management: start in its own process group, wait ready, stop.

Each process runs in a new session (its own process group) with stdout+stderr to a log file
kept as an artifact. ``stop()`` sends SIGTERM to the whole group, waits, then SIGKILLs, so no
child (tokenizer, scheduler, detokenizer of a real SGLang server) survives. A launch failure
says why in one line (the telling error line of the log, e.g. SGLang's CUDA OOM) and carries the
log's first and last lines (secrets masked, :mod:`frontier.common.redact`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from frontier.common.redact import redact_text
from frontier.errors import FrontierError

_EXC_LINE = re.compile(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception)\b: ")
_ERR_LINE = re.compile(r"(?i)\b(?:error|fatal|out of memory)\b")


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
        with urllib.request.urlopen(url, timeout=timeout) as r:
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
        from frontier.launch import watchdog

        with watchdog.guarded(self):  # stale servers of these GPUs stopped; this one watched
            self._popen()
        return self

    def _popen(self) -> None:
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

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pgid(self) -> int | None:
        """The process group of the server and its children (the server leads its own session)."""
        return self.proc.pid if self.proc else None

    def _log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def log_tail(self, lines: int = 40) -> str:
        return redact_text("\n".join(self._log_lines()[-lines:]))

    def log_excerpt(self, head: int = 10, tail: int = 30) -> str:
        """The first ``head`` and last ``tail`` lines of the log (all of it when short), masked."""
        lines = self._log_lines()
        if len(lines) > head + tail:
            lines = lines[:head] + [f"... ({len(lines) - head - tail} lines) ..."] + lines[-tail:]
        return redact_text("\n".join(lines))

    def error_line(self) -> str | None:
        """The log line that says what went wrong (the last ``SomethingError: ...`` line), masked."""
        lines = self._log_lines()
        for pat in (_EXC_LINE, _ERR_LINE):
            for line in reversed(lines):
                if pat.search(line):
                    text = line.strip()
                    return redact_text(text if len(text) <= 300 else text[:297] + "...")
        return None

    def wait_ready(self, base_url: str, timeout_s: float, paths=("/health", "/health_generate")) -> None:
        """Poll each health path in turn until 200; fail early if the process exits."""
        deadline = time.monotonic() + timeout_s
        for path in paths:
            while True:
                if not self.alive():
                    code = self.proc.returncode if self.proc else None
                    why = self.error_line()
                    raise LaunchError(
                        f"{self.name} exited with code {code} before becoming healthy"
                        + (f": {why}" if why else ""),
                        self.log_excerpt(),
                        stage="launch",
                    )
                status, _ = http_get(
                    base_url + path, timeout=min(10.0, max(0.5, deadline - time.monotonic()))
                )
                if status == 200:
                    break
                if time.monotonic() > deadline:
                    last = self.error_line()
                    raise LaunchError(
                        f"{self.name} not healthy at {base_url}{path} within {timeout_s:g} s "
                        f"({'no answer' if status == 0 else f'HTTP {status}'})"
                        + (f"; log: {last}" if last else ""),
                        self.log_excerpt(),
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
        from frontier.launch import watchdog

        watchdog.release(self)
        return self.proc.returncode
