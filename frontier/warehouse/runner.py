"""Run SQL models by name against a connection from :func:`frontier.warehouse.connect`.

Parameters are bound as DuckDB named parameters (``$run_id``), never spliced into SQL text. A
model's parameters are the ``$names`` its SQL uses; any it uses and the caller omits bind NULL
(every model documents what NULL means: for marts, ``$run_id`` NULL = the latest run with points).
"""

from __future__ import annotations

import importlib
from typing import Any

import duckdb
import pandas as pd

from frontier.errors import FrontierError
from frontier.warehouse.sqlfiles import PYTHON_MODELS, is_model, model_sql, models_in, params_of, resolve


def _python_model(name: str):
    module, func = PYTHON_MODELS[name].split(":")
    return getattr(importlib.import_module(module), func)


def model_params(name: str) -> list[str]:
    full = resolve(name)
    if full in PYTHON_MODELS:
        return list(getattr(_python_model(full), "params", ("run_id",)))
    return params_of(model_sql(full))


def run_model(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> pd.DataFrame:
    """Run model ``name`` (``marts/frontier_points`` or ``frontier_points``) with bound parameters."""
    full = resolve(name)
    allowed = model_params(full)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise FrontierError(
            f"model {full!r} has no parameter(s) {', '.join(unknown)}; "
            f"its parameters are: {', '.join(allowed) or '(none)'}"
        )
    if full in PYTHON_MODELS:
        return _python_model(full)(con, **params)
    sql = model_sql(full)
    bind = {p: params.get(p) for p in allowed}
    try:
        return con.execute(sql, bind).df() if bind else con.execute(sql).df()
    except duckdb.Error as exc:
        raise FrontierError(f"model {full!r} failed: {str(exc).splitlines()[0]}") from None


def query(
    con: duckdb.DuckDBPyConnection, name_or_sql: str, params: dict | list | None = None
) -> pd.DataFrame:
    """A model name runs the model (``params`` a dict); anything else runs as ad-hoc SQL over the views."""
    if is_model(name_or_sql):
        if params is not None and not isinstance(params, dict):
            raise FrontierError(
                f"model {name_or_sql!r} takes named parameters: pass a dict such as {{'run_id': ...}}"
            )
        return run_model(con, name_or_sql, **(params or {}))
    try:
        return con.execute(name_or_sql, params).df() if params else con.execute(name_or_sql).df()
    except duckdb.Error as exc:
        raise FrontierError(
            f"query failed: {str(exc).splitlines()[0]} (name a model, e.g. frontier_points, or write SQL over "
            f"the views runs, deployments, points, requests, failures, predictions and the marts by name, "
            f"e.g. select * from frontier_points)"
        ) from None


def run_audits(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> dict[str, pd.DataFrame]:
    """Every audit in sql/audits: name -> offending rows (empty = pass). ``run_id`` None audits all runs."""
    out = {}
    for full in models_in("audits"):
        params = {"run_id": run_id} if "run_id" in model_params(full) else {}
        out[full.split("/", 1)[1]] = run_model(con, full, **params)
    return out
