"""`frontier import bench-serving`: bench_serving result lines land as points beside our own."""

import json
from pathlib import Path

import pytest

from frontier.cli.import_bench import import_bench_serving, scenario_name
from frontier.cli.main import main
from frontier.errors import FrontierError
from frontier.warehouse import connect, run_model

FIXTURE = Path(__file__).resolve().parents[1] / "data/bench_serving/sglang_llama8b_h100_1k1k.jsonl"


def test_scenario_names():
    assert scenario_name(1024, 1024) == "1k1k"
    assert scenario_name(8192, 1024) == "8k1k"
    assert scenario_name(1000, 128) == "1000i-128o"


def test_import_lands_points_and_marts_see_them(tmp_path):
    lines = [json.loads(x) for x in FIXTURE.read_text().splitlines() if x.strip()]
    rc = main(
        [
            "import",
            "bench-serving",
            str(FIXTURE),
            "--label",
            "TP1",
            "--model",
            "Llama-3.1-8B-Instruct",
            "--hardware",
            "h100_sxm",
            "--warehouse",
            str(tmp_path),
            "--run-id",
            "imp1",
        ]
    )
    assert rc == 0
    con = connect(tmp_path)
    rows = con.execute(
        "select source, label, model, scenario, gpus, total_token_throughput, median_tpot_ms from points "
        "where run_id = 'imp1' order by total_token_throughput"
    ).fetchall()
    assert len(rows) == len(lines)
    assert {r[0] for r in rows} == {"bench_serving"}
    assert {r[2] for r in rows} == {"meta-llama/Llama-3.1-8B-Instruct"}  # alias resolved
    totals = sorted(d.get("total_token_throughput", d.get("total_throughput")) for d in lines)
    assert [r[5] for r in rows] == pytest.approx(totals)
    fp = run_model(con, "frontier_points", run_id="imp1")
    assert len(fp) == len(lines)
    assert (fp["tok_s_gpu"] == fp["total_token_throughput"] / 1).all()


def test_import_rejects_bad_names(tmp_path):
    with pytest.raises(FrontierError, match="unknown hardware 'a100'"):
        import_bench_serving(
            str(FIXTURE),
            label="TP1",
            model="Llama-3.1-8B-Instruct",
            hardware="a100",
            precision="fp8",
            warehouse=str(tmp_path),
        )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"completed": 3}\n')
    with pytest.raises(FrontierError, match="line 1"):
        import_bench_serving(
            str(bad),
            label="TP1",
            model="Llama-3.1-8B-Instruct",
            hardware="h100_sxm",
            precision="fp8",
            warehouse=str(tmp_path),
        )
    assert not list(tmp_path.rglob("*.parquet"))
