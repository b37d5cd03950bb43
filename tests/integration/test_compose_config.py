"""``docker-compose config`` (Debian's 1.29.2, from ``scripts/install-compose.sh``) validates
docker-compose.yml against the compose schema when installed (structure: tests/unit/test_compose.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
AIRFLOW = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose absent; bash scripts/install-compose.sh"
)
def test_docker_compose_config():
    def run(*a):
        return subprocess.run(
            ["docker-compose", "-f", str(COMPOSE), *a],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )

    out = run("config", "-q")
    assert out.returncode == 0, out.stderr
    resolved = yaml.safe_load(run("config").stdout)["services"]  # 1.29 lists every profile
    assert set(AIRFLOW) | {"postgres", "site", "sglang"} <= set(resolved)
    assert resolved["sglang"]["profiles"] == ["gpu"]
    assert resolved["sglang"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
