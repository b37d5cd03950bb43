"""SQL marts: fixed input rows -> expected output rows (real Parquet files, real DuckDB)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from frontier.errors import FrontierError
from frontier.warehouse import Warehouse, connect, model_names, query, run_model
from tests.support import point_row as pt

M, H = "meta-llama/Llama-3.1-8B-Instruct", "h100_sxm"
D1, D2, D3 = dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 26)


def rows(df, *cols):
    return [tuple(r) for r in df[list(cols)].itertuples(index=False)]


@pytest.fixture()
def wh(tmp_path):
    return Warehouse(tmp_path)


def test_frontier_points_contract_and_flags(wh):
    wh.write(
        "points",
        [
            pt("TP8", 1, 100.0, 100.0),  # label front
            pt("TP8", 2, 180.0, 50.0),  # label front
            pt("TP8", 4, 150.0, 40.0),  # dominated by mc 2
            pt("TP8", 8, 180.0, 50.0),  # duplicate of mc 2: kept once (lowest mc)
            pt("TP8", 16, 999.0, 10.0, status="failed"),  # failed: never on a frontier
            pt("DEP8", 4, 300.0, 30.0),  # label front and overall front
            pt("DEP8", 8, 160.0, 50.0),  # label front; overall dominated by TP8 mc 2
            pt("TP4", 4, 100.0, 100.0, gpus=4),  # tie with TP8 mc 1 across labels: overall keeps one
        ],
        run_id="r1",
        run_date=D1,
    )
    df = run_model(connect(wh.root), "frontier_points")
    contract = (Path(__file__).parents[2] / "docs/contracts.md").read_text()
    cols = contract.split("its columns:")[1].split(".\n")[0].replace("\n", " ")
    assert list(df.columns) == [c.strip() for c in cols.split(",")]
    got = {
        (r.label, r.max_concurrency): (r.on_label_frontier, r.on_overall_frontier) for r in df.itertuples()
    }
    assert got == {
        ("TP8", 1): (True, True),
        ("TP8", 2): (True, True),
        ("TP8", 4): (False, False),
        ("TP8", 8): (False, False),
        ("TP8", 16): (False, False),
        ("DEP8", 4): (True, True),
        ("DEP8", 8): (True, False),
        ("TP4", 4): (True, False),  # same (x, y) as TP8 mc 1, which wins on (max_concurrency, label)
    }
    tp8 = df[(df.label == "TP8") & (df.max_concurrency == 2)].iloc[0]
    assert tp8.tok_s_gpu == pytest.approx(180.0) and tp8.tok_s_gpu_output == pytest.approx(90.0)
    assert tp8.tok_s_user == pytest.approx(50.0) and tp8.tok_s_user_mean == pytest.approx(50.0)


def test_marts_pick_latest_run_with_points_or_the_given_run(wh):
    wh.write("points", [pt("TP8", 1, 100.0, 100.0)], run_id="old", run_date=D1)
    wh.write("points", [pt("TP8", 1, 200.0, 100.0)], run_id="new", run_date=D2)
    wh.write(
        "failures",
        [
            {
                "label": "TP8",
                "model": M,
                "hardware": H,
                "precision": "fp8",
                "scenario": "1k1k",
                "reason": "boom",
            }
        ],
        run_id="failed-only",
        run_date=D3,
    )
    con = connect(wh.root)
    assert run_model(con, "frontier_points").run_id.tolist() == ["new"]
    assert run_model(con, "frontier_points", run_id="old").tok_s_gpu.tolist() == [100.0]
    assert run_model(con, "frontier_points", run_id="nope").empty
    assert run_model(con, "run_failures").reason.tolist() == ["boom"]  # latest run of any kind


def test_frontier_points_single_point_curve_and_no_gpus_falls_back_to_label(wh):
    row = pt("SEP4+1xDEP8", 4, 120.0, 20.0, gpus=12)
    row["gpus"] = None  # the label gives 1 x 4 + 1 x 8 = 12
    wh.write("points", [row], run_id="r1", run_date=D1)
    df = run_model(connect(wh.root), "frontier_points")
    assert rows(df, "gpus", "tok_s_gpu", "on_label_frontier", "on_overall_frontier") == [
        (12, 120.0, True, True)
    ]


def test_label_summary(wh):
    wh.write(
        "points",
        [
            pt("TP8", 1, 100.0, 100.0),
            pt("TP8", 2, 180.0, 50.0),
            pt("TP8", 4, 0.0, 1.0, status="failed"),
            pt("DEP8", 4, 300.0, 30.0),
        ],
        run_id="r1",
        run_date=D1,
    )
    wh.write(
        "failures",
        [
            {
                "label": "TP16",
                "model": M,
                "hardware": H,
                "precision": "fp8",
                "scenario": "1k1k",
                "stage": "launch",
                "reason": "OOM",
            }
        ],
        run_id="r1",
        run_date=D1,
    )
    df = (
        run_model(connect(wh.root), "label_summary")
        .fillna({"best_tok_s_gpu": -1, "tok_s_user_at_best": -1})
        .round(6)
    )
    assert rows(
        df,
        "label",
        "best_tok_s_gpu",
        "tok_s_user_at_best",
        "points",
        "ok_points",
        "failed_points",
        "failures",
    ) == [
        ("DEP8", 300.0, 30.0, 1, 1, 0, 0),
        ("TP8", 180.0, 50.0, 3, 2, 1, 0),
        ("TP16", -1, -1, 0, 0, 0, 1),  # a deployment that failed before any point
    ]


def test_best_by_band_interpolates_along_the_frontier(wh):
    wh.write(
        "points",
        [
            # TP8 curve: (10, 400) (50, 200) (100, 100); band 20 -> 350, 50 -> 200 (exact), 100 -> 100 (edge)
            pt("TP8", 32, 400.0, 10.0),
            pt("TP8", 8, 200.0, 50.0),
            pt("TP8", 1, 100.0, 100.0),
            pt("TP8", 16, 150.0, 30.0),  # dominated: ignored by the curve
            # DEP8 curve: (20, 500) (60, 150): band 20 -> 500 (edge), 50 -> 237.5, 100 outside -> none
            pt("DEP8", 64, 500.0, 20.0),
            pt("DEP8", 8, 150.0, 60.0),
            # TP4 single point at 50: band 50 only
            pt("TP4", 4, 210.0, 50.0, gpus=4),
        ],
        run_id="r1",
        run_date=D1,
    )
    df = run_model(connect(wh.root), "best_by_band")
    got = {(r.band_tok_s_user, r.label): (round(r.tok_s_gpu, 6), r.rank, r.is_best) for r in df.itertuples()}
    assert got == {
        (20.0, "DEP8"): (500.0, 1, True),
        (20.0, "TP8"): (350.0, 2, False),
        (50.0, "DEP8"): (237.5, 1, True),
        (50.0, "TP4"): (210.0, 2, False),
        (50.0, "TP8"): (200.0, 3, False),
        (100.0, "TP8"): (100.0, 1, True),
    }


def test_night_over_night_matches_interactivity(wh):
    wh.write("points", [pt("TP8", 8, 200.0, 20.0), pt("TP8", 1, 100.0, 100.0)], run_id="n1", run_date=D1)
    wh.write(
        "points", [pt("OTHER", 1, 1.0, 1.0, scenario="8k1k")], run_id="n2", run_date=D2
    )  # other scenario
    wh.write(
        "points",
        [pt("TP8", 8, 220.0, 60.0), pt("TP8", 1, 90.0, 120.0), pt("TP4", 1, 50.0, 50.0, gpus=4)],
        run_id="n3",
        run_date=D3,
    )
    df = run_model(connect(wh.root), "night_over_night")
    # previous TP8 curve at 60 tok/s/user: 200 + (100 - 200) * (60 - 20) / 80 = 150; 120 is outside it
    got = rows(df, "label", "prev_run_id", "tok_s_user", "tok_s_gpu", "prev_tok_s_gpu", "delta_pct")
    assert got[0][:4] == ("TP4", "n1", 50.0, 50.0) and got[0][4] != got[0][4]  # new label: NaN
    assert got[1] == pytest.approx(("TP8", "n1", 60.0, 220.0, 150.0, 100 * 70 / 150))
    assert got[2][:4] == pytest.approx(("TP8", "n1", 120.0, 90.0)) and got[2][4] != got[2][4]  # outside: NaN


def test_prediction_error(wh):
    wh.write(
        "points",
        [pt("TP8", 4, 200.0, 50.0), pt("TP8", 8, 300.0, 25.0, status="failed")],
        run_id="r1",
        run_date=D1,
    )
    wh.write(
        "predictions",
        [
            {
                "label": "TP8",
                "model": M,
                "hardware": H,
                "precision": "fp8",
                "scenario": "1k1k",
                "max_concurrency": 4,
                "gpus": 8,
                "tpot_ms": 22.0,
                "tok_s_gpu": 180.0,
                "ttft_ms": None,
                "model_version": "sim-1",
            },
            {
                "label": "TP8",
                "model": M,
                "hardware": H,
                "precision": "fp8",
                "scenario": "1k1k",
                "max_concurrency": 8,
                "gpus": 8,
                "tpot_ms": 1.0,
                "tok_s_gpu": 1.0,
            },
        ],
        run_id="r1",
        run_date=D1,
    )
    df = run_model(connect(wh.root), "prediction_error")
    assert len(df) == 1  # failed measurement not compared
    r = df.iloc[0]
    assert r.rel_err_tpot == pytest.approx(0.1) and r.rel_err_tok_s_gpu == pytest.approx(-0.1)
    assert r.predicted_tok_s_user == pytest.approx(1000 / 22) and r.model_version == "sim-1"


def test_cost_uses_hardware_catalog(wh):
    wh.write(
        "points",
        [pt("TP8", 4, 1000.0, 50.0), pt("TP8", 4, 1000.0, 50.0, hardware="unknown_gpu")],
        run_id="r1",
        run_date=D1,
    )
    df = run_model(connect(wh.root), "cost").set_index("hardware")
    h100 = df.loc[H]  # 2.5 $/GPU-hour, 700 W
    assert h100.usd_per_mtok == pytest.approx(2.5 / (1000 * 3600) * 1e6)
    assert h100.usd_per_mtok_output == pytest.approx(2.5 / (500 * 3600) * 1e6)
    assert h100.tok_s_per_mw == pytest.approx(1000 / 700 * 1e6)
    assert df.loc["unknown_gpu"].usd_per_mtok != df.loc["unknown_gpu"].usd_per_mtok  # NaN


def test_regression_steps_from_the_step_detector(wh):
    for i, d in enumerate([dt.date(2026, 11, k) for k in range(1, 9)]):
        thr = 200.0 if i < 5 else 150.0  # drop of 25 % from night 6
        wh.write(
            "points",
            [pt("TP8", 8, thr, 20.0), pt("TP8", 1, 100.0, 100.0), pt("DEP8", 8, 300.0 + i % 2, 20.0)],
            run_id=f"n{i}",
            run_date=d,
        )
    con = connect(wh.root)
    df = run_model(con, "regression_steps")
    assert set(df.metric) == {"band_20", "band_50", "peak_tok_s_gpu"} and set(df.label) == {"TP8"}
    r = df[df.metric == "peak_tok_s_gpu"].iloc[0]
    assert (r.run_id, r.prev_run_id, r.latest_run_id, r.before, r.after) == ("n5", "n4", "n7", 200.0, 150.0)
    assert run_model(con, "regression_steps", run_id="n4").empty  # before the drop
    assert run_model(con, "regression_steps", threshold=0.5).empty


def curve(label, scale, gpus=8, xs=(100.0, 60.0, 30.0, 15.0), ys=(100.0, 250.0, 400.0, 500.0)):
    """A label's frontier: tok/s/GPU ys at tok/s/user xs, throughput scaled by ``scale``."""
    return [pt(label, 2**i, y * scale, x, gpus=gpus) for i, (x, y) in enumerate(zip(xs, ys, strict=True))]


