"""Cluster policy: give each mapped deployment task its name, its hardware's GPU pool and GPU count.

Airflow 3.3 cannot map ``pool`` / ``pool_slots`` per mapped task instance: the scheduler reads
them from ``.partial()`` only (``airflow/serialization/definitions/mappedoperator.py``:
``pool_slots`` -> ``_get_partial_kwargs_or_operator_default``; ``TaskInstance.refresh_from_task``
copies ``task.pool_slots``). ``expand_kwargs(pool_slots=...)`` is accepted at parse time but only
applied when the worker unmaps the operator, after the scheduler has already counted slots
(apache/airflow#33657, #35803). The supported per-TI hook is the ``task_instance_mutation_hook``
cluster policy, which the scheduler calls for each mapped index it creates: this one reads the
``plan`` task's XCom entry for that index (``pool``, ``pool_slots``) and sets them, if the pool
exists (else the task stays in ``default_pool`` and a warning is logged, so nothing hangs).

Install it (once per Airflow deployment), in ``$AIRFLOW_HOME/config/airflow_local_settings.py``::

    from operators.policy import task_instance_mutation_hook  # noqa: F401

and create the pools with ``frontier pools sync SPEC --api URL`` (or let the ``plan`` task sync
them through the ``frontier_airflow_api`` connection).

A fleet (CeleryExecutor, one worker per GPU node listening on the queue of its hardware kind,
``airflow celery worker --queues h100_sxm``): the same hook sets each mapped deployment's
``queue`` to its hardware kind, so it runs on a node of that kind. ``FRONTIER_HARDWARE_QUEUES``:
``auto`` (default: when ``[core] executor`` names the CeleryExecutor), ``1`` always, ``0`` never.
The other tasks stay on the default queue.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

log = logging.getLogger("frontier.policy")

OPERATOR = "BenchmarkDeploymentOperator"
PLAN_TASK_ID = "plan"
_CACHE_TTL_S = 30.0
_cache: dict[tuple[str, str], tuple[float, list[dict[str, Any]] | None]] = {}


def _plan_entries(dag_id: str, run_id: str) -> list[dict[str, Any]] | None:
    key = (dag_id, run_id)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < _CACHE_TTL_S and hit[1] is not None:
        return hit[1]
    from airflow import settings
    from airflow.models.xcom import XComModel
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    with Session(bind=settings.engine) as session:  # private read-only session: never commits the caller's
        row = session.execute(
            select(XComModel.value).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run_id,
                XComModel.task_id == PLAN_TASK_ID,
                XComModel.key == "return_value",
                XComModel.map_index == -1,
            )
        ).first()
    value = XComModel.deserialize_value(row) if row is not None else None
    entries = value if isinstance(value, list) else None
    if len(_cache) > 256:
        _cache.clear()
    _cache[key] = (time.monotonic(), entries)
    return entries


def _pool_size(name: str) -> int | None:
    from airflow import settings
    from airflow.models.pool import Pool
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    with Session(bind=settings.engine) as session:
        return session.execute(select(Pool.slots).where(Pool.pool == name)).scalar()


def hardware_queues() -> bool:
    """Whether mapped deployments go to their hardware kind's queue (see the module doc)."""
    value = os.environ.get("FRONTIER_HARDWARE_QUEUES", "auto").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    from airflow.configuration import conf

    return "celery" in str(conf.get("core", "executor", fallback="")).lower()


def task_instance_mutation_hook(task_instance, dag_run=None) -> None:
    ti = task_instance
    if getattr(ti, "operator", None) != OPERATOR or (ti.map_index is None or ti.map_index < 0):
        return
    try:
        entries = _plan_entries(ti.dag_id, ti.run_id)
        if not entries or ti.map_index >= len(entries):
            return
        entry = entries[ti.map_index]
        if entry.get("name") and getattr(ti, "_rendered_map_index", None) is None:
            # the UI names the task `TP8 / 1k1k` from its creation, not `3` until it runs
            ti._rendered_map_index = str(entry["name"])[:250]
        if entry.get("queue") and hardware_queues():
            ti.queue = entry["queue"]
        pool, gpus = entry.get("pool"), int(entry.get("pool_slots") or 1)
        if not pool:
            return
        size = _pool_size(pool)
        if size is None:
            log.warning(
                "%s[%s]: pool %s does not exist; run `frontier pools sync`; using %s",
                ti.task_id,
                ti.map_index,
                pool,
                ti.pool,
            )
            return
        from frontier.planning.pools import slots_for

        ti.pool = pool
        ti.pool_slots = slots_for(gpus, size)
        if ti.pool_slots < gpus:
            log.warning(
                "%s[%s]: needs %d GPUs but pool %s has %d slots; taking all of them",
                ti.task_id,
                ti.map_index,
                gpus,
                pool,
                size,
            )
    except Exception:  # a policy must never break scheduling
        log.exception("frontier pool policy failed for %s[%s]", ti.task_id, ti.map_index)
