"""The ``python -m frontier.cli`` entry point as a real child process: exit status and a one-line
error on stderr (the commands themselves are tested in-process in tests/unit)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_bad_spec_exits_nonzero_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "sweeps/smoke.yaml").read_text().replace("labels: [TP1, TP2]", "labels: [DEP8]"))
    out = subprocess.run(
        [sys.executable, "-m", "frontier.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1
    assert "matrix[0]" in out.stderr and "needs a MoE model" in out.stderr


def test_cli_plan_json_on_stdout():
    out = subprocess.run(
        [sys.executable, "-m", "frontier.cli", "plan", str(ROOT / "sweeps/nightly.yaml"), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert len(json.loads(out.stdout)) == 74  # the nightly: R1 on H200/B200/GB200 x (none, mtp) + Llama