def test_regressions_after_a_single_good_night(wh):
    wh.write("points", curve("TP8", 1.0) + curve("TP4", 1.0, gpus=4), run_id="good", run_date=D1)
    wh.write("points", curve("TP8", 0.5) + curve("TP4", 0.97, gpus=4), run_id="bad", run_date=D2)
    con = connect(wh.root)
    df = run_model(con, "regressions")
    assert list(df.label) == ["TP8"]  # TP4 -3 %: inside the 10 % default
    r = df.iloc[0]
    assert (r.run_id, r.prev_run_id, r.latest_run_id) == ("bad", "good", "bad")
    assert r.change_pct == pytest.approx(-50.0) and r.limit_pct == 10.0 and r.noise_pct == 0.0
    assert r.matched == 8 and (r.from_tok_s_user, r.to_tok_s_user) == pytest.approx((15.0, 100.0))
    assert run_model(con, "regressions", run_id="good").empty  # nothing before the first night
    assert run_model(con, "regressions", threshold_pct=60).empty
    # named marts in ad-hoc SQL: the view is the mart with its parameters NULL (latest run)
    assert query(con, "select label, round(change_pct) as c from regressions").values.tolist() == [
        ["TP8", -50]
    ]
    got = query(con, "select count(*) as n from frontier_points where label = 'TP4'")
    assert got.n.iloc[0] == 4


