"""The ladder runs through the load generator's ladder runner: a point whose expected stream-event
rate is above ``load.shard_above_events_s`` is driven by several client processes, both in
``frontier run`` and in the DAG's benchmark task (its operator, in process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support import LLAMA, q

pytestmark = pytest.mark.timeout(240)

SPEC = {
    "name": "sharding",
    "engine": "sim",
    "scenarios": [{"name": "t", "isl": 16, "osl": 16}],
    "concurrencies": [1, 4],
    "load": {
        "num_prompts": 8,
        "warmup_multiplier": 0,
        # a few hundred events/s at c=1 already exceeds this: c=4 must shard, over 2 processes
        "shard_above_events_s": 1,
        "max_client_processes": 2,
    },
    "sim": {"time_scale": 4},
    "ready_timeout_s": 30,
    "matrix": [{"model": LLAMA, "hardware": "h100_sxm", "labels": ["TP1"]}],
}


def _check(wh: Path) -> None:
    rows = q(wh, "points", "select max_concurrency, client_processes, status, completed from t order by 1")
    assert rows == [(1, 1, "ok", 8), (4, 2, "ok", 8)], rows
    # every measured request of the sharded point landed once (merged from both shards)
    n = q(wh, "requests", "select count(*), count(distinct request_index) from t where max_concurrency = 4")
    assert n == [(8, 8)]


def test_frontier_run_shards_a_high_rate_point(tmp_path: Path, capsys):
    from frontier.cli.main import main

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    wh, art = tmp_path / "wh", tmp_path / "art"
    code = main(["run", str(spec), "--warehouse", str(wh), "--artifacts", str(art), "--no-publish"])
    assert code == 0, capsys.readouterr()
    _check(wh)
    (outcome,) = [json.loads(p.read_text()) for p in art.rglob("outcome.json")]
    assert outcome["client_processes"] == {"1": 1, "4": 2}


def test_dag_benchmark_task_shards_a_high_rate_point(tmp_path: Path):
    from frontier.domain.spec import parse_spec
    from frontier.planning.planner import plan
    from operators.frontier_ops import BenchmarkDeploymentOperator

    spec = parse_spec(SPEC)
    path = tmp_path / "spec.json"
    path.write_text(spec.model_dump_json())
    (item,) = plan(spec)
    op = BenchmarkDeploymentOperator(
        task_id="benchmark",
        deferrable=False,
        entry={"spec_path": str(path), "key": item.key, "item": item.redacted().model_dump(mode="json")},
    )
    context = {
        "params": {"warehouse": str(tmp_path / "wh"), "artifacts": str(tmp_path / "art")},
        "run_id": "shard-1",
        "dag_run": None,
    }
    out = op.execute(context)
    assert out["status"] == "success" and out["client_processes"] == {1: 1, 4: 2}, out
    _check(tmp_path / "wh")
