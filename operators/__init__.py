"""Thin Airflow operators over the frontier core: plan, benchmark one deployment, marts, publish, report.

Each operator only stores its arguments in ``__init__``; the work happens in ``execute`` through
``frontier`` functions, and ``on_kill`` stops any server the task started.

The operator classes load lazily (PEP 562), so ``operators.context`` and ``operators.local_run``
can be imported to set up AIRFLOW_HOME before anything imports airflow.
"""

from __future__ import annotations

import importlib

__all__ = [
    "BenchmarkDeploymentOperator",
    "BuildMartsOperator",
    "PlanSweepOperator",
    "PublishSiteOperator",
    "RunReportOperator",
]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("operators.frontier_ops"), name)
    raise AttributeError(f"module 'operators' has no attribute {name!r}")
