"""The simulated server's fault flags on their own: parsing, determinism, wire behaviour."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from frontier.errors import FrontierError
from frontier.sim import faults as F
from frontier.sim.config import parse_config

pytestmark = pytest.mark.timeout(60)


def test_flags_parse_and_roundtrip_from_spec_keys():
    from frontier.domain.spec import Faults

    f = Faults(
        crash_after=5,
        hang_start=True,
        malformed_sse=0.25,
        http_error=0.1,
        http_status=503,
        cut_stream=0.5,
        slow_tokens=2.0,
        slow_start=1.5,
        hang_after=7,
        oom_start=True,
    )
    argv = F.to_argv(f.flags())
    cfg = parse_config(["--seed", "4", *argv])
    assert cfg.faults == F.FaultConfig(**f.model_dump(), seed=4)
    assert "fault_crash_after" not in cfg.server_args  # not an SGLang server arg
    assert parse_config([]).faults.any is False
    assert F.to_argv(Faults().flags()) == []


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["--fault-http-status", "404"], "--fault-http-status must be one of [500, 503]"),
        (["--fault-malformed-sse", "2"], "--fault-malformed-sse is a rate between 0 and 1"),
        (["--fault-crash-after", "-1"], "--fault-crash-after must be a whole number"),
        (["--fault-slow-tokens", "0.5"], "--fault-slow-tokens is a slowdown factor >= 1"),
        (["--fault-slow-start", "-3"], "--fault-slow-start is seconds >= 0"),
    ],
)
def test_bad_fault_flags_name_the_flag(argv, fragment):
    with pytest.raises(FrontierError, match="^" + fragment.replace("[", r"\[").replace("]", r"\]")):
        parse_config(argv)


def test_request_faults_are_deterministic_per_seed():
    cfg = F.FaultConfig(http_error=0.3, malformed_sse=0.3, cut_stream=0.3, seed=7)

    def draws(c):
        s = F.FaultState(c)
        return [(r.http_error, r.malformed, r.cut) for r in (s.arrive() for _ in range(50))]

    a, b = draws(cfg), draws(cfg)
    assert a == b
    assert draws(F.FaultConfig(http_error=0.3, malformed_sse=0.3, cut_stream=0.3, seed=8)) != a
    kinds = {(e is not None, m, c) for e, m, c in a}
    assert {(True, False, False), (False, True, False), (False, False, True), (False, False, False)} <= kinds
    # one fault's rate does not move which requests another fault hits
    only_err = draws(F.FaultConfig(http_error=0.3, seed=7))
    assert [e for e, _, _ in only_err] == [e for e, _, _ in a]


def test_hang_after_freezes_on_request_n_plus_one():
    s = F.FaultState(F.FaultConfig(hang_after=2))
    s.arrive(), s.arrive()
    assert not s.frozen
    s.arrive()
    assert s.frozen


def test_oom_start_prints_sglang_oom_and_exits_1():
    out = subprocess.run(
        [sys.executable, "-m", "frontier.sim.launch_server", "--port", "0", "--fault-oom-start"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 1
    assert "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate" in out.stderr
    assert "Scheduler hit an exception" in out.stderr
    assert "fired up" not in out.stdout


def test_http_errors_follow_the_seed_over_http(tmp_path):
    """Same seed, same request order -> the same requests fail, with the configured status."""
    import json
    import urllib.error
    import urllib.request

    from frontier.launch.http import free_port
    from frontier.launch.targets.local import LocalTarget
    from frontier.planning.launch_plan import ServerCommand

    def statuses(seed: int) -> list[int]:
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "frontier.sim.launch_server",
            "--port",
            str(port),
            "--time-scale",
            "20",
            "--seed",
            str(seed),
            "--fault-http-error",
            "0.5",
            "--fault-http-status",
            "503",
        ]
        target = LocalTarget()
        cmd = ServerCommand("single", 0, 0, 0, 1, "127.0.0.1", port, 0, argv, f"http://127.0.0.1:{port}")
        h = target.start(cmd, tmp_path / f"s{seed}-{time.monotonic_ns()}.log")
        h.paths = ["/health"]  # /health_generate may draw an injected error itself
        try:
            target.wait_ready(h, 20)
            out = []
            for _ in range(10):
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/generate",
                    data=json.dumps({"text": "a b c", "sampling_params": {"max_new_tokens": 2}}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        out.append(r.status)
                except urllib.error.HTTPError as e:
                    body = json.loads(e.read())
                    assert "frontier fault injection" in body["error"]["message"]
                    out.append(e.code)
            return out
        finally:
            target.stop(h)

    a = statuses(11)
    assert set(a) == {200, 503}
    assert statuses(11) == a
