"""``ssh``: one process per node, started over SSH, detached in its own session.

The node runs ``setsid nohup ARGV > LOG 2>&1 < /dev/null & echo $!``: the process leads a new
session and process group (``pid == pgid``; the ssh exec shell has no job control, so
``setsid`` does not fork and ``$!`` is that pid), survives the SSH session, and is stopped by
group: ``kill -TERM -- -PGID``, a wait of up to ``grace_s``, then ``kill -KILL -- -PGID``.
Liveness counts the group's non-zombie processes. The log stays on the node (``remote_dir``);
``log_tail`` runs ``tail -n``, and ``stop`` copies the last lines into the local artifacts file.

No server outlives its driver (:mod:`frontier.launch.watchdog` for the remote side): a
non-deferred launch keeps one **tether** per process, an ``ssh`` session running
:func:`tether_command` on the node, whose stdin only the driver holds. When the driver ends (a
normal stop, or SIGKILL), the session's stdin reaches EOF and the node stops the group
(SIGTERM, then SIGKILL). A deferred launch (``tether = False``) gets a **lease** instead
(:meth:`SSHTarget.hold`, :func:`lease_command`): a detached timer on the node stops the group
after the TTL unless the resumed task adopted it first (:meth:`SSHTarget.adopt`: lease file
removed, tether opened). Tethers need the OpenSSH transport (a ``Transport`` with ``argv``).

Secrets never travel in these commands: a secret-looking environment name or flag is refused.
HF_TOKEN and the like come from the node: ``env_file`` (e.g. ``/etc/frontier/env``, sourced
with ``set -a``) or the SSH user's environment. Hosts come from the plan (``cluster.nodes``).

Every command is built by a pure function (golden-tested) with :func:`shlex.quote`; a
:class:`Transport` runs it: :class:`OpenSSHTransport` (the ``ssh`` client, here) or
``operators.ssh_transport.SSHHookTransport`` (Airflow's SSH provider, one Connection per node).
"""

from __future__ import annotations

import math
import shlex
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol

from frontier.common.redact import redact_text
from frontier.errors import FrontierError
from frontier.launch.errors import LaunchError
from frontier.launch.targets.base import Command, Handle, Target, http_of, no_secrets_in, process_name
from frontier.launch.targets.registry import register_target

_q = shlex.quote


class Transport(Protocol):
    """Runs one shell command on a node: ``(exit code, stdout, stderr)``."""

    def run(self, host: str, command: str, timeout: float | None = None) -> tuple[int, str, str]: ...


# --------------------------------------------------------------------------- pure builders


def start_command(
    argv: Sequence[str],
    log_path: str,
    *,
    env: dict[str, str] | None = None,
    env_file: str | None = None,
    workdir: str | None = None,
) -> str:
    """The shell line that starts ``argv`` detached and prints its pid (= its process group)."""
    parts = ["set -e", f"mkdir -p {_q(str(PurePosixPath(log_path).parent))}"]
    if workdir:
        parts.append(f"cd {_q(workdir)}")
    if env_file:
        parts.append(f"set -a; . {_q(env_file)}; set +a")
    env_args = " ".join(f"{k}={_q(v)}" for k, v in sorted((env or {}).items()))
    launch = "setsid nohup " + (f"env {env_args} " if env_args else "") + " ".join(_q(a) for a in argv)
    parts.append(f"{launch} > {_q(log_path)} 2>&1 < /dev/null & echo $!")
    return "; ".join(parts)


def signal_command(pgid: int, sig: str) -> str:
    """Signal the whole process group; never fails (the group may be gone)."""
    _check_pgid(pgid)
    return f"kill -{sig} -- -{pgid} 2>/dev/null || true"


def alive_command(pgid: int) -> str:
    """Exit 0 while a non-zombie process of the group remains."""
    _check_pgid(pgid)
    return f"ps -eo pgid=,stat= | awk '$1 == {pgid} && $2 !~ /^Z/ {{ n++ }} END {{ exit n ? 0 : 1 }}'"


def _stop_group_sh(pgid: int, grace_s: float) -> str:
    # ``kill -SIG -PGID``, not ``kill -SIG -- -PGID``: dash's kill (``sh -c``) refuses ``--``
    return (
        f"kill -TERM -{pgid} 2>/dev/null; i=0; "
        f"while [ $i -lt {max(1, math.ceil(grace_s * 2))} ] && {alive_command(pgid)}; "
        f"do sleep 0.5; i=$((i+1)); done; kill -KILL -{pgid} 2>/dev/null; true"
    )


