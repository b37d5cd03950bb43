"""The Parquet store: atomic, idempotent writes of table partitions under one root folder.

Layout (hive partitioned, readable by DuckDB, Spark or Trino)::

    <root>/<table>/run_date=YYYY-MM-DD/run_id=<run_id>/<part>.parquet

Rules:

- A write goes to a hidden temp file in the same folder, then ``os.replace``: a reader never sees
  a half file. Rewriting the same ``(run_id, part)`` replaces it; different parts of one run
  coexist (parallel per-deployment tasks each write their own part).
- ``write(table, [])`` removes a stale part of that name (a rerun that produced no rows must not
  leave the previous attempt's rows behind) and writes nothing.
- Partition columns (``run_date``, ``run_id``) are also stored in each file, so a file read on
  its own still says where it belongs; DuckDB uses the file's values.
- ``compact`` merges a run's parts into one file; ``_compacted.json`` in the run folder is the
  atomic publish point (see :mod:`frontier.warehouse.compact`).
- ``check`` moves unreadable files to ``<root>/_quarantine/`` and reports them.

Object-store roots (``s3://bucket/prefix``): the same layout and rules through pyarrow's
S3FileSystem (:mod:`frontier.warehouse.objectstore`: temp object, then an atomic server-side copy;
what S3 guarantees is documented there). Paths are then ``PurePosixPath("bucket/prefix/...")``
(pyarrow's form; :meth:`Warehouse.uri` gives ``s3://...``). ``compact`` is local-only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from frontier.errors import FrontierError
from frontier.warehouse import objectstore
from frontier.warehouse.objectstore import ObjectStore
from frontier.warehouse.schemas import SCHEMA_VERSION, TABLES

RUN_ID_RE = re.compile(r"^[A-Za-z0-9._:+-]{1,200}$")
PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}$")
MANIFEST = "_compacted.json"
QUARANTINE = "_quarantine"
CONTEXT_COLUMNS = ("schema_version", "run_id", "run_date")


def validate_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id) or run_id in (".", ".."):
        raise FrontierError(
            f"run_id {run_id!r} is not valid: use 1-200 characters from A-Z a-z 0-9 . _ : + - "
            f"(no '/', '=' or spaces), e.g. scheduled__2026-11-25T02:00:00+00:00"
        )
    return run_id


def validate_part(part: object) -> str:
    if not isinstance(part, str) or not PART_RE.match(part) or part.endswith(".parquet"):
        raise FrontierError(
            f"part {part!r} is not valid: use characters from A-Z a-z 0-9 . _ + - without a leading "
            f"'.' or a '.parquet' suffix, e.g. part-0 or a deployment key such as TP8-1k1k"
        )
    return part


def validate_table(table: object) -> str:
    if table not in TABLES:
        raise FrontierError(f"unknown warehouse table {table!r}; tables are: {', '.join(TABLES)}")
    return table  # type: ignore[return-value]


def _validate_date(run_date: object) -> dt.date:
    if isinstance(run_date, dt.datetime) or not isinstance(run_date, dt.date):
        raise FrontierError(f"run_date {run_date!r} must be a datetime.date (e.g. date(2026, 11, 25))")
    return run_date


@dataclass
class CheckReport:
    """What :meth:`Warehouse.check` found: quarantined files (original -> new path, reason)."""

    checked: int = 0
    quarantined: list[tuple[Path, Path, str]] = field(default_factory=list)
    removed_temp: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.quarantined


@contextlib.contextmanager
def _temp_beside(path: Path, mode: str):
    """A temp file next to ``path``, exclusively flock-ed while it is written and published.

    The lock tells :meth:`Warehouse.check` that a live writer owns the temp file: only temp
    files nobody holds (their writer died) are removed.
    """
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fh = open(tmp, mode)  # noqa: SIM115 - closed below, after the rename
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        yield tmp, fh
        fh.flush()
        os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        fh.close()
        tmp.unlink(missing_ok=True)


def atomic_write_table(table: pa.Table, path: Path) -> Path:
    """Write ``table`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _temp_beside(path, "wb") as (_, fh):
        pq.write_table(table, fh, compression="zstd")
    return path


def atomic_write_text(text: str, path: Path) -> None:
    with _temp_beside(path, "w") as (_, fh):
        fh.write(text)


def _abandoned_temp(path: Path) -> bool:
    """True when no live writer holds this temp file's lock."""
    try:
        with open(path, "rb") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
    except BlockingIOError:
        return False
    except FileNotFoundError:  # published or cleaned meanwhile
        return False


def read_manifest(run_dir: Path, store: ObjectStore | None = None) -> dict | None:
    path = run_dir / MANIFEST
    if not (store.exists(path) if store else path.exists()):
        return None
    try:
        return json.loads(store.read_text(path) if store else path.read_text())
    except (OSError, ValueError) as exc:
        raise FrontierError(
            f"compaction manifest {path} is unreadable ({exc}); delete it and rerun compact"
        ) from None


def live_files(run_dir: Path, store: ObjectStore | None = None) -> list[Path]:
    """The Parquet files of one run folder a reader must see (compacted parts resolved)."""
    if store is not None:
        listed = [p for p in store.files(run_dir) if p.suffix == ".parquet"]
    elif run_dir.is_dir():
        listed = list(run_dir.glob("*.parquet"))
    else:
        return []
    loose = sorted(p for p in listed if not p.name.startswith((".", "compacted-")))
    manifest = read_manifest(run_dir, store)
    if manifest is None:
        return loose
    replaced = set(manifest.get("parts", {}))
    files = [p for p in loose if p.stem not in replaced]
    compacted = run_dir / manifest["file"]
    if compacted in listed:
        files.append(compacted)
    return sorted(files)


class Warehouse:
    """One warehouse root folder. See the module docstring for the layout and the rules."""

    def __init__(self, root: str | Path):
        self.store: ObjectStore | None = None
        if objectstore.is_uri(root):
            self.root = objectstore.parse_root(str(root))
            self.store = ObjectStore(objectstore.filesystem())
        else:
            self.root = Path(root)

    def __repr__(self) -> str:
        return f"Warehouse({self.uri(self.root)!r})"

    @property
    def filesystem(self):
        """The pyarrow filesystem of an object-store root (None for a folder)."""
        return self.store.fs if self.store else None

    def uri(self, path: Path) -> str:
        """``s3://bucket/key`` for an object-store path; a folder path as a string."""
        return f"s3://{path}" if self.store else str(path)

    # ---------------------------------------------------------------- paths
    def table_dir(self, table: str) -> Path:
        return self.root / validate_table(table)

    def run_dirs(self, table: str, run_id: str | None = None) -> list[Path]:
        base = self.table_dir(table)
        if run_id is not None:
            validate_run_id(run_id)
        if self.store is not None:
            return [
                d
                for day in self.store.dirs(base)
                if day.name.startswith("run_date=")
                for d in self.store.dirs(day)
                if d.name.startswith("run_id=") and (run_id is None or d.name == f"run_id={run_id}")
            ]
        if not base.is_dir():
            return []
        pattern = f"run_date=*/run_id={run_id}" if run_id is not None else "run_date=*/run_id=*"
        return sorted(p for p in base.glob(pattern) if p.is_dir())

    def part_path(self, table: str, run_id: str, run_date: dt.date, part: str = "part-0") -> Path:
        validate_run_id(run_id)
        validate_part(part)
        run_date = _validate_date(run_date)
        return (
            self.table_dir(table)
            / f"run_date={run_date.isoformat()}"
            / f"run_id={run_id}"
            / f"{part}.parquet"
        )

    def parts(self, table: str, run_id: str | None = None) -> list[Path]:
        """Live Parquet files of ``table`` (of one run, or all), in path order."""
        return [f for d in self.run_dirs(table, run_id) for f in live_files(d, self.store)]

    def files(self) -> dict[str, list[Path]]:
        return {t: self.parts(t) for t in TABLES}

    # ---------------------------------------------------------------- writes
    def to_arrow(
        self, table: str, rows: list[dict] | pa.Table, *, run_id: str, run_date: dt.date
    ) -> pa.Table:
        """Rows -> a pyarrow Table of ``table``'s schema, context columns filled; clear errors on mismatch."""
        schema = TABLES[validate_table(table)]
        validate_run_id(run_id)
        run_date = _validate_date(run_date)
        if isinstance(rows, pa.Table):
            data = rows
            n = data.num_rows
            cols = {name: data.column(name) for name in data.column_names}
        else:
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise FrontierError(f"rows for table {table!r} must be a list of dicts or a pyarrow.Table")
            n = len(rows)
            names: dict[str, None] = {}
            for r in rows:
                names.update(dict.fromkeys(r))
            cols = {name: [r.get(name) for r in rows] for name in names}
        unknown = [c for c in cols if c not in schema.names]
        if unknown:
            raise FrontierError(
                f"table {table!r} has no column(s) {', '.join(map(repr, unknown))}; "
                f"add them to frontier/warehouse/schemas.py or drop them from the rows"
            )
        for name, expected in (("run_id", run_id), ("run_date", run_date)):
            if name in cols:
                values = cols[name].to_pylist() if hasattr(cols[name], "to_pylist") else cols[name]
                if any(v is not None and v != expected for v in values):
                    raise FrontierError(
                        f"table {table!r}: rows carry {name} different from the write's {name}={expected!r}; "
                        f"write each run separately"
                    )
        if "schema_version" in cols:
            values = cols["schema_version"]
            values = values.to_pylist() if hasattr(values, "to_pylist") else values
            if any(v is not None and v != SCHEMA_VERSION for v in values):
                raise FrontierError(
                    f"table {table!r}: rows carry schema_version other than {SCHEMA_VERSION}; "
                    f"the writer always writes the current version, drop the column from the rows"
                )
        arrays = []
        for f in schema:
            if f.name == "schema_version":
                arrays.append(pa.array([SCHEMA_VERSION] * n, f.type))
            elif f.name == "run_id":
                arrays.append(pa.array([run_id] * n, f.type))
            elif f.name == "run_date":
                arrays.append(pa.array([run_date] * n, f.type))
            elif f.name not in cols:
                if not f.nullable and n:
                    raise FrontierError(
                        f"table {table!r}: column {f.name!r} is required (not null); add it to every row"
                    )
                arrays.append(pa.nulls(n, f.type))
            else:
                arrays.append(self._cast_column(table, f, cols[f.name]))
        return pa.Table.from_arrays(arrays, schema=schema)

    @staticmethod
    def _cast_column(table: str, f: pa.Field, values) -> pa.Array:
        try:
            if isinstance(values, (pa.Array, pa.ChunkedArray)):
                arr = values.cast(f.type)
            else:
                arr = pa.array(values, type=f.type, from_pandas=True)
        except (
            pa.ArrowInvalid,
            pa.ArrowTypeError,
            pa.ArrowNotImplementedError,
            TypeError,
            ValueError,
            OverflowError,
        ) as exc:
            msg = str(exc).splitlines()[0][:160]
            raise FrontierError(
                f"table {table!r}: column {f.name!r} does not fit type {f.type} ({msg}); fix the value"
            ) from None
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if not f.nullable and arr.null_count:
            raise FrontierError(
                f"table {table!r}: column {f.name!r} is required (not null); fill it in every row"
            )
        return arr

    def write(
        self,
        table: str,
        rows: list[dict] | pa.Table,
        *,
        run_id: str,
        run_date: dt.date,
        part: str = "part-0",
    ) -> Path:
        """Write one part of one run of ``table`` atomically; returns its path.

        Same (run_id, part) again replaces it. Empty ``rows`` removes a stale part and writes nothing.
        """
        path = self.part_path(table, run_id, run_date, part)
        data = self.to_arrow(table, rows, run_id=run_id, run_date=run_date)
        self._drop_other_dates(table, run_id, run_date, part)
        run_dir = path.parent
        if self.store is not None:
            if read_manifest(run_dir, self.store) is not None:
                raise FrontierError(
                    f"{self.uri(run_dir)} was compacted by another tool: rewriting its parts is local-only"
                )
            if data.num_rows == 0:
                self.store.delete(path)
                return path
            return self.store.write_table(data, path)
        if read_manifest(run_dir) is not None and part in (read_manifest(run_dir) or {}).get("parts", {}):
            from frontier.warehouse.compact import write_over_compacted

            return write_over_compacted(run_dir, part, data if data.num_rows else None)
        if data.num_rows == 0:
            if path.exists():
                path.unlink()
            return path
        return atomic_write_table(data, path)

    def _drop_other_dates(self, table: str, run_id: str, run_date: dt.date, part: str) -> None:
        """A part rewritten under another run_date (a rerun past midnight) must not survive twice."""
        for d in self.run_dirs(table, run_id):
            if d.parent.name != f"run_date={run_date.isoformat()}":
                stale = d / f"{part}.parquet"
                if self.store is not None:
                    self.store.delete(stale)
                elif stale.exists():
                    stale.unlink()

    def clear_run(self, run_id: str) -> list[Path]:
        """Remove every part of ``run_id`` in every table; returns the removed run folders.

        Each run folder is first renamed to a hidden name (readers stop seeing it at once), then deleted.
        """
        validate_run_id(run_id)
        removed = []
        for table in TABLES:
            for d in self.run_dirs(table, run_id):
                if self.store is not None:  # no rename on S3: objects go one by one (see objectstore.py)
                    self.store.delete_dir(d)
                    removed.append(d)
                    continue
                if self.root.resolve() not in d.resolve().parents:
                    raise FrontierError(
                        f"refusing to delete {d}: it is outside the warehouse root {self.root}"
                    )
                trash = d.parent / f".deleting-{uuid.uuid4().hex}"
                os.replace(d, trash)
                shutil.rmtree(trash)
                removed.append(d)
                try:
                    d.parent.rmdir()  # the run_date folder, when empty
                except OSError:
                    pass
        return removed

    def compact(
        self, table: str = "requests", run_date: dt.date | None = None, *, min_parts: int = 2
    ) -> list[Path]:
        """Merge the parts of each run (of one night, or all) of ``table`` into one file; see compact.py."""
        from frontier.warehouse.compact import compact_run_dir

        validate_table(table)
        if self.store is not None:
            raise FrontierError(
                f"compact: {self.uri(self.root)} is an object-store root; compaction is local-only for now"
            )
        out = []
        for d in self.run_dirs(table):
            if run_date is not None and d.parent.name != f"run_date={_validate_date(run_date).isoformat()}":
                continue
            merged = compact_run_dir(d, min_parts=min_parts)
            if merged is not None:
                out.append(merged)
        return out

    # ---------------------------------------------------------------- health
    def check(self, *, deep: bool = False) -> CheckReport:
        """Find unreadable Parquet files, move them to ``<root>/_quarantine/`` (same relative path), report them.

        ``deep=True`` decodes every column (slow); default reads the footer and the schema_version column.
        Also removes temp files left by a writer that died (a live writer holds its temp file's lock).
        """
        if self.store is not None:
            return self._check_object_store(deep=deep)
        report = CheckReport()
        for table in TABLES:
            base = self.root / table
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                if (
                    path.is_file()
                    and path.name.startswith(".")
                    and path.name.endswith(".tmp")
                    and _abandoned_temp(path)
                ):
                    path.unlink(missing_ok=True)
                    report.removed_temp.append(path)
            for path in self.parts(table):
                report.checked += 1
                reason = _unreadable(path, deep=deep)
                if reason is None:
                    continue
                dest = self.root / QUARANTINE / path.relative_to(self.root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists():
                    dest = dest.with_name(f"{dest.stem}.{uuid.uuid4().hex[:8]}{dest.suffix}")
                os.replace(path, dest)
                report.quarantined.append((path, dest, reason))
        return report

    def _check_object_store(self, *, deep: bool) -> CheckReport:
        assert self.store is not None
        report = CheckReport()
        for table in TABLES:
            for path in self.store.files(self.table_dir(table), recursive=True):
                if path.name.startswith(".") and path.name.endswith(".tmp"):
                    self.store.delete(path)
                    report.removed_temp.append(path)
            for path in self.parts(table):
                report.checked += 1
                reason = _unreadable(path, deep=deep, filesystem=self.store.fs)
                if reason is None:
                    continue
                dest = self.root / QUARANTINE / path.relative_to(self.root)
                if self.store.exists(dest):
                    dest = dest.with_name(f"{dest.stem}.{uuid.uuid4().hex[:8]}{dest.suffix}")
                self.store.fs.move(str(path), str(dest))
                report.quarantined.append((path, dest, reason))
        return report


def _unreadable(path: Path, *, deep: bool, filesystem=None) -> str | None:
    try:
        pf = pq.ParquetFile(filesystem.open_input_file(str(path)) if filesystem else path)
        if "schema_version" not in pf.schema_arrow.names:
            return "no schema_version column"
        if deep:
            pf.read()
        else:
            pf.read(columns=["schema_version"])
    except Exception as exc:  # noqa: BLE001 - any failure to decode means unreadable
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    return None
