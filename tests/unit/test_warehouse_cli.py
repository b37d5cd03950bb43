"""frontier query / audit / compact handlers through their own argparse registration."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from frontier.warehouse import Warehouse
from frontier.warehouse.cli import register


def parse(*argv):
    ap = argparse.ArgumentParser()
    register(ap.add_subparsers())
    return ap.parse_args(argv)


def point(mc, completed=10):
    return {
        "label": "TP8",
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "hardware": "h100_sxm",
        "precision": "fp8",
        "scenario": "1k1k",
        "gpus": 8,
        "max_concurrency": mc,
        "completed": completed,
        "total_token_throughput": 800.0 * mc,
        "median_tpot_ms": 5.0 * mc,
        "status": "ok",
    }


def test_query_audit_compact(tmp_path, capsys):
    wh = Warehouse(tmp_path)
    wh.write("points", [point(1), point(2)], run_id="r1", run_date=dt.date(2026, 11, 25))
    ns = parse("query", "frontier_points", "--warehouse", str(tmp_path), "--format", "json", "--run-id", "r1")
    assert ns.handler(ns) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["max_concurrency"] for r in out] == [2, 1] and all(r["on_label_frontier"] for r in out)
    ns = parse("query", "SELECT count(*) AS n FROM points", "--warehouse", str(tmp_path), "--format", "csv")
    assert ns.handler(ns) == 0 and capsys.readouterr().out.split() == ["n", "2"]
    ns = parse("query", "label_summary", "--warehouse", str(tmp_path))
    assert ns.handler(ns) == 0 and "TP8" in capsys.readouterr().out
    ns = parse("audit", "--warehouse", str(tmp_path), "--check")
    assert ns.handler(ns) == 0
    wh.write("points", [point(4, completed=0)], run_id="r1", run_date=dt.date(2026, 11, 25), part="bad")
    assert ns.handler(ns) == 1 and "zero_completed: FAIL (1 rows)" in capsys.readouterr().err
    ns = parse("compact", "--warehouse", str(tmp_path), "--table", "points", "--run-date", "2026-11-25")
    assert ns.handler(ns) == 0 and len(wh.parts("points")) == 1
