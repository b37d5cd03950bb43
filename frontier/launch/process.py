"""One local server process under management (the ``local`` target's): start it in its own
process group, stop the whole group.

Each process runs in a new session (its own process group) with stdout+stderr to a log file
kept as an artifact. ``stop()`` sends SIGTERM to the whole group, waits, then SIGKILLs, so no
child (tokenizer, scheduler, detokenizer of a real SGLang server) survives. Readiness and the
reason a process failed are the target's (:meth:`frontier.launch.targets.base.Target.wait_ready`,
:func:`frontier.launch.logs.error_line`).
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from frontier.launch.errors import LaunchError


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

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

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
