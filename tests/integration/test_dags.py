"""DAG files import with no errors, parse fast, and wire the tasks the contract names."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))

pytest.importorskip("airflow")


def test_dag_folder_has_no_import_errors():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert "nightly_frontier" in bag.dags


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_fast_without_heavy_imports(path):
    # a fresh interpreter: import airflow.sdk first (paid once per parser process), then time the file
    code = (
        "import sys, time, importlib.util, airflow.sdk\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "t = time.perf_counter()\n"
        f"spec = importlib.util.spec_from_file_location('dagfile', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(time.perf_counter() - t)\n"
        "heavy = [n for n in ('duckdb', 'pyarrow', 'altair', 'aiohttp', 'pandas', 'frontier.sim', 'frontier.loadgen')"
        " if n in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seconds, heavy = (
        out.stdout.strip().splitlines()[-2:] if out.stdout.strip().count("\n") else (out.stdout.strip(), "")
    )
    # a guard against heavy work at parse time (about 0.2 s here), not a speed target: the bound
    # leaves room for a loaded machine
    assert float(seconds) < 1.5, f"{path.name} took {seconds} s to parse"
    assert heavy == "", f"{path.name} imports {heavy} at top level"


def test_nightly_dag_shape():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["nightly_frontier"]
    assert set(dag.task_ids) == {"plan", "benchmark", "marts", "publish", "report"}
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert set(dag.params.keys()) >= {"spec", "engine", "labels", "scenarios", "concurrencies"}
    assert dag.task_dict["benchmark"].downstream_task_ids == {"marts"}
    assert dag.task_dict["marts"].downstream_task_ids == {"publish"}
    assert dag.task_dict["marts"].trigger_rule == "all_done"
    assert dag.task_dict["benchmark"].map_index_template == "{{ frontier_item }}"
