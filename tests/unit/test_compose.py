"""docker-compose.yml: Airflow 3 on PostgreSQL, the site, a GPU SGLang worker in profile `gpu`.

Structure is checked in Python here; ``docker-compose config`` (a child process) validates the file
against the compose schema in tests/integration/test_compose_config.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from frontier.planning.sglang_args import SGLANG_VERSION

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
AIRFLOW = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")


@pytest.fixture(scope="module")
def doc():
    return yaml.safe_load(COMPOSE.read_text())


def test_airflow_services_on_postgres(doc):
    s = doc["services"]
    commands = {name: s[name]["command"] for name in AIRFLOW}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }
    for name in (*AIRFLOW, "airflow-init"):
        env = s[name]["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/frontier/dags"
        assert "./:/opt/frontier" in s[name]["volumes"]
    assert s["postgres"]["image"].startswith("postgres:")
    assert (
        s["airflow-scheduler"]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    )
    assert "8080:8080" in s["airflow-apiserver"]["ports"]
    dockerfile = ROOT / s["airflow-scheduler"]["build"]["dockerfile"]
    assert dockerfile.exists() and "apache/airflow:3." in dockerfile.read_text()


def test_site_served(doc):
    site = doc["services"]["site"]
    assert "./site:/usr/share/nginx/html:ro" in site["volumes"] and "8000:8000" in site["ports"]
    assert (ROOT / "docker" / "site" / "nginx.conf").exists()


def test_gpu_worker(doc):
    w = doc["services"]["sglang"]
    assert w["profiles"] == ["gpu"]
    assert w["image"].endswith(f"lmsysorg/sglang:v{SGLANG_VERSION}}}")
    dev = w["deploy"]["resources"]["reservations"]["devices"][0]
    assert dev["driver"] == "nvidia" and dev["capabilities"] == ["gpu"]
    assert w["command"][:3] == ["python3", "-m", "sglang.launch_server"]
    for name, svc in doc["services"].items():
        if name != "sglang" and svc.get("profiles") != ["fleet"]:
            assert "profiles" not in svc and "deploy" not in svc


def test_fleet_profile_celery_workers_one_queue_per_hardware_kind(doc):
    s = doc["services"]
    fleet = {name for name, svc in s.items() if svc.get("profiles") == ["fleet"]}
    assert fleet == {"redis", "minio", "airflow-worker-h100", "airflow-worker-h200"}
    env = s["airflow-scheduler"]["environment"]
    assert (
        env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    )  # LocalExecutor stays default
    assert env["AIRFLOW__CELERY__BROKER_URL"].endswith("redis://redis:6379/0}")
    queues = {}
    for name in ("airflow-worker-h100", "airflow-worker-h200"):
        cmd = s[name]["command"]
        assert cmd[:2] == ["celery", "worker"]
        queues[name] = cmd[cmd.index("--queues") + 1].split(",")
        assert s[name]["environment"]["FRONTIER_WORKER"]
        assert s[name]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
        assert s[name]["environment"]["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/frontier/dags"
    from frontier.domain import catalog

    kinds = {q for qs in queues.values() for q in qs} - {"default"}
    assert kinds == {"h100_sxm", "h200_sxm"} and kinds <= set(catalog.hardware_names())
    assert "default" in queues["airflow-worker-h200"]  # plan / marts / publish / report


def test_cluster_policy_mounted_and_postgres_extra(doc):
    policy = ROOT / "docker" / "airflow" / "airflow_local_settings.py"
    assert "from operators.policy import task_instance_mutation_hook" in policy.read_text()
    mount = "./docker/airflow/airflow_local_settings.py:/opt/airflow/config/airflow_local_settings.py:ro"
    for name in (*AIRFLOW, "airflow-init"):
        assert mount in doc["services"][name]["volumes"], name
    dockerfile = (ROOT / "docker" / "airflow" / "Dockerfile").read_text()
    assert "['optional-dependencies']['postgres']" in dockerfile
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("apache-airflow-providers-postgres") for d in extras["postgres"])
