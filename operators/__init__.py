"""Thin Airflow operators over the frontier core: plan, benchmark one deployment, marts, publish.

Each operator only stores its arguments in ``__init__``; the work happens in ``execute`` through
``frontier`` functions, and ``on_kill`` stops any server the task started.
"""

from operators.frontier_ops import (
    BenchmarkDeploymentOperator,
    BuildMartsOperator,
    PlanSweepOperator,
    PublishSiteOperator,
)

__all__ = ["BenchmarkDeploymentOperator", "BuildMartsOperator", "PlanSweepOperator", "PublishSiteOperator"]
