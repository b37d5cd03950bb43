"""The demo (scripts/nightly_once.py) is quiet: Airflow's output goes to a log file; the terminal
shows a line per task and per deployment, then the summary table. A real dag.test run, tiny spec."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("airflow")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "name": "tiny",
    "engine": "sim",
    "scenarios": [{"name": "t", "isl": 64, "osl": 8}],
    "concurrencies": [1, 2],
    "load": {"num_prompts_multiplier": 1, "min_prompts": 2, "warmup_multiplier": 0},
    "sim": {"time_scale": 4.0},
    "matrix": [
        {"model": "meta-llama/Llama-3.1-8B-Instruct", "hardware": "h100_sxm", "labels": ["TP1", "TP2"]}
    ],
}


def test_demo_prints_progress_and_summary_and_logs_airflow_to_a_file(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "FRONTIER_WAREHOUSE": str(tmp_path / "warehouse"),
        "FRONTIER_SITE": str(tmp_path / "site"),
        "FRONTIER_ARTIFACTS": str(tmp_path / "artifacts"),
    }
    for k in ("AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):
        env.pop(k, None)
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "nightly_once.py"),
            "--spec",
            str(spec),
            "--no-predicted-seed",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    lines = text.splitlines()
    assert len(lines) < 40, text
    assert "[1/2] TP1 / t: success in" in text and "[2/2] TP2 / t: success in" in text
    assert "report: success" in text and ": success in" in text
    assert "best tok/s/GPU per label" in text and "TP1" in text and "TP2" in text
    assert not [ln for ln in lines if "[info" in ln or "INFO" in ln or "DAG TEST" in ln], text
    log = (tmp_path / "home" / "logs" / "nightly_once.log").read_text()
    assert "DAG TEST" in log or "[info" in log  # Airflow's own lines are in the file
    assert len(log.splitlines()) > len(lines)
