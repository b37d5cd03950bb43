"""Warehouse sub-commands: ``frontier query``, ``frontier audit``, ``frontier compact``.

``register(subparsers)`` adds them to the top-level parser (frontier/cli/main.py); each handler takes
the argparse namespace and returns an exit code. The warehouse root is ``--warehouse`` or
``$FRONTIER_WAREHOUSE`` or ``./warehouse``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys

import pandas as pd

from frontier.errors import FrontierError


def _default_root() -> str:
    return os.environ.get("FRONTIER_WAREHOUSE", "warehouse")


def _add_root(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--warehouse", default=None, help="warehouse root folder (default $FRONTIER_WAREHOUSE or ./warehouse)"
    )


def register(subparsers) -> None:
    q = subparsers.add_parser(
        "query", help="run a SQL model by name (e.g. frontier_points) or ad-hoc SQL over the warehouse"
    )
    q.add_argument("name_or_sql", nargs="?", help="model name (see --list) or a SELECT over the views")
    _add_root(q)
    q.add_argument("--run-id", default=None, help="run to show (default: the latest run with points)")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.add_argument("--list", action="store_true", help="list the models and exit")
    q.set_defaults(handler=cmd_query)

    a = subparsers.add_parser(
        "audit", help="run the audits (sql/audits); exit 1 when any finds offending rows"
    )
    _add_root(a)
    a.add_argument("--run-id", default=None, help="audit one run (default: all runs)")
    a.add_argument("--check", action="store_true", help="first quarantine unreadable Parquet files")
    a.add_argument("--format", choices=("table", "csv", "json"), default="table")
    a.set_defaults(handler=cmd_audit)

    c = subparsers.add_parser(
        "compact", help="merge the small part files of each run into one file, atomically"
    )
    _add_root(c)
    c.add_argument("--table", default="requests")
    c.add_argument("--run-date", default=None, help="YYYY-MM-DD (default: every night)")
    c.set_defaults(handler=cmd_compact)


def _print(df: pd.DataFrame, fmt: str, title: str | None = None) -> None:
    if fmt == "csv":
        sys.stdout.write(df.to_csv(index=False))
    elif fmt == "json":
        sys.stdout.write(df.to_json(orient="records", date_format="iso") + "\n")
    else:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:  # plain fallback
            if title:
                print(title)
            print(df.to_string(index=False) if len(df) else "(no rows)")
            return
        table = Table(title=title, show_lines=False)
        for col in df.columns:
            table.add_column(str(col), overflow="fold")
        for row in df.itertuples(index=False):
            table.add_row(*(_cell(v) for v in row))
        Console(width=max(120, min(400, 14 * len(df.columns)))).print(table)
        if not len(df):
            print("(no rows)")


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return str(v)


def cmd_query(ns: argparse.Namespace) -> int:
    from frontier.warehouse import connect, model_names, model_params, query
    from frontier.warehouse.sqlfiles import is_model

    if ns.list:
        for name in model_names():
            print(name)
        return 0
    if not ns.name_or_sql:
        raise FrontierError(
            "frontier query: name a model (e.g. frontier_points) or give SQL; --list shows models"
        )
    con = connect(ns.warehouse or _default_root())
    params = None
    if is_model(ns.name_or_sql):
        params = {"run_id": ns.run_id} if "run_id" in model_params(ns.name_or_sql) and ns.run_id else {}
    elif ns.run_id:
        raise FrontierError("--run-id applies to models; in ad-hoc SQL filter on run_id yourself")
    _print(
        query(con, ns.name_or_sql, params),
        ns.format,
        title=ns.name_or_sql if is_model(ns.name_or_sql) else None,
    )
    return 0


def cmd_audit(ns: argparse.Namespace) -> int:
    from frontier.warehouse import Warehouse, connect, run_audits

    root = ns.warehouse or _default_root()
    status = 0
    if ns.check:
        report = Warehouse(root).check()
        for src, dest, reason in report.quarantined:
            print(f"quarantined {src} -> {dest}: {reason}", file=sys.stderr)
        print(f"checked {report.checked} files, quarantined {len(report.quarantined)}", file=sys.stderr)
        status = 1 if report.quarantined else 0
    results = run_audits(connect(root), run_id=ns.run_id)
    for name, df in results.items():
        verdict = "pass" if df.empty else f"FAIL ({len(df)} rows)"
        print(f"{name}: {verdict}", file=sys.stderr)
        if not df.empty:
            _print(df, ns.format, title=name)
            status = 1
    return status


def cmd_compact(ns: argparse.Namespace) -> int:
    from frontier.warehouse import Warehouse

    run_date = None
    if ns.run_date:
        try:
            run_date = dt.date.fromisoformat(ns.run_date)
        except ValueError:
            raise FrontierError(f"--run-date {ns.run_date!r} is not a date: write YYYY-MM-DD") from None
    merged = Warehouse(ns.warehouse or _default_root()).compact(table=ns.table, run_date=run_date)
    for path in merged:
        print(path)
    print(f"compacted {len(merged)} run folder(s) of {ns.table}", file=sys.stderr)
    return 0
