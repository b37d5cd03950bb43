"""Issue 10: every injected fault, end to end through ``frontier.run.run_sweep``.

Each row runs a tiny sweep (ISL 16, OSL 4, ladder [1, 2], 4 prompts per point) with two labels:
the faulted one first (TP2) and a healthy one after it (TP1), on real simulated-server processes
over real HTTP, landing real Parquet. Every row checks: what the fault's points record in
``failures`` (a reason a human understands, the server log for launch faults), that the healthy
label landed, the run's time bound, that no server process survives (by PID and process group),
that the warehouse holds no temp or half file, and that the server log is kept as an artifact.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from pathlib import Path

import duckdb
import pytest

from frontier.domain.spec import parse_spec
from frontier.planning.planner import plan
from frontier.run import RunContext, run_sweep
from tests.support import TINY_SIM_SPEC, group_gone, q, sim_children

pytestmark = pytest.mark.timeout(120)


def make_spec(faults: dict | None = None, **top) -> object:
    data = copy.deepcopy(TINY_SIM_SPEC)
    data.update(top)
    if faults is not None:
        data["matrix"][0]["faults"] = {"TP2": faults}
    return parse_spec(data)


class Run:
    def __init__(self, spec, tmp: Path, run_id: str = "rel-1", **kw) -> None:
        self.spec, self.tmp, self.run_id = spec, tmp, run_id
        self.wh, self.art = tmp / "wh", tmp / "art"
        self.ctx = RunContext(run_id, dt.date(2026, 3, 1), str(self.wh), str(self.art))
        self.pids: dict[str, list[int]] = {}
        self.messages: list[str] = []
        self.items = {it.label: it for it in plan(spec)}
        t0 = time.monotonic()

        def started(dep):
            key = "TP2" if "TP2" in dep.commands[0] else "TP1"
            self.pids.setdefault(key, []).extend(dep.pids())

        kw.setdefault("retry_delay_s", 0.2)
        self.status, self.outcomes = run_sweep(
            spec, self.ctx, progress=self.messages.append, on_started=started, **kw
        )
        self.elapsed = time.monotonic() - t0
        self.by_label = {o["label"]: o for o in self.outcomes}

    def failures(self, label: str = "TP2") -> list[tuple]:
        return q(
            self.wh,
            "failures",
            f"select max_concurrency, stage, reason, log_tail from t "
            f"where label = '{label}' order by max_concurrency nulls first",
        )

    def points(self, label: str) -> list[tuple]:
        return q(
            self.wh,
            "points",
            f"select max_concurrency, status, completed, failed, error_rate, "
            f"median_tpot_ms from t where label = '{label}' order by 1",
        )

    def log(self, label: str = "TP2") -> str:
        return (self.art / self.run_id / self.items[label].key / "sim-server.log").read_text()

    def check_common(self, max_s: float) -> None:
        assert self.elapsed < max_s, f"run took {self.elapsed:.1f} s (bound {max_s} s)"
        # no server process left, by PID and by process group
        assert self.pids.get("TP2") and self.pids.get("TP1"), self.pids
        for pid in [p for ps in self.pids.values() for p in ps]:
            assert group_gone(pid), f"server process {pid} survived"
        assert not sim_children()
        # the healthy label after the faulted one landed both points
        assert self.by_label["TP1"]["status"] == "success", self.by_label["TP1"]
        assert [(r[0], r[1]) for r in self.points("TP1")] == [(1, "ok"), (2, "ok")]
        # no temp or half file: every Parquet file reads in full
        assert not [p for p in self.wh.rglob("*") if p.name.endswith(".tmp")]
        for f in self.wh.rglob("*.parquet"):
            duckdb.sql(f"select count(*) from read_parquet('{f}')").fetchall()
        # each label's server log and outcome kept next to the run
        for label in ("TP1", "TP2"):
            d = self.art / self.run_id / self.items[label].key
            assert (d / "sim-server.log").is_file() and (d / "outcome.json").is_file()
        runs = q(self.wh, "runs", "select status from t")
        assert runs == [(self.status,)]


def publish_and_read(run: Run) -> str:
    from frontier.site import publish

    index = publish(str(run.wh), str(run.tmp / "site"), run_id=run.run_id, png=False)
    site = Path(index).parent
    return "\n".join(p.read_text() for p in site.rglob("*.html"))


# ---- launch faults ------------------------------------------------------------------------------
def test_oom_at_start_is_retried_then_recorded_with_the_log(tmp_path):
    run = Run(make_spec({"oom_start": True}), tmp_path, launch_attempts=2)
    run.check_common(max_s=40)
    tp2 = run.by_label["TP2"]
    assert tp2["status"] == "failed" and tp2["points_failed"] == 2
    (f,) = run.failures()
    assert f[0] is None and f[1] == "launch"
    assert "exited with code 1 before becoming healthy" in f[2]
    assert "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate" in f[2]
    assert "failed 2 launch attempts" in f[2]
    assert "Load weight begin" in f[3] and "Scheduler hit an exception" in f[3]  # first + last lines
    assert run.log().count("Load weight begin") == 2  # two attempts, one log kept
    assert any("retrying" in m for m in run.messages)
    assert run.status == "partial"
    html = publish_and_read(run)
    assert "failure(s)" in html and "CUDA out of memory" in html


def test_hang_at_start_fails_within_ready_timeout(tmp_path):
    spec = make_spec({"hang_start": True}, ready_timeout_s=2)
    run = Run(spec, tmp_path, launch_attempts=1)
    run.check_common(max_s=30)
    (f,) = run.failures()
    assert f[1] == "readiness"
    assert "not healthy at http://127.0.0.1:" in f[2] and "within 2 s (no answer)" in f[2]
    assert "Uvicorn running on http://127.0.0.1" in f[3]  # the log tail rides along
    assert "fired up" not in run.log()


def test_slow_start_within_ready_timeout_is_fine(tmp_path):
    run = Run(make_spec({"slow_start": 1.5}), tmp_path)
    run.check_common(max_s=40)
    assert run.by_label["TP2"]["status"] == "success"
    assert run.failures() == []


def test_slow_start_beyond_ready_timeout_fails_each_attempt(tmp_path):
    spec = make_spec({"slow_start": 60}, ready_timeout_s=1.5)
    run = Run(spec, tmp_path, launch_attempts=2)
    run.check_common(max_s=40)
    (f,) = run.failures()
    assert f[1] == "readiness" and "within 1.5 s" in f[2] and "failed 2 launch attempts" in f[2]


# ---- the server dies or freezes mid-ladder ------------------------------------------------------
def test_crash_mid_ladder_fails_the_rest_with_the_reason(tmp_path):
    run = Run(make_spec({"crash_after": 2}), tmp_path)
    run.check_common(max_s=40)
    fails = run.failures()
    assert [f[0] for f in fails] == [1, 2]
    assert "requests failed" in fails[0][2] and "exited with code 1" in fails[0][2]
    assert "illegal memory access" in fails[0][2]
    assert "Scheduler hit an exception" in fails[0][3]
    assert fails[1][2].startswith("not run: the deployment is gone (sim server TP2 exited with code 1")
    assert [r[1] for r in run.points("TP2")] == ["failed"]  # c=2 never ran: no point row
    assert run.by_label["TP2"]["status"] == "failed"
    html = publish_and_read(run)
    assert "not run: the deployment is gone" in html


def test_hang_mid_stream_is_detected_and_the_rest_not_run(tmp_path):
    run = Run(make_spec({"hang_after": 2}), tmp_path)
    run.check_common(max_s=40)
    fails = run.failures()
    assert [f[0] for f in fails] == [1, 2]
    assert "timeout: no complete response within 2 s" in fails[0][2]
    assert "no longer healthy (no answer" in fails[0][2]
    assert fails[1][2].startswith("not run: the deployment is gone")
    assert "frozen after 2 request(s)" in run.log()


# ---- per-request faults -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "faults,fragment",
    [
        ({"malformed_sse": 1.0}, "JSONDecodeError"),
        ({"http_error": 1.0, "http_status": 500}, "HTTP 500 Internal Server Error"),
        ({"http_error": 1.0, "http_status": 503}, "HTTP 503 Service Unavailable"),
        ({"cut_stream": 1.0}, "stream dropped"),
    ],
    ids=["malformed-sse", "http-500", "http-503", "cut-stream"],
)
def test_request_faults_above_max_error_rate_fail_the_points(tmp_path, faults, fragment):
    run = Run(make_spec(faults), tmp_path)
    run.check_common(max_s=40)
    pts = run.points("TP2")
    assert [(r[0], r[1], r[3], r[4]) for r in pts] == [(1, "failed", 4, 1.0), (2, "failed", 4, 1.0)]
    fails = run.failures()
    assert [f[0] for f in fails] == [1, 2]
    for f in fails:
        assert f[1] == "point" and "4 of 4 requests failed (100% > max_error_rate 5%)" in f[2]
        assert fragment in f[2]
    errors = q(run.wh, "requests", "select count(*) from t where label = 'TP2' and not success")
    assert errors == [(8,)]


def test_request_errors_below_max_error_rate_keep_the_points(tmp_path):
    spec = make_spec({"http_error": 0.3, "http_status": 503}, max_error_rate=0.75)
    run = Run(spec, tmp_path)
    run.check_common(max_s=40)
    pts = run.points("TP2")
    assert [r[1] for r in pts] == ["ok", "ok"]
    assert sum(r[3] for r in pts) > 0 and all(r[4] <= 0.75 for r in pts)  # error rate recorded
    assert run.failures() == []
    assert run.by_label["TP2"]["status"] == "success"


def test_slow_tokens_lands_slower_points(tmp_path):
    run = Run(make_spec({"slow_tokens": 4}), tmp_path)
    run.check_common(max_s=40)
    slow = {r[0]: r[5] for r in run.points("TP2")}
    fast = {r[0]: r[5] for r in run.points("TP1")}
    assert [r[1] for r in run.points("TP2")] == ["ok", "ok"]
    assert slow[1] > 2 * fast[1], (slow, fast)  # TP2 is normally a bit faster than TP1


# ---- idempotence and concurrency -----------------------------------------------------------------
def test_rerun_same_run_id_replaces_and_concurrent_runs_both_land(tmp_path):
    import threading

    spec = make_spec({"http_error": 1.0})
    first = Run(spec, tmp_path)
    second = Run(make_spec(), tmp_path)  # same run id, no fault this time
    assert second.status == "success"
    assert q(second.wh, "points", "select count(*), count(distinct label) from t") == [(4, 2)]
    assert q(second.wh, "failures", "select count(*) from t") in ([], [(0,)])
    assert q(second.wh, "runs", "select count(*) from t") == [(1,)]
    n_req = q(second.wh, "requests", "select count(*) from t")[0][0]
    assert n_req == 16 and first.status == "partial"

    out: dict[str, Run] = {}
    errors: list[BaseException] = []

    def go(run_id: str) -> None:
        try:
            out[run_id] = Run(make_spec(), tmp_path / "shared", run_id=run_id)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=go, args=(r,)) for r in ("conc-a", "conc-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not errors, errors
    wh = tmp_path / "shared" / "wh"
    rows = q(wh, "points", "select run_id, count(*), count(distinct label) from t group by 1 order by 1")
    assert rows == [("conc-a", 4, 2), ("conc-b", 4, 2)]
    assert q(wh, "runs", "select run_id, status from t order by 1") == [
        ("conc-a", "success"),
        ("conc-b", "success"),
    ]
