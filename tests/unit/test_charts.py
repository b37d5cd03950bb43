"""charts/: pure builders from frontier_points rows to Vega-Lite.

Golden specs live in tests/data/charts/ (regenerate: FRONTIER_UPDATE_GOLDEN=1 pytest tests/unit/test_charts.py).
Behaviour checks compile specs with vl-convert (the same Vega the site ships) and read the scenegraph.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import altair as alt
import pandas as pd
import pytest
import vl_convert as vlc

from charts import compare_chart, frontier_chart, hardware_chart, history_chart, to_spec, trend_chart
from charts.contract import FRONTIER_POINTS_COLUMNS
from charts.theme import THEME_NAME, X_TITLE, Y_TITLES

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "charts"
UPDATE = os.environ.get("FRONTIER_UPDATE_GOLDEN") == "1"


# -- fixed input -------------------------------------------------------------------------------
def point(label, conc, x, y, *, gpus=8, status="ok", front=False, client_limited=False, run="r1",
          day=dt.date(2026, 11, 24), scenario="1k1k"):  # fmt: skip
    ok = status == "ok"
    return {
        "run_id": run, "run_date": day, "model": "deepseek-r1", "hardware": "h200", "precision": "fp8",
        "scenario": scenario, "isl": 1024, "osl": 1024, "label": label, "gpus": gpus, "max_concurrency": conc,
        "engine": "sim", "source": "frontier", "status": status,
        "tok_s_gpu": y if ok else None, "tok_s_gpu_output": y / 2 if ok else None,
        "tok_s_user": x if ok else None, "tok_s_user_mean": x * 0.98 if ok else None,
        "median_ttft_ms": 40.0 + conc, "p99_ttft_ms": 90.0 + 2 * conc,
        "median_tpot_ms": 1000 / x if ok else None, "p99_tpot_ms": 1300 / x if ok else None,
        "median_e2e_latency_ms": 1024 * 1000 / x if ok else None,
        "total_token_throughput": y * gpus if ok else None, "output_throughput": y * gpus / 2 if ok else None,
        "completed": 10 * conc if ok else 0, "failed": 0 if ok else 10 * conc, "error_rate": 0.0 if ok else 1.0,
        "client_limited": client_limited, "on_label_frontier": ok, "on_overall_frontier": front,
    }  # fmt: skip


def fixed_points(run="r1", day=dt.date(2026, 11, 24), scale=1.0) -> pd.DataFrame:
    rows = [
        point("TP8", 4, 150.0, 120.0 * scale, front=True, run=run, day=day),
        point("TP8", 16, 120.0, 400.0 * scale, run=run, day=day),
        point("TP8", 64, 80.0, 900.0 * scale, run=run, day=day),
        point("TP8", 256, 30.0, 1500.0, status="failed", run=run, day=day),
        point("DEP8", 4, 110.0, 200.0 * scale, run=run, day=day),
        point("DEP8", 16, 100.0, 700.0 * scale, front=True, run=run, day=day),
        point("DEP8", 64, 70.0, 1800.0 * scale, front=True, run=run, day=day),
        point("DEP8", 256, 35.0, 2600.0 * scale, front=True, client_limited=True, run=run, day=day),
        point("SEP4+1xDEP8", 16, 90.0, 500.0 * scale, gpus=12, run=run, day=day),
        point("SEP4+1xDEP8", 64, 60.0, 1200.0 * scale, gpus=12, run=run, day=day),
        point("SEP4+1xDEP8", 256, 130.0, 450.0 * scale, gpus=12, front=True, run=run, day=day),
    ]
    return pd.DataFrame(rows, columns=list(FRONTIER_POINTS_COLUMNS))


def nights(n=4) -> pd.DataFrame:
    days = [dt.date(2026, 11, 21) + dt.timedelta(days=i) for i in range(n)]
    return pd.concat([fixed_points(run=f"r{i}", day=d, scale=1 + 0.05 * i) for i, d in enumerate(days)],
                     ignore_index=True)  # fmt: skip


# -- spec helpers ------------------------------------------------------------------------------
def normalise(spec: dict) -> dict:
    """Rename auto-generated names (datasets by content hash, views, params) in order of appearance."""
    text = json.dumps(spec, sort_keys=False)
    for pattern, prefix in ((r"data-[0-9a-f]{32}", "data"), (r"view_[0-9a-f]+(?:_\d+)?", "view"),
                            (r"\bparam_\d+\b", "param")):  # fmt: skip
        names: dict[str, str] = {}
        for m in re.finditer(pattern, text):
            names.setdefault(m.group(0), f"{prefix}-{len(names)}")
        for old, new in names.items():
            text = text.replace(old, new)
    return json.loads(text)


def layer_by(spec: dict, description: str) -> dict:
    found = [layer for layer in spec["layer"] if layer.get("description") == description]
    assert len(found) == 1, (
        f"expected one {description!r} layer, got {[lay.get('description') for lay in spec['layer']]}"
    )
    return found[0]


def layer_data(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def marks(scenegraph: dict) -> list[dict]:
    out = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("marktype"):
                out.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(scenegraph)
    return out


def check_golden(name: str, spec: dict) -> None:
    path = GOLDEN / name
    got = normalise(spec)
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"golden {path} missing; run with FRONTIER_UPDATE_GOLDEN=1 to create it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text()), (
        f"{name} differs from its golden (FRONTIER_UPDATE_GOLDEN=1 to accept)"
    )


# -- golden specs ------------------------------------------------------------------------------
def test_frontier_chart_matches_golden_spec():
    check_golden("frontier_chart.vl.json", to_spec(frontier_chart(fixed_points())))


def test_history_and_trend_match_golden_specs():
    check_golden("history_chart.vl.json", to_spec(history_chart(nights())))
    check_golden("trend_chart.vl.json", to_spec(trend_chart(nights())))


def test_normalise_makes_specs_stable_across_builds():
    a, b = to_spec(frontier_chart(fixed_points())), to_spec(frontier_chart(fixed_points()))
    assert normalise(a) == normalise(b)
    assert "data-0" in json.dumps(normalise(a))


# -- frontier chart behaviour ------------------------------------------------------------------
def test_one_line_per_label_and_failed_points_not_drawn():
    df = fixed_points()
    spec = to_spec(frontier_chart(df))
    lines = layer_by(spec, "lines")
    assert lines["mark"]["type"] == "line" and lines["encoding"]["color"]["field"] == "label"
    drawn = layer_data(spec, lines)
    assert sorted({r["label"] for r in drawn}) == ["DEP8", "SEP4+1xDEP8", "TP8"]
    assert len(drawn) == int((df["status"] == "ok").sum()) == 10
    assert not any(r["label"] == "TP8" and r["max_concurrency"] == 256 for r in drawn)

    # rendered by Vega: one line path per label, with as many vertices as ok points of that label
    groups = [m for m in marks(vlc.vegalite_to_scenegraph(spec)) if m.get("name") == "layer_0_pathgroup"]
    assert len(groups) == 1 and len(groups[0]["items"]) == 3
    vertices = sorted(len(g["items"][0]["items"]) for g in groups[0]["items"])
    assert vertices == [3, 3, 4]  # TP8 lost its failed point


def test_frontier_layer_holds_exactly_the_overall_frontier_rows_sorted_by_x():
    df = fixed_points()
    spec = to_spec(frontier_chart(df))
    front = layer_by(spec, "frontier")
    rows = layer_data(spec, front)
    want = df[df["on_overall_frontier"]].sort_values("tok_s_user")
    assert [(r["label"], r["max_concurrency"]) for r in rows] == list(
        zip(want["label"], want["max_concurrency"], strict=True)
    )
    assert [r["tok_s_user"] for r in rows] == sorted(r["tok_s_user"] for r in rows)
    assert front["mark"]["strokeDash"] and front["mark"]["strokeWidth"] >= 4
    assert front["encoding"]["order"]["field"] == "tok_s_user"
    assert "color" not in front["encoding"]  # one envelope, not one per label


def test_axes_tooltip_and_end_labels():
    spec = to_spec(frontier_chart(fixed_points()))
    pts = layer_by(spec, "points")
    assert pts["encoding"]["x"]["field"] == "tok_s_user" and pts["encoding"]["x"]["title"] == X_TITLE
    assert (
        pts["encoding"]["y"]["field"] == "tok_s_gpu"
        and pts["encoding"]["y"]["title"] == Y_TITLES["tok_s_gpu"]
    )
    tips = {t["field"] for t in pts["encoding"]["tooltip"]}
    assert {"label", "max_concurrency", "median_ttft_ms", "p99_ttft_ms", "median_tpot_ms", "p99_tpot_ms", "gpus",
            "tok_s_gpu", "tok_s_user"} <= tips  # fmt: skip
    texts = [
        m
        for m in marks(vlc.vegalite_to_scenegraph(spec))
        if m["marktype"] == "text" and m.get("name", "").startswith("layer_")
    ]
    assert sorted(i["text"] for i in texts[0]["items"]) == ["DEP8", "SEP4+1xDEP8", "TP8"]
    # each label sits at the end of its curve: its highest ok max_concurrency
    end = {i["text"]: (round(i["x"]), round(i["y"])) for i in texts[0]["items"]}
    assert len(end) == 3


def test_legend_click_isolates_a_label():
    spec = to_spec(frontier_chart(fixed_points()))
    params = spec["params"]
    assert len(params) == 1
    sel = params[0]
    assert sel["name"] == "label_pick" and sel["bind"] == "legend"
    assert sel["select"]["type"] == "point" and sel["select"]["fields"] == ["label"]
    for name in ("lines", "points", "end_labels"):
        op = layer_by(spec, name)["encoding"]["opacity"]
        assert op["condition"][0]["param"] == "label_pick" and op["value"] < 0.5


def test_client_limited_points_are_ringed():
    spec = to_spec(frontier_chart(fixed_points()))
    ring = layer_by(spec, "client_limited")
    assert ring["transform"] == [{"filter": "datum.client_limited"}]
    sg = marks(vlc.vegalite_to_scenegraph(spec))
    ringed = [m for m in sg if m["marktype"] == "symbol" and m.get("name") == "layer_3_marks"]
    assert len(ringed) == 1 and len(ringed[0]["items"]) == 1
    assert "client-limited" in json.dumps(spec["title"])


def test_output_variant_and_predicted_curves():
    df = fixed_points()
    pred = pd.DataFrame({"label": ["TP8", "TP8", "DEP8"], "max_concurrency": [4, 16, 16],
                         "tok_s_user": [140.0, 110.0, 95.0], "output_throughput": [800.0, 3000.0, 5000.0],
                         "gpus": [8, 8, 8]})  # fmt: skip
    spec = to_spec(frontier_chart(df, y="tok_s_gpu_output", predicted=pred, title="custom"))
    assert layer_by(spec, "points")["encoding"]["y"]["title"] == Y_TITLES["tok_s_gpu_output"]
    p = layer_by(spec, "predicted")
    assert p["mark"]["strokeDash"] and p["encoding"]["color"]["field"] == "label"
    assert [r["tok_s_gpu_output"] for r in layer_data(spec, p)] == [100.0, 375.0, 625.0]
    assert spec["title"]["text"] == "custom"


def test_bad_inputs_fail_with_clear_errors():
    df = fixed_points()
    with pytest.raises(ValueError, match="y='tok_s'"):
        frontier_chart(df, y="tok_s")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_overall_frontier"):
        frontier_chart(df.drop(columns=["on_overall_frontier"]))
    mixed = pd.concat([df, df.assign(scenario="8k1k")])
    with pytest.raises(ValueError, match="one \\(model, hardware, precision, scenario\\)"):
        frontier_chart(mixed)


def test_empty_and_all_failed_inputs_still_build():
    df = fixed_points().assign(status="failed")
    spec = to_spec(frontier_chart(df))
    assert layer_data(spec, layer_by(spec, "points")) == []
    vlc.vegalite_to_svg(spec)  # renders (empty) without raising


def test_theme_applied_only_through_to_spec():
    before = alt.theme.active
    spec = to_spec(frontier_chart(fixed_points()))
    assert alt.theme.active == before != THEME_NAME
    assert spec["config"]["axis"]["gridColor"] and "Inter" in spec["config"]["font"]
    assert "font" not in frontier_chart(fixed_points()).to_dict().get("config", {})  # default theme outside


def test_label_colours_are_stable_across_charts():
    a = to_spec(frontier_chart(fixed_points()))
    b = to_spec(frontier_chart(fixed_points()[lambda d: d["label"] != "TP8"]))
    sa = layer_by(a, "points")["encoding"]["color"]["scale"]
    sb = layer_by(b, "points")["encoding"]["color"]["scale"]
    assert (
        dict(zip(sa["domain"], sa["range"], strict=True))["DEP8"]
        == dict(zip(sb["domain"], sb["range"], strict=True))["DEP8"]
    )


def test_png_export_works():
    png = vlc.vegalite_to_png(to_spec(frontier_chart(fixed_points())))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


# -- history charts ----------------------------------------------------------------------------
def test_history_chart_one_frontier_per_night_latest_emphasised():
    df = nights(4)
    spec = to_spec(history_chart(df, nights=3))
    data = (
        spec["datasets"][spec["layer"][0]["data"]["name"]]
        if "data" in spec["layer"][0]
        else spec["datasets"][spec["data"]["name"]]
    )
    assert sorted({r["night"] for r in data}) == ["2026-11-22", "2026-11-23", "2026-11-24"]
    assert len(data) == 3 * int(fixed_points()["on_overall_frontier"].sum())
    assert all(r["latest"] == (r["night"] == "2026-11-24") for r in data)
    groups = [m for m in marks(vlc.vegalite_to_scenegraph(spec)) if m.get("name", "").endswith("_pathgroup")]
    assert len(groups[0]["items"]) == 3
    assert spec["params"][0]["bind"] == "legend"


def test_trend_chart_best_per_label_per_night():
    df = nights(3)
    spec = to_spec(trend_chart(df))
    assert spec["facet"]["field"] == "label"
    rows = spec["datasets"][spec["data"]["name"]]
    assert len(rows) == 3 * 3  # labels x nights
    best = {(r["label"], r["night"]): r["tok_s_gpu"] for r in rows}
    assert best[("DEP8", "2026-11-21")] == 2600.0 and best[("DEP8", "2026-11-23")] == pytest.approx(
        2600.0 * 1.10
    )
    assert best[("TP8", "2026-11-21")] == 900.0  # the failed 1500 point is ignored


def test_history_and_trend_of_nights_without_an_ok_point_still_build():
    df = nights(2).assign(status="failed")
    for build in (history_chart, trend_chart):
        spec = to_spec(build(df))  # an empty chart (no ok point to draw), not an exception
        assert all(rows == [] for rows in spec.get("datasets", {}).values())


# -- hardware against hardware, run against run -------------------------------------------------
def two_hardware() -> pd.DataFrame:
    a = fixed_points().assign(hardware="h100_sxm", on_cross_frontier=False)
    b = fixed_points(scale=1.5).assign(hardware="h200_sxm")
    b["on_cross_frontier"] = b["on_overall_frontier"]
    return pd.concat([a, b], ignore_index=True)


def test_hardware_chart_matches_golden_spec():
    check_golden("hardware_chart.vl.json", to_spec(hardware_chart(two_hardware())))


def test_hardware_chart_colours_by_hardware_labels_each_line_one_frontier():
    df = two_hardware()
    spec = to_spec(hardware_chart(df))
    lines = layer_by(spec, "lines")
    assert (
        lines["encoding"]["color"]["field"] == "hardware" and lines["encoding"]["detail"]["field"] == "series"
    )
    front = layer_by(spec, "frontier")
    rows = layer_data(spec, front)
    assert {r["hardware"] for r in rows} == {"h200_sxm"}  # one envelope, only the cross-frontier rows
    assert [r["tok_s_user"] for r in rows] == sorted(r["tok_s_user"] for r in rows)
    assert "color" not in front["encoding"]  # one grey frontier, not one per hardware
    texts = [m for m in marks(vlc.vegalite_to_scenegraph(spec)) if m["marktype"] == "text"
             and m.get("name", "").startswith("layer_")]  # fmt: skip
    labels = sorted(i["text"] for i in texts[0]["items"])
    assert labels == sorted(["DEP8", "SEP4+1xDEP8", "TP8"] * 2)  # every hardware's lines labelled
    with pytest.raises(ValueError, match="one \\(model, precision, scenario\\)"):
        hardware_chart(pd.concat([df, df.assign(scenario="8k1k")]))
    with pytest.raises(ValueError, match="on_cross_frontier"):
        hardware_chart(df.drop(columns=["on_cross_frontier"]))


def test_compare_chart_one_frontier_per_run():
    df = pd.concat([fixed_points().assign(run="A r1"), fixed_points(scale=0.5).assign(run="B r2")])
    spec = to_spec(compare_chart(df))
    front = layer_by(spec, "frontier")
    assert front["encoding"]["color"]["field"] == "run" and front["encoding"]["detail"]["field"] == "run"
    assert {r["run"] for r in layer_data(spec, front)} == {"A r1", "B r2"}


def test_missing_values_become_json_null_not_nan():
    """An imported bench_serving point without a recorded concurrency (NaN) must not make the
    chart's JSON invalid: Vega-Lite gets ``null`` and the publish goes on."""
    import json as _json
    import math

    import altair as alt
    import pandas as pd

    from charts.theme import to_spec

    # an object column (as merged rows of several sources are): Altair passes its NaN through
    df = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0], "max_concurrency": pd.Series([4, float("nan"), 8], dtype=object)}
    )
    spec = to_spec(alt.Chart(df).mark_point().encode(x="x:Q", y="max_concurrency:Q"))
    _json.dumps(spec, allow_nan=False)  # raises on NaN
    (rows,) = spec["datasets"].values()
    assert [r["max_concurrency"] for r in rows][1] is None
    assert not any(isinstance(v, float) and math.isnan(v) for r in rows for v in r.values())
