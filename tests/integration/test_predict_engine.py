"""``frontier run SPEC --engine predict``: a whole sweep predicted in virtual time, in-process,
landed in the same tables marked predicted; its chart and report say so; adaptive ladders skip
points and record why."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from frontier.analysis.report import build_report
from frontier.cli.main import main
from frontier.warehouse import connect

ROOT = Path(__file__).resolve().parents[2]


def _q(wh: Path, sql: str):
    con = connect(wh)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_run_engine_predict_lands_a_predicted_sweep_in_seconds(tmp_path, capsys):
    wh, site = tmp_path / "wh", tmp_path / "site"
    t0 = time.monotonic()
    rc = main(
        ["run", str(ROOT / "sweeps/smoke.yaml"), "--engine", "predict", "--run-id", "p1",
         "--warehouse", str(wh), "--artifacts", str(tmp_path / "art"), "--site", str(site)]
    )  # fmt: skip
    elapsed = time.monotonic() - t0
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "PREDICTED" in out
    # 4 labels x 4 concurrencies, every one predicted, none launched
    pts = _q(wh, "select label, source, engine, status, duration, completed from points where run_id = 'p1'")
    assert len(pts) == 16
    assert {(p[1], p[2], p[3]) for p in pts} == {("predicted", "predict", "ok")}
    assert all(p[4] > 0 and p[5] > 0 for p in pts)
    deps = _q(wh, "select engine, engine_version, status, commands_json from deployments where run_id = 'p1'")
    assert len(deps) == 4 and {d[0] for d in deps} == {"predict"}
    assert all(d[1].startswith("predict sim-") and d[2] == "success" and json.loads(d[3]) == [] for d in deps)
    assert _q(wh, "select engine, status from runs where run_id = 'p1' and ended_at is not null") == [
        ("predict", "success")
    ]
    assert _q(wh, "select count(*) from predictions where run_id = 'p1'") == [
        (0,)
    ]  # points are the predictions
    # the published chart is labelled predicted (dashed, hollow, subtitle)
    charts = list(site.rglob("*.json"))
    text = "\n".join(p.read_text() for p in charts)
    assert "PREDICTED in virtual time" in text and '"strokeDash"' in text
    assert elapsed < 120
    report = build_report(wh, "p1")
    assert report.predicted and report.headline().startswith("PREDICTED")


def test_predict_engine_records_a_label_that_cannot_fit(tmp_path):
    spec = yaml.safe_load((ROOT / "sweeps/nightly.yaml").read_text())
    spec.update(engine="predict", scenarios=["1k1k"], concurrencies=[4, 64])
    spec["matrix"] = [dict(spec["matrix"][0], labels=["SEP4+1xDEP8", "DEP8"], speculative=["none"])]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    wh = tmp_path / "wh"
    rc = main(["run", str(path), "--run-id", "p2", "--warehouse", str(wh), "--artifacts", str(tmp_path / "a"),
               "--no-publish"])  # fmt: skip
    assert rc == 0
    fails = _q(wh, "select label, stage, reason from failures where run_id = 'p2'")
    assert fails and {f[0] for f in fails} == {"SEP4+1xDEP8"}
    assert all(f[1] == "point" and "does not fit" in f[2] for f in fails)
    assert _q(wh, "select count(*) from points where run_id = 'p2' and label = 'DEP8'") == [(2,)]


def test_adaptive_predict_run_skips_dominated_points_and_records_why(tmp_path):
    spec = yaml.safe_load((ROOT / "sweeps/nightly.yaml").read_text())
    spec.update(engine="predict", adaptive=True, scenarios=["1k1k"])
    spec["matrix"] = spec["matrix"][-1:]  # Llama-3.1-8B: TP1 TP2 TP4 TP8 DP8
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    wh = tmp_path / "wh"
    rc = main(["run", str(path), "--run-id", "p3", "--warehouse", str(wh), "--artifacts", str(tmp_path / "a"),
               "--no-publish"])  # fmt: skip
    assert rc == 0
    measured = _q(wh, "select count(*) from points where run_id = 'p3'")[0][0]
    skipped = _q(
        wh, "select label, max_concurrency, reason from failures where run_id = 'p3' and stage = 'skipped'"
    )
    assert skipped and all(r[2].startswith("adaptive:") and r[1] is not None for r in skipped)
    assert measured + len(skipped) >= 5 * 7  # every ladder point measured or skipped (refinements add)
    # skipped points are not failures: the run and its items succeed
    assert _q(wh, "select status from runs where run_id = 'p3' and ended_at is not null") == [("success",)]
    report = build_report(wh, "p3")
    assert not report.failures and len(report.skipped) == len(skipped)
    assert "skipped by the adaptive ladder" in report.markdown()


def test_search_prints_the_predicted_frontier_and_writes_a_valid_winners_spec(tmp_path, capsys):
    out = tmp_path / "search"
    rc = main(["search", "--model", "deepseek-ai/DeepSeek-R1", "--hardware", "h200_sxm", "--gpus", "8",
               "--isl", "1024", "--osl", "1024", "--concurrencies", "1,8,64", "--max-ttft-p99-ms", "5000",
               "--out", str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "PREDICTED frontier" in text and "best configuration per interactivity band" in text
    assert "MTP on/off is not searched" in text
    assert "5 fit" in text  # TP8 TEP8 DEP8 DPATP8 SEP8: nothing smaller holds R1, no PD split fits 8
    spec_path = next(out.glob("search-DeepSeek-R1-h200_sxm-8gpu-1k1k.yaml"))
    assert main(["validate", str(spec_path)]) == 0
    spec = yaml.safe_load(spec_path.read_text())
    assert spec["adaptive"] is True and spec["matrix"][0]["labels"]
    assert (out / "search_chart.html").is_file()
    chart = json.loads((out / "search_chart.vl.json").read_text())
    assert "PREDICTED" in json.dumps(chart["title"])


def test_search_with_impossible_limits_fails_with_the_fix(tmp_path, capsys):
    rc = main(["search", "--model", "deepseek-ai/DeepSeek-R1", "--hardware", "h200_sxm", "--gpus", "8",
               "--isl", "1024", "--osl", "1024", "--concurrencies", "1,8", "--min-tok-s-user", "100000",
               "--out", str(tmp_path / "s")])  # fmt: skip
    assert rc == 1
    assert "relax --max-ttft-p99-ms / --min-tok-s-user" in capsys.readouterr().err