def test_regressions_at_matched_interactivity_interpolate_the_curve(wh):
    # the new curve sits at other tok/s/user values than the old one: compared on the curve, not per point
    wh.write("points", curve("TP8", 1.0, xs=(100.0, 60.0, 30.0, 15.0)), run_id="a", run_date=D1)
    wh.write("points", curve("TP8", 1.0, xs=(80.0, 45.0, 20.0, 10.0), ys=(80.0, 200.0, 320.0, 400.0)),
             run_id="b", run_date=D2)  # fmt: skip
    ch = query(connect(wh.root), "select * from int_label_changes").iloc[0]
    # forward: b at x=80, 45, 20 vs a's curve (175, 325, 433.3); backward: a at 60, 30, 15 vs b (
    # 168, 284, n/a below 10? 15 is inside [10, 20]: 360)
    before = [100 + 150 * 20 / 40, 250 + 150 * 15 / 30, 400 + 100 * 10 / 15, 250, 400, 500]
    after = [80, 200, 320, 200 - 120 * 15 / 35, 320 - 120 * 10 / 25, 400 - 80 * 5 / 10]
    assert ch.matched == 6
    assert ch.before == pytest.approx(sum(before) / 6) and ch.after == pytest.approx(sum(after) / 6)


def test_regressions_threshold_widens_with_the_noise_history(wh):
    scales = [1.0, 0.88, 1.0, 0.88, 1.0, 0.8]  # nights swing +-12 %, then -20 %
    for i, sc in enumerate(scales):
        wh.write("points", curve("TP8", sc), run_id=f"n{i}", run_date=dt.date(2026, 11, i + 1))
    con = connect(wh.root)
    assert run_model(con, "regressions", run_id="n1").label.tolist() == ["TP8"]  # -12 % on one good night
    assert run_model(con, "regressions", run_id="n3").empty  # history shows 12-14 % swings: noise
    assert run_model(con, "regressions").empty  # -20 % < 3 x 12.8 % noise (median of 12, 13.6, 12, 13.6)
    r = run_model(con, "regressions", noise_factor=1.0).iloc[0]
    assert r.change_pct == pytest.approx(-20.0) and r.noise_pct == pytest.approx((12 + 100 * 0.12 / 0.88) / 2)
    assert r.runs == 6 and r.limit_pct == pytest.approx(r.noise_pct)


