"""Issues 4 + 8: every item's ladder is predicted by the simulator and landed in ``predictions``.

A real smoke run (simulated engine, real time) lands one prediction per (label, scenario,
concurrency); ``marts/prediction_error`` joins them to the measurements (the simulated server's
real-time figures vs its own model's virtual-time prediction: close); the site draws the
predicted curves (the chart spec has the ``predicted`` layer). A point the model cannot predict
keeps its row with the reason in ``error``; concurrencies above the cap are skipped.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from frontier.domain.spec import parse_spec
from frontier.planning.planner import plan
from frontier.run import RunContext, run_sweep
from frontier.run.rows import PREDICT_MAX_CONCURRENCY
from frontier.run.rows import prediction_rows as predict_item

pytestmark = pytest.mark.timeout(180)
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"

SMOKE = {
    "name": "pred",
    "engine": "sim",
    "scenarios": [{"name": "s", "isl": 256, "osl": 16}],
    "concurrencies": [1, 4],
    "num_prompts_multiplier": 2,
    "min_prompts": 4,
    "warmup_multiplier": 1.0,
    "sim": {"time_scale": 4.0},
    "matrix": [{"model": LLAMA, "hardware": "h100_sxm", "precision": "fp8", "labels": ["TP1", "TP2"]}],
}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pred")
    spec = parse_spec(SMOKE)
    ctx = RunContext("pred-1", dt.date(2026, 3, 2), str(tmp / "wh"), str(tmp / "art"))
    status, outcomes = run_sweep(spec, ctx)
    assert status == "success", outcomes
    return tmp, ctx


def test_predictions_land_per_point(smoke_run):
    from frontier.warehouse import connect

    tmp, ctx = smoke_run
    con = connect(ctx.warehouse)
    rows = con.execute(
        "select label, scenario, max_concurrency, gpus, error, tok_s_gpu, tpot_ms, model_version "
        "from predictions where run_id = 'pred-1' order by 1, 3"
    ).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("TP1", "s", 1, 1),
        ("TP1", "s", 4, 1),
        ("TP2", "s", 1, 2),
        ("TP2", "s", 4, 2),
    ]
    assert all(r[4] is None and r[5] > 0 and r[6] > 0 and r[7] for r in rows)
    # one Parquet part per item, like every other table: a retried item replaces its own rows
    parts = sorted(p.name for p in (tmp / "wh" / "predictions").rglob("*.parquet"))
    assert parts == sorted(f"{it.key}.parquet" for it in plan(parse_spec(SMOKE)))


def test_prediction_error_mart_has_rows(smoke_run):
    from frontier.warehouse import connect, run_model

    _, ctx = smoke_run
    con = connect(ctx.warehouse)
    df = run_model(con, "prediction_error", run_id="pred-1")
    assert len(df) == 4
    assert set(df["label"]) == {"TP1", "TP2"}
    # the simulated server measured in real time what its model predicts in virtual time
    # (time_scale applied to both): TPOT within a loose band
    assert df["rel_err_tpot"].abs().max() < 0.5, df[["label", "max_concurrency", "rel_err_tpot"]]


def test_site_draws_the_predicted_curves(smoke_run):
    from frontier.site import publish

    tmp, ctx = smoke_run
    index = publish(ctx.warehouse, tmp / "site", run_id="pred-1", png=False)
    assert index.is_file()
    specs = [json.loads(p.read_text()) for p in (tmp / "site").rglob("*.vl.json")]
    assert specs
    text = json.dumps(specs)
    assert '"description": "predicted"' in text
    assert "strokeDash" in text


def test_unpredictable_points_keep_a_row_with_the_reason():
    spec = parse_spec(
        {
            "name": "x",
            "engine": "sim",
            "scenarios": [{"name": "big", "isl": 8192, "osl": 1024}],
            "concurrencies": [1, 2, PREDICT_MAX_CONCURRENCY + 1],
            "matrix": [
                {
                    "model": "deepseek-ai/DeepSeek-R1",
                    "hardware": "h200_sxm",
                    "precision": "fp8",
                    "labels": ["TP8", "TP2"],
                }
            ],
        }
    )
    items = {it.label: it for it in plan(spec)}
    ok = predict_item(items["TP8"], spec)
    assert [r["max_concurrency"] for r in ok] == [1, 2]  # above the cap: skipped
    assert all(r["error"] is None and r["tok_s_gpu"] > 0 for r in ok)
    bad = predict_item(items["TP2"], spec)
    assert [r["max_concurrency"] for r in bad] == [1, 2]
    assert all(r["error"] and "fit" in r["error"] and r.get("tok_s_gpu") is None for r in bad)


def test_sglang_items_get_the_fp8_kv_prediction():
    """engine sglang: the prediction models the KV cache dtype its command line sets."""
    from frontier.planning.engines import item_server_flags
    from frontier.sim.predict import kv_dtype_of_flags

    spec = parse_spec({**SMOKE, "engine": "sglang", "sim": {}})
    item = plan(spec)[0]
    assert kv_dtype_of_flags(item_server_flags(item, spec)) == "fp8"
    rows = predict_item(item, spec)
    assert [r["max_concurrency"] for r in rows] == [1, 4] and all(r["error"] is None for r in rows)


def test_cli_run_lands_predictions(tmp_path: Path):
    """``run_item`` with predict=False lands none (the switch exists for callers that predict elsewhere)."""
    from frontier.run import run_item
    from frontier.warehouse import connect

    spec = parse_spec({**SMOKE, "concurrencies": [1], "matrix": [{**SMOKE["matrix"][0], "labels": ["TP1"]}]})
    (item,) = plan(spec)
    ctx = RunContext("pred-2", dt.date(2026, 3, 2), str(tmp_path / "wh"), str(tmp_path / "art"))
    out = run_item(item, spec, ctx, predict=False)
    assert out.status == "success"
    con = connect(ctx.warehouse)
    assert con.execute("select count(*) from predictions").fetchone() == (0,)
