"""frontier.site: publish builds a static, offline site and swaps it in atomically."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from frontier.errors import FrontierError
from frontier.site import SiteData, publish, publish_data
from frontier.site import cli as site_cli
from frontier.site.html import script_json
from frontier.site.paths import run_dir, slug
from frontier.site.sample import run_id_for, sample_site_data, write_sample_warehouse

LAST = dt.date(2026, 11, 24)
EVIL = "</script><script>document.documentElement.setAttribute('data-pwned','1')</script>"


class Scripts(HTMLParser):
    """Collects <script> elements (attrs + text) and all text outside them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict, str]] = []
        self._in: dict | None = None
        self._buf: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in, self._buf = dict(attrs), []

    def handle_endtag(self, tag):
        if tag == "script" and self._in is not None:
            self.scripts.append((self._in, "".join(self._buf)))
            self._in = None

    def handle_data(self, data):
        (self._buf if self._in is not None else self.text).append(data)


def parse(path: Path) -> Scripts:
    p = Scripts()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def evil_data(nights: int = 2) -> SiteData:
    data = sample_site_data(LAST, nights=nights)
    for df in (data.points, data.failures, data.deployments):
        if "label" in df.columns:
            df["label"] = df["label"].replace({"TP8": f"TP8{EVIL}"})
    data.runs["spec_yaml"] = "name: x\nnote: </pre><script>alert(1)</script>\n"
    return data


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pub") / "site"
    index = publish_data(evil_data(), root, png=True)
    assert index == root / "index.html"
    return root


def test_site_layout(site: Path):
    rid = run_id_for(LAST)
    assert (site / "index.html").is_file()
    assert (site / "runs" / "index.html").is_file()
    rd = site / run_dir(rid)
    assert rd.name == slug(rid) and ":" not in rd.name and "+" not in rd.name
    assert json.loads((rd / "run.json").read_text())["run_id"] == rid
    charts = sorted(p.name for p in (rd / "charts").iterdir())
    assert "deepseek-r1__h200__fp8__1k1k-tok_s_gpu.vl.json" in charts
    for spec_file in (rd / "charts").glob("*.vl.json"):
        spec = json.loads(spec_file.read_text())
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
        png = spec_file.with_name(spec_file.name.replace(".vl.json", ".png"))
        assert png.read_bytes()[:4] == b"\x89PNG"
    groups = sorted(p.name for p in (site / "groups").iterdir())
    assert groups == ["deepseek-r1__h200__1k1k", "deepseek-r1__h200__8k1k"]
    assert not [
        p
        for p in site.parent.iterdir()
        if p.name.startswith(".site.build-") or p.name.startswith(".site.old-")
    ]


def test_js_shipped_locally_no_network_references(site: Path):
    bundle = (site / "assets" / "vega-bundle.js").read_text()
    assert "vegaEmbed" in bundle and len(bundle) > 500_000
    for page in site.rglob("*.html"):
        html = page.read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), page
        for attrs, _ in parse(page).scripts:
            if "src" in attrs:
                assert (page.parent / attrs["src"]).resolve().is_file(), (page, attrs["src"])


def test_labels_are_escaped_as_text_and_specs_cannot_break_out(site: Path):
    for page in [site / "index.html", site / run_dir(run_id_for(LAST)) / "index.html"]:
        html = page.read_text()
        doc = parse(page)
        assert "setAttribute('data-pwned'" not in "".join(
            s for a, s in doc.scripts if "vl-spec" not in a.get("class", "")
        )
        assert "<script>alert(1)" not in html and "<script>document" not in html
        if "runs/" in str(page):  # the run page's deployment table shows the label as text
            assert f"TP8{EVIL}" in "".join(doc.text), page
        specs = [(a, s) for a, s in doc.scripts if a.get("class") == "vl-spec"]
        assert specs and all(a.get("type") == "application/json" for a, _ in specs)
        labels = set()
        for _, text in specs:
            assert "</" not in text and "<" not in text
            spec = json.loads(text)
            for rows in spec.get("datasets", {}).values():
                labels |= {r.get("label") for r in rows}
        assert f"TP8{EVIL}" in labels
        # bundle, site.js, error trap, and one script per chart: nothing else
        others = [a for a, _ in doc.scripts if a.get("class") != "vl-spec"]
        assert len(others) == 3