def test_marts_on_an_empty_warehouse(tmp_path):
    con = connect(tmp_path)
    for name in model_names():
        if name.startswith(("marts/", "audits/")):
            assert run_model(con, name).empty, name


def test_query_and_errors(wh):
    wh.write("points", [pt("TP8", 1, 100.0, 100.0)], run_id="r1", run_date=D1)
    con = connect(wh.root)
    assert query(con, "frontier_points", {"run_id": "r1"}).shape[0] == 1
    assert query(con, "SELECT count(*) AS n FROM points WHERE run_id = ?", ["r1"]).n.tolist() == [1]
    assert query(
        con, "SELECT count(*) AS n FROM points WHERE run_id = $r", {"r": "x'; DROP TABLE points; --"}
    ).n.tolist() == [0]
    with pytest.raises(FrontierError, match="unknown model 'frontier_pointz'"):
        run_model(con, "frontier_pointz")
    with pytest.raises(FrontierError, match="has no parameter\\(s\\) runid; its parameters are: run_id"):
        run_model(con, "frontier_points", runid="r1")
    with pytest.raises(FrontierError, match="query failed"):
        query(con, "SELECT * FROM nowhere")


def test_hardware_points_latest_run_per_hardware_one_frontier_across(wh):
    h100 = [dict(r, hardware="h100_sxm") for r in curve("TP8", 1.0)]
    h200_old = [dict(r, hardware="h200_sxm") for r in curve("TP8", 0.5)]
    h200 = [dict(r, hardware="h200_sxm") for r in curve("TP8", 1.2, xs=(110.0, 60.0, 25.0, 10.0))]
    wh.write("points", h100 + h200_old, run_id="r1", run_date=D1)
    wh.write("points", h200, run_id="r2", run_date=D2)  # an ad-hoc run of H200 only
    con = connect(wh.root)
    df = run_model(con, "hardware_points")
    assert sorted(set(zip(df.hardware, df.run_id))) == [("h100_sxm", "r1"), ("h200_sxm", "r2")]
    front = df[df.on_cross_frontier]
    # one envelope over both: H200 wins at 110, 60, 25, 10 tok/s/user, H100 at 30 and 15
    assert sorted((h, round(x)) for h, x in zip(front.hardware, front.tok_s_user)) == [
        ("h100_sxm", 15), ("h100_sxm", 30), ("h200_sxm", 10), ("h200_sxm", 25), ("h200_sxm", 60), ("h200_sxm", 110)
    ]  # fmt: skip
    old = run_model(con, "hardware_points", run_id="r1")  # as of r1: H200's older, slower run
    assert set(old.run_id) == {"r1"} and set(old[old.on_cross_frontier].hardware) == {"h100_sxm"}


