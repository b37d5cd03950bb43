"""Issue 18, end to end on the simulated engine: README "Compare" block run verbatim.

Two real sweeps (sweeps/compare.yaml, then sweeps/compare-slow.yaml with every GPU iteration twice
as slow) over real simulated servers land in a real warehouse; then the regression check, ad-hoc
SQL over a mart, `frontier compare` with its page, `frontier best`, and the published site
(hardware against hardware, SLO bands, everything measured, regressions) are checked.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Compare: hardware, runs, SLOs, regressions", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def frontier(cwd: Path, line: str) -> subprocess.CompletedProcess:
    argv = shlex.split(line, comments=True)
    assert argv[0] == "frontier"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for k in ("FRONTIER_WAREHOUSE", "FRONTIER_SITE", "FRONTIER_ARTIFACTS"):
        env.pop(k, None)
    return subprocess.run([sys.executable, "-m", "frontier.cli", *argv[1:]], check=False, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    work = tmp_path_factory.mktemp("compare")
    (work / "sweeps").symlink_to(REPO / "sweeps")
    lines = readme_commands()
    assert len(lines) == 5
    return work, {line: frontier(work, line) for line in lines}


def out(ran, prefix: str) -> subprocess.CompletedProcess:
    _, results = ran
    (line,) = [k for k in results if k.startswith(prefix)]
    return results[line]


def test_good_night_has_no_regression(ran):
    r = out(ran, "frontier run sweeps/compare.yaml")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "run good: no regressions against the previous run" in r.stdout


def test_one_slow_night_is_flagged_and_fails_the_run(ran):
    r = out(ran, "frontier run sweeps/compare-slow.yaml")
    assert r.returncode == 3, r.stdout[-2000:] + r.stderr[-2000:]
    flagged = re.findall(r"REGRESSION Llama-3.1-8B-Instruct (\w+) fp8 256x32 (TP\d): ([+-][\d.]+)%", r.stdout)
    assert sorted((h, label) for h, label, _ in flagged) == [
        ("h100_sxm", "TP1"), ("h100_sxm", "TP2"), ("h200_sxm", "TP1"), ("h200_sxm", "TP2")
    ]  # fmt: skip
    # twice-slower iterations: at the same tok/s/user, far less than half the throughput
    assert all(float(c) < -40 for _, _, c in flagged), flagged
    assert "vs run good; limit -10.0%" in r.stdout


def test_marts_are_named_in_ad_hoc_sql(ran):
    r = out(ran, 'frontier query "select hardware, label')
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("good") == 4 and "h100_sxm" in r.stdout and "TP2" in r.stdout


def test_compare_prints_differences_and_writes_its_page(ran):
    work, _ = ran
    r = out(ran, "frontier compare good slow")
    assert r.returncode == 0, r.stderr
    assert "compare A good -> B slow" in r.stdout
    rows = re.findall(r"(h\d00_sxm)\s+256x32\s+(TP\d)\s+([\d,]+)\s+([\d,]+)\s+([+-][\d.]+)%", r.stdout)
    assert len(rows) == 4 and all(float(c) < -40 for *_, c in rows)
    assert "--fault-slow-tokens 2.0" in r.stdout  # the launch command difference
    assert "run spec_hash:" in r.stdout and "slow_tokens: 2.0" in r.stdout  # spec diff
    page = work / "site" / "compare" / "good__slow" / "index.html"
    html = page.read_text()
    assert "Run against run" in html and html.count('class="vl-spec"') == 2
    spec = json.loads(next(page.parent.glob("*h200_sxm*.vl.json")).read_text())
    runs = {row["run"] for data in spec["datasets"].values() for row in data}
    assert runs == {"A good", "B slow"}


def test_best_under_slo(ran):
    r = out(ran, "frontier best")
    assert r.returncode == 0, r.stderr
    assert "best tok/s/GPU under p99 TTFT <= 200 ms, >= 100 tok/s/user" in r.stdout
    rows = re.findall(
        r"(h\d00_sxm)\s+fp8\s+256x32\s+(TP\d)\s+(\d)\s+(\d+)\s+([\d,]+)\s+([\d.,]+)\s+\d+\s+(\d+)", r.stdout
    )
    assert sorted(h for h, *_ in rows) == ["h100_sxm", "h200_sxm"]
    for *_, tok_s_user, ttft_p99 in rows:
        assert float(tok_s_user.replace(",", "")) >= 100 and int(ttft_p99) <= 200


def test_site_shows_hardware_slo_everything_and_regressions(ran):
    work, _ = ran
    site = work / "site"
    index = (site / "index.html").read_text()
    assert "Ad-hoc run" in index and "Nightly frontier" not in index  # a CLI run is labelled ad-hoc
    assert "regression(s) flagged" in index and "Hardware against hardware" in index
    assert index.count('<span class="pill adhoc">adhoc</span>') == 2  # everything measured: two hardware
    spec = json.loads(next((site / "hardware" / "charts").glob("*tok_s_gpu.vl.json")).read_text())
    rows = [row for data in spec["datasets"].values() for row in data]
    assert {r["hardware"] for r in rows} == {"h100_sxm", "h200_sxm"}
    frontier = [lay for lay in spec["layer"] if lay.get("description") == "frontier"]
    front_rows = spec["datasets"][frontier[0]["data"]["name"]]
    assert front_rows and all(r["on_cross_frontier"] for r in front_rows)
    assert (site / "slo" / "index.html").is_file() and list((site / "slo" / "charts").glob("*.vl.json"))
    assert (site / "compare" / "good__slow" / "index.html").is_file()
    # cost with the spec's stated assumptions, prediction accuracy per night
    assert "h200_sxm: $3.20/GPU-hour, 1,000 W/GPU (spec)" in index
    assert "h100_sxm: $2.50/GPU-hour, 700 W/GPU (catalog)" in index
    assert "Prediction accuracy by night" in index and "median |err| TPOT" in index


def test_a_later_publish_keeps_the_compare_page(ran):
    work, _ = ran
    r = frontier(work, "frontier publish --run-id good")
    assert r.returncode == 0, r.stderr
    site = work / "site"
    assert (site / "compare" / "good__slow" / "index.html").is_file()
    index = (site / "index.html").read_text()
    # as of run good: no regression yet, and the slow night's rows are not shown
    assert "No regressions flagged" in index and ">slow<" not in index
