"""No server outlives its driver: a parent-death watchdog and a registry of live deployments.

Every local server process (:class:`frontier.launch.process.ManagedProcess`) gets, beside its
own process group, a tiny watcher process (this file run as a script: pure standard library, so
it also runs where ``frontier`` is not installed) in a session of its own, so that a kill of the
driver's process group does not take it along. The watcher polls, every ``POLL_S``:

- the **record** (``$FRONTIER_STATE_DIR/<key>.json``, default ``~/.cache/frontier/live``): who
  owns the group (pid + start time, so a reused pid is not mistaken for the owner) and until when
  a **lease** holds it without an owner (``lease_until``, epoch seconds);
- the owner: when it is gone and no lease holds, the group gets SIGTERM, ``GRACE_S`` later
  SIGKILL, and the record is removed;
- the group: when it ended on its own (a normal stop), the watcher removes the record and exits.

The deferrable path (``frontier.launch.start`` then a resumed task's ``frontier.launch.attach``)
lets servers outlive the task that started them: ``start`` gives each record a lease of
``ready_timeout_s`` + ``LEASE_MARGIN_S`` (``LocalTarget.hold`` -> :func:`hold`), and ``attach``
makes the resumed task the owner (``LocalTarget.adopt`` -> :func:`adopt`), so a deferred
deployment whose task never resumes is still stopped when its lease runs out.

The same records are the registry that a later launch checks first (:func:`stop_stale`): a record
for the same GPUs on this machine (sim: the same run, item and log) whose owner is gone and whose
watcher is gone too (or whose lease ran out) is a stale deployment: its group is stopped, and the
log says so. Nothing is signalled unless ``/proc`` shows the very process recorded (its start
time matches) or, the leader gone, members of its still-existing group (a pid is not reused while
its process group lives).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STATE_ENV = "FRONTIER_STATE_DIR"
POLL_S = 0.5
GRACE_S = 5.0
LEASE_MARGIN_S = 120.0

log = logging.getLogger("frontier.launch.watchdog")


# --------------------------------------------------------------------------- pure logic


def state_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(STATE_ENV):
        return Path(env[STATE_ENV])
    return Path(env.get("HOME") or Path.home()) / ".cache" / "frontier" / "live"


def record_key(machine: str, gpus: list[str], run: str, item: str, log_name: str) -> str:
    """GPU servers: one per machine and GPU set; the simulated engine (no GPUs): run + item + log."""
    if gpus:
        return f"{machine}-gpus-{'_'.join(gpus)}"
    return f"{machine}-{run}-{item}-{log_name}"


def safe_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)[:200]


def gpu_ranges(gpus: Iterable[str]) -> str:
    """``["0","1","2","3"]`` -> ``"0-3"``; ``["0","2","3"]`` -> ``"0,2-3"``; ids that are not
    numbers (GPU UUIDs) are listed as they are."""
    ids = list(gpus)
    if not all(g.isdigit() for g in ids):
        return ",".join(ids)
    nums = sorted({int(g) for g in ids})
    out: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    return ",".join(out)


def lease_held(rec: dict[str, Any], now: float) -> bool:
    return now < float(rec.get("lease_until") or 0)


def should_stop(rec: dict[str, Any], now: float, owner_alive: bool) -> bool:
    """The watcher's rule: the group lives while its owner does or a lease holds it."""
    return not owner_alive and not lease_held(rec, now)


def conflicts(rec: dict[str, Any], *, machine: str, key: str, gpus: list[str]) -> bool:
    """Whether a record stands in the way of a new server: same machine, and the same key or a
    GPU in common."""
    if rec.get("machine") != machine:
        return False
    return rec.get("key") == key or bool(set(gpus) & set(rec.get("gpus") or []))


def is_stale(rec: dict[str, Any], now: float, owner_alive: bool, watcher_alive: bool) -> bool:
    """Left behind: its owner is gone, and nothing will stop it (no watcher) or no lease holds it."""
    return not owner_alive and (not watcher_alive or not lease_held(rec, now))


def describe(rec: dict[str, Any]) -> str:
    gpus = rec.get("gpus") or []
    where = f"on GPUs {gpu_ranges(gpus)}" if gpus else f"item {rec.get('item')} (no GPUs)"
    owner = (rec.get("owner") or {}).get("pid")
    return (
        f"{rec.get('name', 'server')} (process group {rec.get('pgid')}) left by pid {owner} "
        f"(run {rec.get('run')}) {where}"
    )