def test_cost_assumptions_from_the_spec_override_the_catalog(wh):
    wh.write("points", [pt("TP8", 4, 1000.0, 50.0), pt("TP8", 4, 1000.0, 50.0, hardware="h200_sxm")],
             run_id="r1", run_date=D1)  # fmt: skip
    wh.write("runs", [{"cost_json": '{"h200_sxm": {"power_w": 1000.0, "usd_per_gpu_hour": 4.0}}'}],
             run_id="r1", run_date=D1)  # fmt: skip
    con = connect(wh.root)
    df = run_model(con, "cost").set_index("hardware")
    assert df.loc["h200_sxm"].usd_per_mtok == pytest.approx(4.0 / (1000 * 3600) * 1e6)
    assert df.loc["h200_sxm"].tok_s_per_mw == pytest.approx(1000 / 1000 * 1e6)
    assert tuple(df.assumption_source.sort_index()) == ("catalog", "spec")
    assert df.loc[H].usd_per_mtok == pytest.approx(2.5 / (1000 * 3600) * 1e6)  # H100: the catalog's
    summary = run_model(con, "cost_summary").set_index("hardware")
    assert (
        summary.loc["h200_sxm"].usd_per_gpu_hour == 4.0
        and summary.loc["h200_sxm"].assumption_source == "spec"
    )
    assert summary.loc[H].best_usd_per_mtok == pytest.approx(df.loc[H].usd_per_mtok)


