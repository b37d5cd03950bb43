"""The watchdog's pure rules (frontier.launch.watchdog): lease, staleness, registry keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontier.launch import watchdog as wd

NOW = 1_000_000.0


def rec(**kw):
    base = {
        "key": "vm-gpus-0_1",
        "machine": "vm",
        "gpus": ["0", "1"],
        "run": "r1",
        "item": "it",
        "name": "single server 0 (http://127.0.0.1:30000)",
        "pgid": 4242,
        "owner": {"pid": 77, "start": 5},
        "lease_until": 0,
    }
    return {**base, **kw}


def test_owner_alive_always_holds_the_group():
    assert not wd.should_stop(rec(), NOW, owner_alive=True)
    assert not wd.should_stop(rec(lease_until=NOW - 1), NOW, owner_alive=True)


def test_owner_gone_stops_unless_a_lease_holds():
    assert wd.should_stop(rec(), NOW, owner_alive=False)
    assert wd.should_stop(rec(lease_until=None), NOW, owner_alive=False)
    assert not wd.should_stop(rec(lease_until=NOW + 30), NOW, owner_alive=False)
    assert wd.should_stop(rec(lease_until=NOW + 30), NOW + 31, owner_alive=False)  # ran out
    assert wd.should_stop(rec(lease_until=NOW), NOW, owner_alive=False)  # the boundary is out


@pytest.mark.parametrize(
    ("owner", "watcher", "lease", "stale"),
    [
        (True, False, 0, False),  # a live run's server is never stale
        (True, True, NOW + 60, False),
        (False, True, NOW + 60, False),  # deferred: the watcher and a lease hold it
        (False, True, 0, True),  # the watcher is about to stop it: so may we
        (False, False, NOW + 60, True),  # nobody left to stop it, whatever the lease says
        (False, False, 0, True),
    ],
)
def test_stale(owner, watcher, lease, stale):
    assert wd.is_stale(rec(lease_until=lease), NOW, owner, watcher) is stale


def test_conflicts_same_machine_and_a_gpu_in_common_or_the_same_key():
    r = rec()
    assert wd.conflicts(r, machine="vm", key="other", gpus=["1", "2"])
    assert not wd.conflicts(r, machine="vm", key="other", gpus=["2", "3"])
    assert not wd.conflicts(r, machine="other-vm", key="vm-gpus-0_1", gpus=["0"])
    sim = rec(key="vm-r1-item-sim-server.log", gpus=[])
    assert wd.conflicts(sim, machine="vm", key="vm-r1-item-sim-server.log", gpus=[])
    assert not wd.conflicts(sim, machine="vm", key="vm-r2-item-sim-server.log", gpus=[])


def test_record_keys():
    assert wd.record_key("vm", ["0", "1"], "r1", "it", "server.log") == "vm-gpus-0_1"
    assert wd.record_key("vm", [], "r1", "it", "sim-server.log") == "vm-r1-it-sim-server.log"
    assert wd.safe_name("a/b c:d") == "a_b_c_d"


@pytest.mark.parametrize(
    ("gpus", "text"),
    [
        ([str(i) for i in range(8)], "0-7"),
        (["0", "2", "3", "4", "7"], "0,2-4,7"),
        (["3"], "3"),
        (["GPU-ab12", "GPU-cd34"], "GPU-ab12,GPU-cd34"),
    ],
)
def test_gpu_ranges(gpus, text):
    assert wd.gpu_ranges(gpus) == text


def test_describe_names_owner_run_and_gpus():
    r = rec(gpus=[str(i) for i in range(8)], owner={"pid": 1234, "start": 9})
    assert wd.describe(r) == (
        "single server 0 (http://127.0.0.1:30000) (process group 4242) left by pid 1234 (run r1) on GPUs 0-7"
    )
    assert wd.describe(rec(gpus=[])).endswith("(run r1) item it (no GPUs)")


def test_state_dir():
    assert wd.state_dir({"FRONTIER_STATE_DIR": "/x/live", "HOME": "/h"}) == Path("/x/live")
    assert wd.state_dir({"HOME": "/h"}) == Path("/h/.cache/frontier/live")


def test_records_round_trip(tmp_path: Path):
    p = tmp_path / "live" / "k.json"
    wd.write_record(p, rec())
    assert wd.read_record(p) == rec()
    assert [r for _, r in wd.records(tmp_path / "live")] == [rec()]
    wd.remove_record(p, pgid=1)  # another server's record now: kept
    assert p.exists()
    wd.remove_record(p, pgid=4242)
    assert not p.exists()
    assert list(wd.records(tmp_path / "missing")) == []


def test_ssh_tether_and_lease_commands():
    from frontier.errors import FrontierError
    from frontier.launch.targets.ssh import lease_command, tether_command

    t = tether_command(4242, grace_s=1)
    assert t.startswith("trap '' HUP; cat > /dev/null; kill -TERM -4242 2>/dev/null;")
    assert t.endswith("kill -KILL -4242 2>/dev/null; true")
    lc = lease_command(4242, 90.5, "/tmp/frontier/it/server.lease")
    assert lc.startswith(
        "set -e; mkdir -p /tmp/frontier/it; echo 4242 > /tmp/frontier/it/server.lease; setsid nohup sh -c"
    )
    assert "sleep 91; if [ -e /tmp/frontier/it/server.lease ]" in lc
    for bad in (0, 1, -5):
        with pytest.raises(FrontierError, match="refusing to signal"):
            tether_command(bad)