# --------------------------------------------------------------------------- /proc


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time in clock ticks) of a process, None when there is none."""
    try:
        text = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2]), int(fields[19])


def proc_start(pid: int) -> int | None:
    st = proc_stat(pid)
    return st[2] if st else None


def proc_alive(pid: int | None, start: int | None) -> bool:
    """The very process recorded (same start time) still runs (zombies do not count)."""
    if not pid:
        return False
    st = proc_stat(pid)
    return st is not None and st[0] != "Z" and (start is None or st[2] == start)


def group_members(pgid: int) -> list[int]:
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            st = proc_stat(int(entry.name))
            if st is not None and st[1] == pgid and st[0] != "Z":
                out.append(int(entry.name))
    return out


def group_alive(pgid: int, leader_start: int | None) -> bool:
    """Members of the recorded group remain: the leader itself (same start time), or, the leader
    gone, other members (its pid, being a live process group id, cannot have been reused)."""
    if not pgid or pgid <= 1:
        return False
    leader = proc_stat(pgid)
    if leader is not None and leader[0] != "Z":
        return leader_start is None or leader[2] == leader_start
    return bool(group_members(pgid))


def stop_group(pgid: int, leader_start: int | None, grace_s: float = GRACE_S) -> bool:
    """SIGTERM the recorded group, wait up to ``grace_s``, SIGKILL it. True when it is gone."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 3.0)):
        if not group_alive(pgid, leader_start):
            return True
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and group_alive(pgid, leader_start):
            time.sleep(0.05)
    return not group_alive(pgid, leader_start)


# --------------------------------------------------------------------------- records


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def write_record(path: Path, rec: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(rec, indent=1))
    os.replace(tmp, path)


def remove_record(path: Path, pgid: int | None = None) -> None:
    """Remove a record (only if it still names ``pgid``: a newer server may have taken the key)."""
    if pgid is not None:
        rec = read_record(path)
        if rec is not None and rec.get("pgid") != pgid:
            return
    try:
        Path(path).unlink()
    except OSError:
        pass


def records(directory: Path | None = None) -> Iterator[tuple[Path, dict[str, Any]]]:
    d = Path(directory) if directory is not None else state_dir()
    if not d.is_dir():
        return
    for p in sorted(d.glob("*.json")):
        rec = read_record(p)
        if rec is not None:
            yield p, rec


def find_record(pgid: int, machine: str | None = None) -> tuple[Path, dict[str, Any]] | None:
    machine = machine or socket.gethostname()
    for p, rec in records():
        if rec.get("pgid") == pgid and rec.get("machine") == machine:
            return p, rec
    return None


def _owner_alive(rec: dict[str, Any]) -> bool:
    owner = rec.get("owner") or {}
    return proc_alive(owner.get("pid"), owner.get("start"))


def _watcher_alive(rec: dict[str, Any]) -> bool:
    w = rec.get("watcher") or {}
    return proc_alive(w.get("pid"), w.get("start"))


# --------------------------------------------------------------------------- the driver's side


def enabled() -> bool:
    return os.environ.get("FRONTIER_WATCHDOG", "1") not in ("0", "false", "no", "off")


def stop_stale(key: str, gpus: list[str], machine: str | None = None, say=None) -> list[str]:
    """Stop what stale records of this machine hold of ``key`` / ``gpus``; returns the messages."""
    machine = machine or socket.gethostname()
    say = say or log.warning
    out = []
    now = time.time()
    for path, rec in records():
        if not conflicts(rec, machine=machine, key=key, gpus=gpus):
            continue
        pgid, pg_start = int(rec.get("pgid") or 0), rec.get("pgid_start")
        if not group_alive(pgid, pg_start):
            remove_record(path, pgid)
            continue
        if not is_stale(rec, now, _owner_alive(rec), _watcher_alive(rec)):
            continue
        msg = f"stopping stale deployment {describe(rec)}"
        say(msg)
        out.append(msg)
        w = rec.get("watcher") or {}
        if proc_alive(w.get("pid"), w.get("start")):
            try:
                os.kill(w["pid"], signal.SIGKILL)
            except OSError:
                pass
        stop_group(pgid, pg_start)
        remove_record(path, pgid)
    return out


