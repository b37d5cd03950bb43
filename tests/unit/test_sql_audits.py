"""Every audit finds its planted bad row and passes on clean data."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from frontier.warehouse import Warehouse, connect, run_audits, run_model
from tests.support import point_row

M, H = "meta-llama/Llama-3.1-8B-Instruct", "h100_sxm"
D1 = dt.date(2026, 11, 25)


def pt(label="TP8", mc=4, gpus=8, tok_s_gpu=1000.0, tok_s_user=50.0, **kw):
    return point_row(label, mc, tok_s_gpu, tok_s_user, gpus=gpus, **{"completed": 40, **kw})


def req(i, mc=4, out=1024, success=True):
    return {
        "label": "TP8",
        "model": M,
        "hardware": H,
        "precision": "fp8",
        "scenario": "1k1k",
        "max_concurrency": mc,
        "request_index": i,
        "output_tokens": out,
        "success": success,
    }


@pytest.fixture()
def clean(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write("points", [pt(mc=4), pt(mc=8)], run_id="good", run_date=D1)
    wh.write("requests", [req(0), req(1)], run_id="good", run_date=D1)
    wh.write(
        "deployments",
        [{"label": "TP8", "model": M, "hardware": H, "precision": "fp8", "scenario": "1k1k", "gpus": 8}],
        run_id="good",
        run_date=D1,
    )
    return wh


def test_clean_warehouse_passes(clean):
    results = run_audits(connect(clean.root))
    assert set(results) == {
        "zero_completed",
        "physical_bound",
        "gpu_count_mismatch",
        "duplicate_point_keys",
        "output_tokens_mismatch",
    }
    assert all(df.empty for df in results.values()), {k: len(v) for k, v in results.items()}


@pytest.mark.parametrize(
    "audit, table, rows, expect",
    [
        ("zero_completed", "points", [pt(mc=16, completed=0)], {"max_concurrency": 16}),
        # Llama 8B fp8 on H100: 1979e12 / (2 * 8.03e9) * 1.5 = 184,838 tok/s/GPU at most
        ("physical_bound", "points", [pt(mc=16, tok_s_gpu=250_000.0)], {"max_concurrency": 16}),
        # 8 GPUs * 3.35e12 B/s / 8.03e9 B * 4 = 13,350 tok/s/user at most
        ("physical_bound", "points", [pt(mc=16, tok_s_user=20_000.0)], {"max_concurrency": 16}),
        ("gpu_count_mismatch", "points", [pt(label="SEP4+1xDEP8", mc=16, gpus=8)], {"label_gpus": 12}),
        ("gpu_count_mismatch", "points", [pt(label="XYZ8", mc=16)], {"label": "XYZ8"}),
        (
            "gpu_count_mismatch",
            "deployments",
            [{"label": "TP4", "model": M, "hardware": H, "precision": "fp8", "scenario": "1k1k", "gpus": 8}],
            {"label_gpus": 4},
        ),
        ("duplicate_point_keys", "points", [pt(mc=32), pt(mc=32)], {"rows": 2}),
        ("output_tokens_mismatch", "requests", [req(7, out=1000)], {"request_index": 7}),
    ],
)
def test_audit_finds_planted_row(clean, audit, table, rows, expect):
    clean.write(table, rows, run_id="bad", run_date=D1, part="planted")
    if table == "requests":  # the run's OSL comes from its deployment (no points in this run)
        clean.write(
            "deployments",
            [
                {
                    "label": "TP8",
                    "model": M,
                    "hardware": H,
                    "precision": "fp8",
                    "scenario": "1k1k",
                    "gpus": 8,
                    "osl": 1024,
                }
            ],
            run_id="bad",
            run_date=D1,
            part="planted",
        )
    con = connect(clean.root)
    results = run_audits(con)
    offending = results.pop(audit)
    assert len(offending) == 1, offending
    assert offending.iloc[0].run_id == "bad"
    for k, v in expect.items():
        assert offending.iloc[0][k] == v
    assert all(df.empty for df in results.values()), {k: len(v) for k, v in results.items()}
    assert run_audits(con, run_id="good")[audit].empty
    assert len(run_model(con, audit, run_id="bad")) == 1


def test_failed_requests_and_failed_points_are_not_flagged(clean):
    clean.write("requests", [req(9, out=3, success=False)], run_id="good", run_date=D1, part="x")
    clean.write("points", [pt(mc=64, completed=0, status="failed")], run_id="good", run_date=D1, part="x")
    results = run_audits(connect(clean.root))
    assert results["output_tokens_mismatch"].empty and results["zero_completed"].empty


def test_physical_bound_factor_is_a_parameter(clean):
    con = connect(clean.root)
    assert len(run_model(con, "physical_bound", compute_factor=0.001)) == 2


@pytest.mark.parametrize("time_scale, flagged", [(None, True), (4, False), (1.25, True)])
def test_physical_bound_reads_a_simulated_servers_time_scale(clean, time_scale, flagged):
    """A sim server run with --time-scale F plays F x faster than its hardware: its bounds are F x."""
    from frontier.planning.sglang_args import build_sim_command

    cmd = build_sim_command("TP8", M, H, "fp8", time_scale=time_scale)
    dep = {"label": "TP8", "model": M, "hardware": H, "precision": "fp8", "scenario": "1k1k", "gpus": 8}
    clean.write("deployments", [{**dep, "commands_json": json.dumps([cmd])}], run_id="sim", run_date=D1)
    # 250,000 tok/s/GPU: above the 184,838 bound, below 4 x it, above 1.25 x it
    clean.write("points", [pt(mc=16, tok_s_gpu=250_000.0)], run_id="sim", run_date=D1)
    found = run_model(connect(clean.root), "physical_bound", run_id="sim")
    assert len(found) == int(flagged)
    if flagged:
        assert found.iloc[0].time_scale == float(time_scale or 1.0)


def test_physical_bound_reads_the_equals_form_of_the_time_scale(clean):
    dep = {"label": "TP8", "model": M, "hardware": H, "precision": "fp8", "scenario": "1k1k", "gpus": 8}
    cmd = ["python3", "-m", "frontier.sim.launch_server", "--time-scale=4"]  # as free server_args write it
    clean.write("deployments", [{**dep, "commands_json": json.dumps([cmd])}], run_id="sim", run_date=D1)
    clean.write("points", [pt(mc=16, tok_s_gpu=250_000.0)], run_id="sim", run_date=D1)
    assert run_model(connect(clean.root), "physical_bound", run_id="sim").empty