def tether_command(pgid: int, grace_s: float = 5.0) -> str:
    """Held open by the driver: once its stdin ends (the driver is gone, or closed it to stop the
    group), stop the group. SIGHUP (the connection dropped) ends ``cat`` the same way."""
    _check_pgid(pgid)
    return f"trap '' HUP; cat > /dev/null; {_stop_group_sh(pgid, grace_s)}"


def lease_command(pgid: int, ttl_s: float, lease_path: str, grace_s: float = 5.0) -> str:
    """A detached timer on the node: after ``ttl_s`` the group is stopped, unless the lease file
    was removed meanwhile (adopted by a resumed task, or stopped)."""
    _check_pgid(pgid)
    body = (
        f"sleep {max(1, math.ceil(ttl_s))}; if [ -e {_q(lease_path)} ]; then "
        f"rm -f {_q(lease_path)}; {_stop_group_sh(pgid, grace_s)}; fi"
    )
    return (
        f"set -e; mkdir -p {_q(str(PurePosixPath(lease_path).parent))}; echo {pgid} > {_q(lease_path)}; "
        f"setsid nohup sh -c {_q(body)} > /dev/null 2>&1 < /dev/null &"
    )


def tail_command(log_path: str, lines: int = 40) -> str:
    return f"tail -n {int(lines)} {_q(log_path)} 2>/dev/null || true"


def _check_pgid(pgid: int) -> None:
    # kill -- -0 / -1 would signal the caller's group or every process the user may signal
    if not isinstance(pgid, int) or pgid <= 1:
        raise FrontierError(f"refusing to signal process group {pgid!r}")


# --------------------------------------------------------------------------- transports


