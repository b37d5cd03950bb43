"""Compaction: merge the many small part files of one run folder into one Parquet file, atomically.

A run folder after compaction holds ``compacted-<id>.parquet`` plus ``_compacted.json``::

    {"file": "compacted-<id>.parquet", "parts": {"<part>": [first_row, num_rows], ...}}

The manifest is the publish point: readers (:func:`frontier.warehouse.store.live_files`) see the
compacted file and ignore the loose parts it lists, so every state between the steps below is a
consistent one (never a duplicated or a missing part):

1. write the merged file (temp + rename; not yet visible: no manifest names it);
2. replace the manifest (atomic rename): the merged file becomes visible, the loose parts hidden;
3. delete the loose parts and any previous merged file.

Rewriting a part that was compacted (``Warehouse.write`` on it) writes a merged file without that
part's rows, the new loose part, then a manifest that no longer lists it. A run folder is locked
(``fcntl.flock`` on ``.lock``) while it is compacted or rewritten so two compactions don't race.
Readers snapshot the file list at ``connect()``: a connection opened before a compaction may fail
to read a deleted part; reconnect.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from frontier.warehouse.store import MANIFEST, atomic_write_table, atomic_write_text, read_manifest


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    with open(run_dir / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _compacted_slices(run_dir: Path, manifest: dict | None) -> dict[str, pa.Table]:
    if not manifest:
        return {}
    path = run_dir / manifest["file"]
    if not path.exists():
        return {}
    table = pq.read_table(path)
    return {name: table.slice(start, n) for name, (start, n) in manifest["parts"].items()}


def _publish(run_dir: Path, pieces: dict[str, pa.Table], old_manifest: dict | None) -> Path | None:
    """Write the merged file of ``pieces`` and its manifest; remove what they replace."""
    pieces = {k: v for k, v in sorted(pieces.items()) if v.num_rows}
    new_file = None
    if pieces:
        merged = pa.concat_tables(list(pieces.values()), promote_options="default")
        name = f"compacted-{uuid.uuid4().hex[:12]}.parquet"
        new_file = atomic_write_table(merged, run_dir / name)
        ranges, start = {}, 0
        for part, t in pieces.items():
            ranges[part] = [start, t.num_rows]
            start += t.num_rows
        atomic_write_text(json.dumps({"file": name, "parts": ranges}, indent=1), run_dir / MANIFEST)
    else:
        (run_dir / MANIFEST).unlink(missing_ok=True)
    if old_manifest and (run_dir / old_manifest["file"]) != new_file:
        (run_dir / old_manifest["file"]).unlink(missing_ok=True)
    return new_file


def compact_run_dir(run_dir: Path, *, min_parts: int = 2) -> Path | None:
    """Merge the loose parts of ``run_dir`` (and any earlier merged file) into one; None if nothing to do."""
    with _locked(run_dir):
        manifest = read_manifest(run_dir)
        listed = set((manifest or {}).get("parts", {}))
        loose = sorted(p for p in run_dir.glob("*.parquet") if not p.name.startswith((".", "compacted-")))
        fresh = [p for p in loose if p.stem not in listed]
        if len(fresh) + (1 if manifest else 0) < min_parts or not fresh:
            return None
        pieces = _compacted_slices(run_dir, manifest)
        for p in fresh:
            pieces[p.stem] = pq.read_table(p)
        new_file = _publish(run_dir, pieces, manifest)
        for p in loose:  # the fresh ones are now in the merged file; listed ones were already shadowed
            p.unlink(missing_ok=True)
        return new_file


def write_over_compacted(run_dir: Path, part: str, data: pa.Table | None) -> Path:
    """Replace ``part`` of a compacted run folder (``data`` None or empty: remove it)."""
    path = run_dir / f"{part}.parquet"
    with _locked(run_dir):
        manifest = read_manifest(run_dir)
        pieces = _compacted_slices(run_dir, manifest)
        pieces.pop(part, None)
        if data is not None and data.num_rows:
            atomic_write_table(data, path)  # still hidden: the current manifest lists this part
        else:
            path.unlink(missing_ok=True)
        _publish(run_dir, pieces, manifest)
    return path