def _record_for(proc: Any) -> tuple[str, dict[str, Any]]:
    """The record of a ManagedProcess (``argv``, ``log_path``, ``env``, ``name``), before start."""
    machine = socket.gethostname()
    gpus = [g for g in (proc.env or {}).get("CUDA_VISIBLE_DEVICES", "").split(",") if g]
    log_path = Path(proc.log_path).resolve()
    run, item = log_path.parent.parent.name, log_path.parent.name
    key = record_key(machine, gpus, run, item, log_path.name)
    return key, {
        "key": key,
        "machine": machine,
        "gpus": gpus,
        "run": run,
        "item": item,
        "name": proc.name,
        "log": str(log_path),
        "argv": list(proc.argv)[:20],
        "owner": {"pid": os.getpid(), "start": proc_start(os.getpid())},
        "lease_until": 0,
    }


@contextmanager
def guarded(proc: Any) -> Iterator[None]:
    """Around ``Popen`` in ``ManagedProcess.start``: first stop stale servers of the same GPUs /
    key (the message also goes to the new server's log), then record the started group and start
    its watcher."""
    if not enabled():
        yield
        return
    key, rec = _record_for(proc)

    def say(msg: str) -> None:
        log.warning("%s", msg)
        try:
            with open(proc.log_path, "a") as f:
                f.write(f"[frontier] {msg}\n")
        except OSError:
            pass

    try:
        stop_stale(key, rec["gpus"], rec["machine"], say)
    except OSError as e:  # the registry is a safety net: never the reason a launch fails
        log.warning("cannot check stale deployments in %s: %s", state_dir(), e)
    yield
    if getattr(proc, "proc", None) is None:
        return
    pgid = proc.proc.pid
    rec.update(pgid=pgid, pgid_start=proc_start(pgid), started_at=time.time())
    path = state_dir() / f"{safe_name(key)}.json"
    try:
        write_record(path, rec)
        w = subprocess.Popen(
            [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "--record", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        rec["watcher"] = {"pid": w.pid, "start": proc_start(w.pid)}
        write_record(path, rec)
        proc._watch = (path, w)
    except OSError as e:
        log.warning("%s: no watchdog (%s): it may outlive a killed driver", proc.name, e)


def release(proc: Any) -> None:
    """After a normal stop: the record goes (its watcher exits once it sees the group gone)."""
    watch = getattr(proc, "_watch", None)
    if watch is not None:
        path, w = watch
        remove_record(path, proc.proc.pid if proc.proc is not None else None)
        if w.poll() is None:
            w.terminate()
        try:
            w.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass


def _update(pgids: Iterable[int], **changes: Any) -> int:
    n = 0
    for pgid in pgids:
        found = find_record(pgid)
        if found is not None:
            path, rec = found
            rec.update(changes)
            write_record(path, rec)
            n += 1
    return n


def hold(pgids: Iterable[int], ttl_s: float) -> int:
    """Lease the groups for ``ttl_s`` beyond their owner (the deferrable path, before deferring)."""
    return _update(pgids, lease_until=time.time() + ttl_s)


def adopt(pgids: Iterable[int]) -> int:
    """This process (a resumed task) owns the groups now; their lease ends (``attach``)."""
    me = {"pid": os.getpid(), "start": proc_start(os.getpid())}
    return _update(pgids, owner=me, lease_until=0)


# --------------------------------------------------------------------------- the watcher


def watch(path: Path, poll_s: float = POLL_S, grace_s: float = GRACE_S) -> str:
    """The watcher's loop; returns why it ended."""
    rec = read_record(path)
    if rec is None:
        return "no record"
    pgid, pg_start = int(rec["pgid"]), rec.get("pgid_start")
    while True:
        rec = read_record(path)
        if rec is None or rec.get("pgid") != pgid:
            return "released"
        if not group_alive(pgid, pg_start):
            remove_record(path, pgid)
            return "group ended"
        if should_stop(rec, time.time(), _owner_alive(rec)):
            stop_group(pgid, pg_start, grace_s)
            remove_record(path, pgid)
            return "owner gone: group stopped"
        time.sleep(poll_s)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="stop a server's process group once its owner is gone")
    ap.add_argument("--record", required=True, help="the deployment's record (JSON) in the state dir")
    ap.add_argument("--poll-s", type=float, default=POLL_S)
    ap.add_argument("--grace-s", type=float, default=GRACE_S)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    watch(Path(args.record), args.poll_s, args.grace_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