class OpenSSHTransport:
    """The OpenSSH client (``ssh -o BatchMode=yes``): keys from the agent, ``identity_file``
    or ``~/.ssh/config``; no password prompts."""

    def __init__(
        self,
        *,
        user: str | None = None,
        port: int | None = None,
        identity_file: str | None = None,
        known_hosts_file: str | None = None,
        strict_host_key_checking: str = "yes",
        connect_timeout_s: int = 10,
        config_file: str | None = None,
        ssh: str = "ssh",
        extra_options: dict[str, str] | None = None,
    ):
        self.user, self.port, self.identity_file = user, port, identity_file
        self.known_hosts_file, self.strict = known_hosts_file, strict_host_key_checking
        self.connect_timeout_s, self.config_file, self.ssh = connect_timeout_s, config_file, ssh
        self.extra_options = dict(extra_options or {})

    def argv(self, host: str, command: str) -> list[str]:
        out = [self.ssh]
        if self.config_file:
            out += ["-F", self.config_file]
        opts = {
            "BatchMode": "yes",
            "ConnectTimeout": str(self.connect_timeout_s),
            "StrictHostKeyChecking": self.strict,
            **({"UserKnownHostsFile": self.known_hosts_file} if self.known_hosts_file else {}),
            **self.extra_options,
        }
        for k, v in opts.items():
            out += ["-o", f"{k}={v}"]
        if self.identity_file:
            out += ["-i", self.identity_file, "-o", "IdentitiesOnly=yes"]
        if self.port:
            out += ["-p", str(self.port)]
        if self.user:
            out += ["-l", self.user]
        return out + [host, "--", command]

    def run(self, host: str, command: str, timeout: float | None = 60.0) -> tuple[int, str, str]:
        try:
            r = subprocess.run(
                self.argv(host, command),
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return 124, "", f"ssh {host}: no answer within {timeout} s"
        except OSError as e:
            return 127, "", f"ssh client {self.ssh!r}: {e}"
        return r.returncode, r.stdout, r.stderr


# --------------------------------------------------------------------------- the target


class SSHTarget(Target):
    kind = "ssh"

    def __init__(
        self,
        transport: Transport,
        *,
        remote_dir: str = "/tmp/frontier",
        env_file: str | None = None,
        workdir: str | None = None,
        command_timeout_s: float = 60.0,
        poll_s: float = 0.5,
        fetch_lines: int = 2000,
    ):
        self.transport = transport
        self.remote_dir, self.env_file, self.workdir = remote_dir, env_file, workdir
        self.command_timeout_s, self.poll_s, self.fetch_lines = command_timeout_s, poll_s, fetch_lines
        self._tethers: dict[tuple[str, int], subprocess.Popen] = {}

    def _run(self, host: str, command: str) -> tuple[int, str, str]:
        return self.transport.run(host, command, timeout=self.command_timeout_s)

    def remote_log(self, log_path: str | Path) -> str:
        """The node's log file for an artifacts path: ``remote_dir/<item dir>/<file>``."""
        p = Path(log_path)
        return str(PurePosixPath(self.remote_dir, p.parent.name or "run", p.name))

    def start(self, server: Command, log_path: str | Path, *, name: str | None = None) -> Handle:
        name = name or process_name(server)
        no_secrets_in(server.env, server.argv, name)
        remote = self.remote_log(log_path)
        cmd = start_command(server.argv, remote, env=server.env, env_file=self.env_file, workdir=self.workdir)
        rc, out, err = self._run(server.host, cmd)
        lines = out.strip().splitlines()
        if rc != 0 or not lines or not lines[-1].strip().isdigit():
            why = (err.strip() or out.strip() or f"exit code {rc}").splitlines()[-1]
            raise LaunchError(
                f"{name}: cannot start on {server.host} over ssh: {redact_text(why)}", stage="launch"
            )
        url, paths = http_of(server)
        handle = Handle(
            target=self.kind,
            name=name,
            host=server.host,
            url=url,
            paths=paths,
            pid=int(lines[-1]),
            log=remote,
            local_log=str(log_path),
            started_at=time.time(),
        )
        if self.tether:
            self._open_tether(handle)
        return handle

    def _open_tether(self, handle: Handle) -> None:
        argv = getattr(self.transport, "argv", None)
        if argv is None or handle.pid is None:
            return
        try:
            self._tethers[(handle.host, handle.pid)] = subprocess.Popen(
                argv(handle.host, tether_command(handle.pid)),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            pass

    def _close_tether(self, handle: Handle) -> None:
        t = self._tethers.pop((handle.host, handle.pid or 0), None)
        if t is not None and t.stdin is not None:
            t.stdin.close()  # the node starts stopping the group now

    def lease_path(self, handle: Handle) -> str:
        return str(PurePosixPath(handle.log).with_suffix(".lease"))

    def hold(self, handles: Sequence[Handle], ttl_s: float) -> None:
        """Lease the processes for ``ttl_s`` beyond this driver (the deferrable path)."""
        for handle in handles:
            if handle.pid is None:
                continue
            rc, _, err = self._run(handle.host, lease_command(handle.pid, ttl_s, self.lease_path(handle)))
            if rc != 0:
                raise FrontierError(f"{handle.name}: cannot lease on {handle.host}: {err.strip() or rc}")

    def adopt(self, handles: Sequence[Handle]) -> None:
        """A resumed task takes the processes over: the lease ends, a tether to this task begins."""
        for handle in handles:
            if handle.pid is not None:
                self._run(handle.host, f"rm -f {_q(self.lease_path(handle))}")
                self._open_tether(handle)

    def alive(self, handle: Handle) -> bool:
        if handle.pid is None:
            return False
        rc, _, err = self._run(handle.host, alive_command(handle.pid))
        if rc not in (0, 1):
            raise FrontierError(f"{handle.name}: cannot check {handle.host} over ssh: {err.strip() or rc}")
        return rc == 0

    def stop(self, handle: Handle, grace_s: float = 10.0) -> None:
        if handle.pid is None:
            return
        self._close_tether(handle)
        self._run(handle.host, signal_command(handle.pid, "TERM") + f"; rm -f {_q(self.lease_path(handle))}")
        for _ in range(max(1, math.ceil(grace_s / self.poll_s))):
            if not self.alive(handle):
                break
            time.sleep(self.poll_s)
        else:
            self._run(handle.host, signal_command(handle.pid, "KILL"))
        self._fetch_log(handle)

    def _fetch_log(self, handle: Handle) -> None:
        if not handle.local_log:
            return
        rc, out, _ = self._run(handle.host, tail_command(handle.log, self.fetch_lines))
        if rc == 0 and out:
            p = Path(handle.local_log)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(redact_text(out))

    def log_tail(self, handle: Handle, lines: int = 40) -> str:
        rc, out, _ = self._run(handle.host, tail_command(handle.log, lines))
        return redact_text(out.rstrip("\n")) if rc == 0 else ""


@register_target("ssh", remote=True)
def _make_ssh(plan, options, provided=None, *, transport: Transport | None = None) -> SSHTarget:
    s = options.ssh
    return SSHTarget(
        transport or provided or OpenSSHTransport(),
        remote_dir=s.remote_dir,
        env_file=s.env_file,
        workdir=s.workdir,
        command_timeout_s=s.command_timeout_s,
    )
