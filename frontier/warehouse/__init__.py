"""The results warehouse: Parquet tables under one root, DuckDB views and SQL models over them.

- :class:`Warehouse` (store.py): atomic partitioned writes, clear_run, compact, check/quarantine.
- :func:`connect` (views.py): DuckDB with staging views (runs, deployments, points, requests,
  failures, predictions), intermediate views and catalog reference tables.
- :func:`run_model`, :func:`query`, :func:`run_audits` (runner.py): models from ``sql/`` by name.
"""

from frontier.warehouse.runner import model_params, query, run_audits, run_model
from frontier.warehouse.schemas import SCHEMA_VERSION, SUPPORTED_VERSIONS, TABLES
from frontier.warehouse.sqlfiles import model_names, sql_dir
from frontier.warehouse.store import CheckReport, Warehouse
from frontier.warehouse.views import connect

__all__ = [
    "SCHEMA_VERSION",
    "SUPPORTED_VERSIONS",
    "TABLES",
    "CheckReport",
    "Warehouse",
    "connect",
    "model_names",
    "model_params",
    "query",
    "run_audits",
    "run_model",
    "sql_dir",
]