def test_script_json_escapes_breakouts():
    text = script_json({"a": "</script><!-- \u2028 & >"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- \u2028 & >"}


def test_index_shows_night_summary_failures_and_missing_marts(site: Path):
    html = (site / "index.html").read_text()
    assert "Nightly frontier" in html and "2026-11-24" in html
    assert "all requests timed out after 600 s" in html
    assert "regressions: not available" in html  # SiteData without marts says so, no crash
    assert 'href="runs/' in html and 'href="groups/deepseek-r1__h200__1k1k/index.html"' in html


def test_run_page_lists_what_ran_failures_versions_spec(site: Path):
    page = site / run_dir(run_id_for(LAST)) / "index.html"
    html = page.read_text()
    for text in ("What ran", "Failures", "Versions", "Spec", "sim-0.1", "a1b2c3d", "aiohttp.ServerTimeoutError",
                 "sglang.launch_server"):  # fmt: skip
        assert text in html, text
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_republish_keeps_previous_nights(tmp_path: Path):
    site = tmp_path / "site"
    data = sample_site_data(LAST, nights=3)
    ids = data.run_ids()
    publish_data(data, site, run_id=ids[0], png=False)
    publish_data(data, site, run_id=ids[1], png=False)
    first_inode = (site / "index.html").stat().st_ino
    # the warehouse forgot the first night: its folder survives anyway
    later = SiteData(
        points=data.points[data.points["run_id"] != ids[0]], runs=data.runs[data.runs["run_id"] != ids[0]]
    )
    publish_data(later, site, png=False)
    for rid in ids:  # ids[0] carried over, ids[1] carried over, ids[2] built now
        assert (site / run_dir(rid) / "index.html").is_file(), rid
        assert (site / run_dir(rid) / "charts").is_dir(), rid
    assert (site / "index.html").stat().st_ino != first_inode
    archive = (site / "runs" / "index.html").read_text()
    assert all(rid in archive for rid in ids)
    assert "2026-11-24" in (site / "index.html").read_text()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "site"]
    assert leftovers == []  # no temp folder, no lock file beside the site


def test_failed_build_leaves_live_site_untouched(tmp_path: Path):
    site = tmp_path / "site"
    data = sample_site_data(LAST, nights=1)
    publish_data(data, site, png=False)
    before = (site / "index.html").read_text()
    broken = SiteData(points=data.points.drop(columns=["on_overall_frontier"]), runs=data.runs)
    with pytest.raises(ValueError, match="on_overall_frontier"):
        publish_data(broken, site, png=False)
    assert (site / "index.html").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_unknown_run_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FrontierError, match="run 'nope'"):
        publish_data(sample_site_data(LAST, nights=1), tmp_path / "site", run_id="nope", png=False)


# -- through the real warehouse ------------------------------------------------------------------
@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("wh") / "warehouse"
    return root, write_sample_warehouse(root, LAST, nights=4)


def test_publish_from_warehouse_shows_marts(warehouse, tmp_path: Path):
    root, ids = warehouse
    index = publish(root, tmp_path / "site", png=False)
    html = index.read_text()
    assert "Winners per interactivity band" in html and "@ 50 tok/s/user" in html
    assert "regression(s) flagged" in html  # the sample's last night is 15 % worse
    assert "not available" not in html
    rd = tmp_path / "site" / run_dir(ids[-1])
    assert (rd / "index.html").is_file()
    group = (tmp_path / "site" / "groups" / "deepseek-r1__h200__1k1k" / "index.html").read_text()
    assert group.count('class="vl-spec"') == 4  # latest x2, history, trend
    hist = json.loads(
        (
            tmp_path / "site" / "groups" / "deepseek-r1__h200__1k1k" / "charts" / "fp8-history.vl.json"
        ).read_text()
    )
    nights = {r["night"] for rows in hist["datasets"].values() for r in rows}
    assert len(nights) == 4


def test_publish_older_run_from_warehouse(warehouse, tmp_path: Path):
    root, ids = warehouse
    index = publish(root, tmp_path / "site", run_id=ids[1], png=False)
    assert "2026-11-22" in index.read_text()
    hist = json.loads(
        (
            tmp_path / "site" / "groups" / "deepseek-r1__h200__1k1k" / "charts" / "fp8-history.vl.json"
        ).read_text()
    )
    assert {r["night"] for rows in hist["datasets"].values() for r in rows} == {"2026-11-21", "2026-11-22"}


def test_missing_warehouse_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FrontierError, match="does not exist"):
        publish(tmp_path / "nowhere", tmp_path / "site")


def test_cli_publish(warehouse, tmp_path: Path, capsys):
    root, _ = warehouse
    parser = argparse.ArgumentParser(prog="frontier")
    site_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["publish", "--warehouse", str(root), "--site", str(tmp_path / "s"), "--no-png"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out.strip()
    assert out == str((tmp_path / "s" / "index.html").absolute())


def test_cli_publish_through_frontier_main(warehouse, tmp_path: Path, capsys):
    from frontier.cli.main import main

    root, _ = warehouse
    assert main(["publish", "--warehouse", str(root), "--site", str(tmp_path / "s"), "--no-png"]) == 0
    assert capsys.readouterr().out.strip().endswith("index.html")
    assert main(["publish", "--warehouse", str(tmp_path / "missing"), "--site", str(tmp_path / "s")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_sample_frontier_points_match_the_contract():
    from charts.contract import FRONTIER_POINTS_COLUMNS

    pts = sample_site_data(LAST, nights=1).points
    assert list(pts.columns) == list(FRONTIER_POINTS_COLUMNS)
    assert isinstance(pts, pd.DataFrame) and pts["on_overall_frontier"].any()
