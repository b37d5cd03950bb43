"""Test-wide setup: a private Airflow home on SQLite, set before anything imports airflow.

Tiers (tests/README.md): tests/unit (pure, fast; enforced by tests/unit/conftest.py), tests/integration
(real servers on 127.0.0.1, real files), tests/e2e (whole DAG runs through Airflow). Shared helpers:
tests/support.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_home = Path(tempfile.mkdtemp(prefix="frontier-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home / 'airflow.db'}"
os.environ.setdefault("FRONTIER_HOME", str(ROOT))
# the live-deployment registry (frontier.launch.watchdog) of the tests' servers: never the user's
os.environ.setdefault("FRONTIER_STATE_DIR", str(_home / "live"))
# publish locks (frontier.common.locks) of the tests' sites: never the user's
os.environ.setdefault("FRONTIER_LOCK_DIR", str(_home / "locks"))
