"""Points of the predict engine (source ``predicted``) are drawn dashed, hollow and labelled."""

from __future__ import annotations

import json

import vl_convert as vlc

from charts import frontier_chart, to_spec
from tests.unit.test_charts import fixed_points, layer_by


def test_an_all_predicted_chart_is_dashed_hollow_and_says_predicted():
    df = fixed_points().assign(source="predicted", engine="predict")
    spec = to_spec(frontier_chart(df))
    lines = layer_by(spec, "lines")
    assert lines["mark"]["strokeDash"] == [5, 4]
    assert layer_by(spec, "points")["mark"]["filled"] is False
    assert "PREDICTED" in json.dumps(spec["title"])
    assert any(t.get("field") == "source" for t in layer_by(spec, "points")["encoding"]["tooltip"])
    vlc.vegalite_to_svg(spec)  # renders


def test_a_mixed_chart_dashes_only_the_predicted_labels():
    df = fixed_points()
    df.loc[df["label"] == "DEP8", "source"] = "predicted"
    spec = to_spec(frontier_chart(df))
    enc = layer_by(spec, "lines")["encoding"]["strokeDash"]
    assert "predicted" in json.dumps(enc)
    assert "dashed lines: predicted" in json.dumps(spec["title"])
    vlc.vegalite_to_svg(spec)


def test_a_measured_chart_is_unchanged():
    spec = to_spec(frontier_chart(fixed_points()))
    mark = layer_by(spec, "lines")["mark"]
    assert not isinstance(mark, dict) or "strokeDash" not in mark
    assert "strokeDash" not in layer_by(spec, "lines").get("encoding", {})
    assert "PREDICTED" not in json.dumps(spec["title"])
