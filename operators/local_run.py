"""Run a frontier DAG once, in-process, on a local SQLite Airflow home (the demo and the tests).

``prepare_airflow_home`` must run before anything imports airflow: it points AIRFLOW_HOME,
the DAGs folder and the metadata database at a project-local folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from operators.context import PROJECT_ROOT


def prepare_airflow_home(home: str | Path | None = None) -> Path:
    home = Path(home or os.environ.get("AIRFLOW_HOME") or PROJECT_ROOT / ".airflow").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    os.environ.setdefault("FRONTIER_HOME", str(PROJECT_ROOT))
    return home


def init_db(reset: bool = False) -> None:
    from airflow.utils import db

    if reset:
        db.resetdb()
    else:
        db.initdb()


def load_dag(dag_id: str, dags_folder: str | Path | None = None):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder or os.environ["AIRFLOW__CORE__DAGS_FOLDER"]))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags[dag_id]


def run_dag_once(dag_id: str, conf: dict[str, Any] | None = None, run_after=None):
    """``dag.test()`` one run; returns the DagRun (``.state``, ``.run_id``). ``run_after`` (a
    timezone-aware datetime) identifies the run while it runs (its ``run_after`` column)."""
    dag = load_dag(dag_id)
    kwargs: dict[str, Any] = {"run_conf": conf or {}}
    if run_after is not None:
        kwargs["run_after"] = run_after
    return dag.test(**kwargs)
