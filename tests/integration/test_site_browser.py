"""The published site in a real browser: headless Chromium opens index.html from disk (file://)
with networking disabled; every chart must render to SVG marks with no script error, a label
holding markup must stay text, and a screenshot is kept under artifacts/ for humans.

Chromium comes from scripts/install-chromium.sh (Debian's package); the test is skipped, with the
reason, only when no chromium is found and the script cannot install one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from frontier.site import publish_data
from frontier.site.sample import sample_site_data

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("FRONTIER_ARTIFACTS", ROOT / "artifacts"))
EVIL = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">" \
       "</script><script>document.documentElement.setAttribute('data-pwned','script')</script>"  # fmt: skip

pytestmark = pytest.mark.timeout(600)


def find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        script = ROOT / "scripts" / "install-chromium.sh"
        try:
            res = subprocess.run(
                ["bash", str(script)], check=False, capture_output=True, text=True, timeout=540
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"chromium not installed and scripts/install-chromium.sh could not run: {exc}")
        path = find_chromium()
        if path is None:
            pytest.skip(
                f"chromium not installed and scripts/install-chromium.sh failed: {res.stderr.strip()[-300:]}"
            )
    return path


def browse(chromium: str, page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
        f"--user-data-dir={profile}",
        # network off: no proxy reachable, no name resolves
        "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
        "--virtual-time-budget=20000", *extra, page.resolve().as_uri(),
    ]  # fmt: skip
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=180)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    data = sample_site_data(dt.date(2026, 11, 24), nights=4)
    for df in (data.points, data.deployments, data.failures):
        df["label"] = df["label"].replace({"TP8": f"TP8{EVIL}"})
    root = tmp_path_factory.mktemp("browser") / "site"
    publish_data(data, root, png=False)
    return root


def html_attr(dom: str, name: str) -> str | None:
    m = re.search(rf'<html[^>]*\s{name}="([^"]*)"', dom)
    return m.group(1) if m else None


@pytest.mark.parametrize("page", ["index.html", "run", "group"])
def test_pages_render_charts_offline(chromium: str, site: Path, tmp_path: Path, page: str):
    target = {
        "index.html": site / "index.html",
        "run": next((site / "runs").glob("*/index.html")),
        "group": site / "groups" / "deepseek-r1__h200__1k1k" / "index.html",
    }[page]
    res = browse(chromium, target, tmp_path, "--dump-dom")
    dom = res.stdout
    assert res.returncode == 0, res.stderr[-2000:]
    total = int(html_attr(dom, "data-charts-total") or -1)
    assert total >= 2, "no charts found on the page"
    assert html_attr(dom, "data-charts-rendered") == str(total), (
        html_attr(dom, "data-errors"),
        res.stderr[-1500:],
    )
    assert html_attr(dom, "data-charts-failed") == "0"
    assert html_attr(dom, "data-errors") in ("[]", "&quot;[]&quot;"), html_attr(dom, "data-errors")
    errors = [c for c in console_lines(res.stderr) if re.search(r"error|uncaught|failed", c, re.IGNORECASE)]
    assert errors == []
    # SVG marks are drawn: lines and symbols in every rendered chart
    assert dom.count('class="marks"') >= total
    assert len(re.findall(r'class="mark-line role-mark', dom)) >= total
    assert 'class="mark-symbol role-mark' in dom
    # the malicious label is text in the chart (legend), never executed
    assert "data-pwned" not in (re.search(r"<html[^>]*>", dom).group(0))
    assert "TP8&lt;img src=x" in dom or "TP8&lt;img" in dom


def test_screenshot_of_index(chromium: str, site: Path, tmp_path: Path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "site-index.png"
    shot.unlink(missing_ok=True)
    res = browse(chromium, site / "index.html", tmp_path, "--window-size=1500,2400", f"--screenshot={shot}")
    assert res.returncode == 0, res.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a blank page compresses far smaller
    run_shot = ARTIFACTS / "site-run.png"
    run_shot.unlink(missing_ok=True)
    browse(
        chromium,
        next((site / "runs").glob("*/index.html")),
        tmp_path,
        "--window-size=1500,2400",
        f"--screenshot={run_shot}",
    )
    assert run_shot.read_bytes()[:4] == b"\x89PNG"