def test_best_under_slo_and_bands(wh):
    # curves at max_concurrency 1, 2, 4, 8 with p99 TTFT = 100 ms x concurrency
    rows = curve("TP8", 1.0) + curve("TP4", 1.1, gpus=4, xs=(90.0, 50.0, 20.0, 12.0))
    for r in rows:
        r["p99_ttft_ms"] = 100.0 * r["max_concurrency"]
        r["median_ttft_ms"] = 50.0 * r["max_concurrency"]
    wh.write("points", rows, run_id="r1", run_date=D1)
    wh.write("points", [dict(r, hardware="h200_sxm") for r in curve("TP8", 2.0)], run_id="r2", run_date=D2)
    con = connect(wh.root)
    best = run_model(con, "best_under_slo", max_ttft_p99_ms=250, min_tok_s_user=40).set_index("hardware")
    # H100 (run r1): points with p99 TTFT <= 250 (mc 1, 2) and >= 40 tok/s/user: TP4 mc 2 (275) wins
    assert (best.loc[H].label, best.loc[H].max_concurrency, best.loc[H].tok_s_gpu) == ("TP4", 2, 275.0)
    assert best.loc[H].points_meeting == 4 and best.loc[H].run_id == "r1"
    assert best.loc["h200_sxm"].run_id == "r2"  # each hardware from its own latest run
    none = run_model(con, "best_under_slo", max_ttft_p99_ms=10)
    assert not none.meets.any() and none.label.isna().all() and list(none.points_total) == [8, 4]
    bands = run_model(con, "slo_bands", run_id="r1")
    at50 = bands[bands.min_tok_s_user == 50.0].iloc[0]
    assert (at50.label, at50.tok_s_gpu, at50["rank"]) == ("TP4", 275.0, 1)
    assert 150.0 not in set(bands.min_tok_s_user)  # no point reaches 150 tok/s/user


def test_run_compare_matches_curves_and_names_one_sided_labels(wh):
    wh.write("points", curve("TP8", 1.0) + curve("TP2", 1.0, gpus=2), run_id="a", run_date=D1)
    wh.write("points", curve("TP8", 1.25) + curve("TP4", 1.0, gpus=4), run_id="b", run_date=D2)
    df = run_model(connect(wh.root), "run_compare", run_a="a", run_b="b").set_index("label")
    assert df.loc["TP8"].status == "compared" and df.loc["TP8"].change_pct == pytest.approx(25.0)
    assert df.loc["TP8"].matched == 8 and df.loc["TP8"].peak_change_pct == pytest.approx(25.0)
    assert (df.loc["TP2"].status, df.loc["TP4"].status) == ("only in A", "only in B")


def test_latest_results_keeps_every_group_and_labels_run_kinds(wh):
    wh.write("points", curve("TP8", 1.0), run_id="nightly-1", run_date=D1)
    wh.write("runs", [{"trigger": "scheduled", "spec_name": "nightly"}], run_id="nightly-1", run_date=D1)
    wh.write(
        "points", [dict(r, hardware="h200_sxm") for r in curve("TP8", 1.0)], run_id="adhoc-1", run_date=D2
    )
    wh.write("runs", [{"trigger": "manual", "spec_name": "adhoc"}], run_id="adhoc-1", run_date=D2)
    wh.write("points", [dict(r, source="bench_serving", scenario="8k1k") for r in curve("TP8", 1.0)],
             run_id="import-1", run_date=D3)  # fmt: skip
    wh.write("runs", [{"trigger": "import"}], run_id="import-1", run_date=D3)
    df = run_model(connect(wh.root), "latest_results")
    got = sorted(zip(df.hardware, df.scenario, df.run_id, df.run_kind))
    assert got == [(H, "1k1k", "nightly-1", "nightly"), (H, "8k1k", "import-1", "imported"),
                   ("h200_sxm", "1k1k", "adhoc-1", "adhoc")]  # fmt: skip
    assert set(df.best_tok_s_gpu) == {500.0} and set(df.best_label) == {"TP8"}


def test_prediction_accuracy_per_night(wh):
    for rid, day in (("r1", D1), ("r2", D2)):
        wh.write("points", [pt("TP8", 4, 200.0, 50.0)], run_id=rid, run_date=day)
        wh.write("predictions", [{"label": "TP8", "model": M, "hardware": H, "precision": "fp8", "scenario": "1k1k",
                                  "max_concurrency": 4, "gpus": 8, "tpot_ms": 22.0 if rid == "r1" else 30.0,
                                  "tok_s_gpu": 180.0}], run_id=rid, run_date=day)  # fmt: skip
    df = run_model(connect(wh.root), "prediction_accuracy").set_index("run_id")
    assert df.loc["r1"].median_abs_err_tpot_pct == pytest.approx(10.0)
    assert df.loc["r2"].median_abs_err_tpot_pct == pytest.approx(50.0)
    assert df.loc["r2"].median_abs_err_tok_s_gpu_pct == pytest.approx(10.0) and df.loc["r2"].points == 1
