"""``connect(root)``: a DuckDB connection with the staging and intermediate views over the warehouse.

Per table ``T``:

- ``_files_T``: the live Parquet files (listed in Python: compaction and quarantine resolved),
  grouped by schema (footers read once at connect), one ``read_parquet`` per group with
  ``hive_partitioning``, the groups unioned by name (older files missing a newer column read
  NULL); an ``s3://`` root is read through pyarrow datasets instead (see _create_files_view);
- ``_empty_T``: a zero-row relation of the current schema, so a table with no files still has
  every typed column;
- ``raw_T`` = ``_files_T UNION ALL BY NAME _empty_T``; ``T`` = ``sql/staging/T.sql`` over it
  (keeps rows whose ``schema_version`` is in ``SUPPORTED_VERSIONS``).

A file whose ``schema_version`` is not supported fails ``connect`` with a FrontierError naming the
file. Then ``sql/intermediate/*.sql`` become views (all runs, no parameters) that marts build on,
and every SQL mart becomes a view of its own name with its parameters NULL (the latest run with
points), so ad-hoc SQL can name it.

Reference tables registered from Python (never spliced into SQL): ``hardware`` (frontier.domain.catalog
hardware facts), ``models`` (catalog models, one row per name/alias x precision, with active
parameter bytes), ``labels`` (each label seen in points/deployments parsed by frontier.domain.labels),
``supported_versions``, ``partitions`` (one row per live run folder: table_name, run_date, run_id,
files; from the file listing, so "which runs exist" never reads a data file).

The file list is a snapshot taken at connect time: reconnect after writes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from frontier.errors import FrontierError
from frontier.warehouse.schemas import SCHEMA_VERSION, SUPPORTED_VERSIONS, TABLES
from frontier.warehouse.sqlfiles import PYTHON_MODELS, model_sql, models_in, sql_dir, with_null_params
from frontier.warehouse.store import Warehouse, live_files


def _catalog_tables() -> dict[str, pa.Table]:
    from frontier.domain import catalog

    hw_rows = []
    for name in catalog.hardware_names():
        h = catalog.get_hardware(name)
        hw_rows.append(
            {
                "hardware": h.name,
                "hbm_gb": h.hbm_gb,
                "hbm_bw_tbs": h.hbm_bw_tbs,
                "bf16_tflops": h.bf16_tflops,
                "fp8_tflops": h.fp8_tflops,
                "gpus_per_node": h.gpus_per_node,
                "power_w": h.power_w,
                "usd_per_gpu_hour": h.usd_per_gpu_hour,
            }
        )
    model_rows = []
    for name in catalog.model_names():
        m = catalog.get_model(name)
        for alias in (m.name, *m.aliases):
            for precision in catalog.PRECISIONS:
                p = m.native_precision if m.native_precision == "fp4" else precision
                model_rows.append(
                    {
                        "model": alias,
                        "canonical_model": m.name,
                        "precision": precision,
                        "params_b": m.params_b,
                        "active_params_b": m.active_params_b,
                        "active_weight_bytes": m.active_params_b * 1e9 * catalog.BYTES_PER_PARAM[p],
                        "is_moe": m.is_moe,
                    }
                )
    model_table = (
        pa.Table.from_pylist(model_rows) if model_rows else pa.table({"model": pa.array([], pa.string())})
    )
    return {"hardware": pa.Table.from_pylist(hw_rows), "models": model_table}


def _labels_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    from frontier.domain import labels as label_grammar
    from frontier.domain.tuning import display_label

    seen = con.sql(
        "SELECT DISTINCT label, speculative FROM raw_points "
        "UNION SELECT DISTINCT label, speculative FROM raw_deployments"
    ).fetchall()
    rows = []
    for label, speculative in seen:
        if label is None:
            continue
        shown = display_label(label, speculative)  # the staging views' label ("DEP8 MTP")
        try:
            d = label_grammar.parse(label)
            rows.append(
                {
                    "label": shown,
                    "canonical": str(d),
                    "gpus": d.gpus,
                    "disaggregated": d.disaggregated,
                    "error": None,
                }
            )
        except ValueError as exc:
            rows.append(
                {"label": shown, "canonical": None, "gpus": None, "disaggregated": None, "error": str(exc)}
            )
    schema = pa.schema(
        [
            ("label", pa.string()),
            ("canonical", pa.string()),
            ("gpus", pa.int32()),
            ("disaggregated", pa.bool_()),
            ("error", pa.string()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _partitions_table(listing: dict[str, dict[Path, list[Path]]]) -> pa.Table:
    rows = []
    for table, run_dirs in listing.items():
        for d, files in run_dirs.items():
            if files:
                run_date = dt.date.fromisoformat(d.parent.name.split("=", 1)[1])
                rows.append(
                    {
                        "table_name": table,
                        "run_date": run_date,
                        "run_id": d.name.split("=", 1)[1],
                        "files": len(files),
                    }
                )
    schema = pa.schema(
        [
            ("table_name", pa.string()),
            ("run_date", pa.date32()),
            ("run_id", pa.string()),
            ("files", pa.int32()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _schema_groups(table: str, files: list[str], filesystem=None) -> dict[pa.Schema, list[str]]:
    """Files grouped by identical Arrow schema (footers read once, here, not at every query)."""
    groups: dict[pa.Schema, list[str]] = {}
    for path in files:
        try:
            schema = pq.read_schema(path, filesystem=filesystem)
        except (OSError, pa.ArrowException) as exc:
            raise FrontierError(
                f"table {table!r}: a Parquet file is unreadable ({path}: {str(exc).splitlines()[0][:200]}); "
                f"run `frontier audit --check` (Warehouse.check()) to quarantine it"
            ) from None
        groups.setdefault(schema.remove_metadata(), []).append(path)
    return groups


def _create_files_view(con: duckdb.DuckDBPyConnection, table: str, files: list[str], filesystem=None) -> None:
    """``_files_T``: one read_parquet per schema group, UNION ALL BY NAME across groups.

    ``union_by_name`` on one read_parquet would re-read every file's footer each time a query
    binds the view (~0.25 ms a file: 200 ms per query at 800 files); files of one schema need no
    reconciling, so only the few groups are unioned by name.

    Object-store roots: DuckDB's httpfs extension is not bundled with the duckdb wheel and
    ``INSTALL httpfs`` downloads it, which an offline worker cannot do; so an ``s3://`` root is
    read through pyarrow datasets (same S3FileSystem as the writer) registered into DuckDB, which
    pushes projections and filters into the pyarrow scan. ``filename`` is then NULL.
    """
    views = []
    for i, (schema, group) in enumerate(_schema_groups(table, files, filesystem).items()):
        if filesystem is not None:
            con.register(
                f"_arrow_{table}_{i}",
                ds.dataset(group, schema=schema, format="parquet", filesystem=filesystem),
            )
            con.execute(
                f"CREATE TEMP VIEW _files_{table}_{i} AS SELECT *, NULL::VARCHAR AS filename FROM _arrow_{table}_{i}"
            )
            views.append(f"SELECT * FROM _files_{table}_{i}")
            continue
        try:
            rel = con.read_parquet(group, hive_partitioning=True, union_by_name=False, filename=True)
        except duckdb.Error as exc:
            raise FrontierError(
                f"table {table!r}: a Parquet file is unreadable ({str(exc).splitlines()[0][:200]}); "
                f"run `frontier audit --check` (Warehouse.check()) to quarantine it"
            ) from None
        rel.create_view(f"_files_{table}_{i}")
        views.append(f"SELECT * FROM _files_{table}_{i}")
    con.execute(f"CREATE TEMP VIEW _files_{table} AS " + " UNION ALL BY NAME ".join(views))


def _check_versions(con: duckdb.DuckDBPyConnection, table: str) -> None:
    bad = con.execute(
        f"SELECT schema_version, any_value(filename) FROM _files_{table} "
        "WHERE schema_version IS NULL OR schema_version NOT IN (SELECT version FROM supported_versions) "
        "GROUP BY ALL LIMIT 1"
    ).fetchone()
    if bad:
        raise FrontierError(
            f"{bad[1] or 'a file'}: schema_version {bad[0]} of table {table!r} is not supported by this frontier "
            f"(supported: {', '.join(map(str, SUPPORTED_VERSIONS))}, current {SCHEMA_VERSION}); "
            f"upgrade frontier or move the file out of the warehouse"
        )


def connect(root: str | Path, *, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """Open DuckDB with every staging view (typed and empty when a table has no files) and intermediate view."""
    wh = Warehouse(root)
    con = duckdb.connect(database)
    con.register("supported_versions", pa.table({"version": pa.array(list(SUPPORTED_VERSIONS), pa.int32())}))
    for name, data in _catalog_tables().items():
        con.register(name, data)
    listing = {table: {d: live_files(d, wh.store) for d in wh.run_dirs(table)} for table in TABLES}
    con.register("partitions", _partitions_table(listing))
    for table, schema in TABLES.items():
        con.from_arrow(schema.empty_table()).create_view(f"_empty_{table}")
        files = [str(p) for files in listing[table].values() for p in files]
        if files:
            _create_files_view(con, table, files, wh.filesystem)
            try:
                _check_versions(con, table)
            except duckdb.Error as exc:
                raise FrontierError(
                    f"table {table!r}: cannot read its files ({str(exc).splitlines()[0][:200]}); "
                    f"run `frontier audit --check` (Warehouse.check()) to quarantine unreadable files"
                ) from None
            con.execute(
                f"CREATE TEMP VIEW raw_{table} AS SELECT * EXCLUDE (filename) FROM _files_{table} "
                f"UNION ALL BY NAME SELECT * FROM _empty_{table}"
            )
        else:
            con.execute(f"CREATE TEMP VIEW raw_{table} AS SELECT * FROM _empty_{table}")
    con.register("labels", _labels_table(con))
    for layer in ("staging", "intermediate"):
        _create_views(con, models_in(layer))
    _create_macros(con)
    _create_mart_views(con)
    return con


def _create_mart_views(con: duckdb.DuckDBPyConnection) -> None:
    """Every SQL mart as a view of the same name, its parameters NULL (for marts: the latest run
    with points), so ad-hoc SQL can name them: ``SELECT * FROM frontier_points WHERE ...``.
    A view only binds at creation; nothing is read until a query uses it."""
    for name in models_in("marts"):
        if name in PYTHON_MODELS:
            continue
        view = name.split("/", 1)[1]
        try:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {with_null_params(model_sql(name))}")
        except duckdb.Error as exc:
            raise FrontierError(f"model {name!r} does not compile: {str(exc).splitlines()[0]}") from None


def _create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The macros the marts share (sql/macros/*.sql: CREATE MACRO statements over the views)."""
    for path in sorted((sql_dir() / "macros").glob("*.sql")):
        try:
            con.execute(path.read_text())
        except duckdb.Error as exc:
            raise FrontierError(f"macros {path.name!r} do not compile: {str(exc).splitlines()[0]}") from None


def _create_views(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    """Create one view per model; a view naming another not yet created is retried after it."""
    pending = list(names)
    while pending:
        failed: list[tuple[str, str]] = []
        for name in pending:
            view = name.split("/", 1)[1]
            try:
                con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {model_sql(name)}")
            except duckdb.CatalogException as exc:
                failed.append((name, str(exc).splitlines()[0]))
            except duckdb.Error as exc:
                raise FrontierError(f"model {name!r} does not compile: {str(exc).splitlines()[0]}") from None
        if len(failed) == len(pending):
            raise FrontierError(f"model {failed[0][0]!r} does not compile: {failed[0][1]}")
        pending = [n for n, _ in failed]
