"""Warehouse storage: atomic partitioned writes, reruns, clear_run, compaction, quarantine, versions."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from frontier.errors import FrontierError
from frontier.warehouse import Warehouse, connect, query, schemas
from tests.support import point_row, request_row

D1 = dt.date(2026, 11, 25)
D2 = dt.date(2026, 11, 26)


def point(label="TP8", mc=4, **kw):
    return point_row(
        label,
        mc,
        total_token_throughput=1000.0 * mc,
        output_throughput=500.0 * mc,
        median_tpot_ms=5.0 * mc,
        mean_tpot_ms=5.0 * mc,
        **kw,
    )


request = request_row


def count(root, sql):
    return query(connect(root), sql).iloc[0, 0]


def test_write_layout_and_context_columns(tmp_path):
    wh = Warehouse(tmp_path)
    path = wh.write(
        "points", [point()], run_id="manual__2026-11-25T02:00:00+00:00", run_date=D1, part="TP8-1k1k"
    )
    assert (
        path
        == tmp_path / "points/run_date=2026-11-25/run_id=manual__2026-11-25T02:00:00+00:00/TP8-1k1k.parquet"
    )
    t = pq.read_table(path)
    assert t.schema.equals(schemas.POINTS)
    assert t.column("schema_version").to_pylist() == [schemas.SCHEMA_VERSION]
    assert t.column("run_id").to_pylist() == ["manual__2026-11-25T02:00:00+00:00"]
    assert t.column("run_date").to_pylist() == [D1]
    assert [p.name for p in path.parent.iterdir()] == ["TP8-1k1k.parquet"]  # no temp file left
    row = connect(tmp_path).sql("SELECT run_id, run_date, label FROM points").fetchall()
    assert row == [("manual__2026-11-25T02:00:00+00:00", D1, "TP8")]


def test_rewrite_part_replaces_and_parts_coexist(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write("points", [point(mc=4), point(mc=8)], run_id="r1", run_date=D1, part="a")
    wh.write("points", [point(label="TP4", gpus=4)], run_id="r1", run_date=D1, part="b")
    wh.write("points", [point(mc=16)], run_id="r1", run_date=D1, part="a")  # rerun of part a
    assert [p.name for p in wh.parts("points", "r1")] == ["a.parquet", "b.parquet"]
    df = query(connect(tmp_path), "SELECT label, max_concurrency FROM points ORDER BY ALL")
    assert df.values.tolist() == [["TP4", 4], ["TP8", 16]]


def test_rerun_past_midnight_moves_the_part(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write("points", [point()], run_id="r1", run_date=D1)
    wh.write("points", [point(mc=8)], run_id="r1", run_date=D2)
    assert count(tmp_path, "SELECT count(*) FROM points") == 1


def test_empty_rows_remove_stale_part(tmp_path):
    wh = Warehouse(tmp_path)
    path = wh.write("points", [point()], run_id="r1", run_date=D1, part="a")
    assert wh.write("points", [], run_id="r1", run_date=D1, part="a") == path
    assert not path.exists() and wh.parts("points") == []


def test_arrow_table_input(tmp_path):
    wh = Warehouse(tmp_path)
    t = pa.Table.from_pylist([point(), point(mc=8)])
    wh.write("points", t, run_id="r1", run_date=D1)
    assert count(tmp_path, "SELECT sum(max_concurrency) FROM points") == 12


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"run_id": "a/b"}, "run_id 'a/b' is not valid"),
        ({"run_id": "x=1"}, "run_id 'x=1' is not valid"),
        ({"run_id": ".."}, "run_id '..' is not valid"),
        ({"part": "../p"}, "part '../p' is not valid"),
        ({"part": "p.parquet"}, "part 'p.parquet' is not valid"),
        ({"run_date": "2026-11-25"}, "must be a datetime.date"),
    ],
)
def test_bad_names_are_clear_errors(tmp_path, kwargs, match):
    args = {"run_id": "r1", "run_date": D1, "part": "part-0"} | kwargs
    with pytest.raises(FrontierError, match=match):
        Warehouse(tmp_path).write("points", [point()], **args)


def test_type_mismatch_names_the_column(tmp_path):
    with pytest.raises(FrontierError, match="column 'max_concurrency' does not fit type int32"):
        Warehouse(tmp_path).write("points", [point(max_concurrency="lots")], run_id="r1", run_date=D1)
    with pytest.raises(FrontierError, match="no column\\(s\\) 'bogus'"):
        Warehouse(tmp_path).write("points", [point(bogus=1)], run_id="r1", run_date=D1)
    with pytest.raises(FrontierError, match="column 'label' is required"):
        Warehouse(tmp_path).write("points", [point(label=None)], run_id="r1", run_date=D1)
    with pytest.raises(FrontierError, match="unknown warehouse table 'pointz'"):
        Warehouse(tmp_path).write("pointz", [point()], run_id="r1", run_date=D1)
    with pytest.raises(FrontierError, match="rows carry run_id"):
        Warehouse(tmp_path).write("points", [point(run_id="other")], run_id="r1", run_date=D1)


def test_clear_run_removes_every_table(tmp_path):
    wh = Warehouse(tmp_path)
    for run in ("r1", "r2"):
        wh.write("points", [point()], run_id=run, run_date=D1, part="a")
        wh.write("requests", [request(0)], run_id=run, run_date=D1, part="a")
    removed = wh.clear_run("r1")
    assert len(removed) == 2
    assert wh.parts("points", "r1") == [] and wh.parts("requests", "r1") == []
    assert len(wh.parts("points", "r2")) == 1
    assert count(tmp_path, "SELECT count(DISTINCT run_id) FROM requests") == 1
    with pytest.raises(FrontierError):
        wh.clear_run("../points")


def test_compact_merges_atomically_and_rewrite_after_compaction(tmp_path):
    wh = Warehouse(tmp_path)
    for part in ("a", "b", "c"):
        wh.write("requests", [request(i, mc=4) for i in range(5)], run_id="r1", run_date=D1, part=part)
    wh.write("requests", [request(0)], run_id="r2", run_date=D2, part="a")
    merged = wh.compact("requests", run_date=D1)
    assert len(merged) == 1 and merged[0].name.startswith("compacted-")
    assert wh.parts("requests", "r1") == merged
    run_dir = merged[0].parent
    assert sorted(p.name for p in run_dir.glob("*.parquet")) == [merged[0].name]
    assert count(tmp_path, "SELECT count(*) FROM requests") == 16
    # rerun of one compacted part: its rows replaced, no duplicates
    wh.write("requests", [request(0), request(1)], run_id="r1", run_date=D1, part="b")
    assert count(tmp_path, "SELECT count(*) FROM requests WHERE run_id = 'r1'") == 12
    # removing a compacted part with an empty write
    wh.write("requests", [], run_id="r1", run_date=D1, part="c")
    assert count(tmp_path, "SELECT count(*) FROM requests WHERE run_id = 'r1'") == 7
    # compacting again folds the loose part back in
    wh.compact("requests")
    assert count(tmp_path, "SELECT count(*) FROM requests WHERE run_id = 'r1'") == 7
    assert len(wh.parts("requests", "r1")) == 1
    assert not wh.compact("requests")  # nothing left to do


def test_compact_crash_before_manifest_leaves_no_duplicates(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write("requests", [request(0)], run_id="r1", run_date=D1, part="a")
    wh.write("requests", [request(1)], run_id="r1", run_date=D1, part="b")
    # a merged file written but never published (no manifest) is invisible
    t = pa.concat_tables([pq.read_table(p) for p in wh.parts("requests")])
    pq.write_table(t, wh.parts("requests")[0].parent / "compacted-deadbeef.parquet")
    assert count(tmp_path, "SELECT count(*) FROM requests") == 2


def test_corrupt_file_quarantined_and_views_keep_working(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write("points", [point()], run_id="r1", run_date=D1, part="good")
    bad = wh.write("points", [point(mc=8)], run_id="r1", run_date=D1, part="bad")
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(FrontierError, match="frontier audit --check"):
        connect(tmp_path)
    report = wh.check()
    assert report.checked == 2 and not report.ok
    [(src, dest, reason)] = report.quarantined
    assert src == bad and dest == tmp_path / "_quarantine" / bad.relative_to(tmp_path) and dest.exists()
    assert reason
    assert count(tmp_path, "SELECT count(*) FROM points") == 1
    assert wh.check().ok


def test_unsupported_schema_version_is_a_clear_error(tmp_path):
    wh = Warehouse(tmp_path)
    path = wh.write("points", [point()], run_id="r1", run_date=D1)
    t = pq.read_table(path)
    t = t.set_column(0, "schema_version", pa.array([99], pa.int32()))
    pq.write_table(t, path)
    with pytest.raises(FrontierError, match="schema_version 99 of table 'points' is not supported"):
        connect(tmp_path)


def test_older_schema_version_missing_a_column_reads_null(tmp_path, monkeypatch):
    from frontier.warehouse import views

    monkeypatch.setattr(views, "SUPPORTED_VERSIONS", (0, 1))
    wh = Warehouse(tmp_path)
    wh.write("points", [point()], run_id="new", run_date=D2)
    old = pa.table(
        {
            "schema_version": pa.array([0], pa.int32()),
            "run_id": ["old"],
            "run_date": [D1],
            "label": ["TP8"],
            "model": ["m"],
            "hardware": ["h100_sxm"],
            "precision": ["fp8"],
            "scenario": ["1k1k"],
        }
    )
    path = tmp_path / "points/run_date=2026-11-25/run_id=old/part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(old, path)
    df = query(connect(tmp_path), "SELECT run_id, schema_version, client_limited FROM points ORDER BY run_id")
    assert df["run_id"].tolist() == ["new", "old"] and df["schema_version"].tolist() == [1, 0]
    assert df["client_limited"].isna().tolist() == [True, True]


def test_all_files_of_a_table_lacking_a_new_column_still_have_it(tmp_path):
    path = tmp_path / "failures/run_date=2026-11-25/run_id=r1/part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "schema_version": pa.array([1], pa.int32()),
                "run_id": ["r1"],
                "run_date": [D1],
                "label": ["TP8"],
                "model": ["m"],
                "hardware": ["h"],
                "precision": ["fp8"],
                "scenario": ["1k1k"],
            }
        ),
        path,
    )
    df = query(connect(tmp_path), "SELECT label, reason, log_tail FROM failures")
    assert df.values.tolist()[0][0] == "TP8" and df["reason"].isna().all()


def test_empty_warehouse_views_are_typed(tmp_path):
    con = connect(tmp_path / "nothing-here")
    for table, schema in schemas.TABLES.items():
        cols = con.sql(f"DESCRIBE {table}").fetchall()
        assert [c[0] for c in cols] == schema.names
    assert con.sql("SELECT typeof(run_date), typeof(itl_ms) FROM requests LIMIT 0").columns


def test_object_store_roots_other_than_s3_are_a_clear_error():
    with pytest.raises(FrontierError, match="only s3:// object-store roots are supported"):
        Warehouse("gs://bucket/prefix")
    with pytest.raises(FrontierError, match="names no bucket"):
        Warehouse("s3:///prefix")


def test_atomic_write_leaves_old_file_when_write_fails(tmp_path, monkeypatch):
    wh = Warehouse(tmp_path)
    path = wh.write("points", [point()], run_id="r1", run_date=D1)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        wh.write("points", [point(mc=8)], run_id="r1", run_date=D1)
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == ["part-0.parquet"]


def test_sql_dir_found_in_an_installed_prefix(tmp_path, monkeypatch):
    """A wheel install puts sql/ under <prefix>/share/frontier/sql (pyproject data-files)."""
    import shutil
    import sysconfig

    from frontier.warehouse import sqlfiles

    installed = tmp_path / "share" / "frontier" / "sql"
    shutil.copytree(sqlfiles.sql_dir(), installed)
    fake_module = tmp_path / "site-packages" / "frontier" / "warehouse" / "sqlfiles.py"
    monkeypatch.delenv("FRONTIER_SQL_DIR", raising=False)
    monkeypatch.setattr(sqlfiles, "__file__", str(fake_module))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    assert sqlfiles.sql_dir() == installed


def test_check_keeps_a_live_writers_temp_file_and_removes_a_dead_ones(tmp_path):
    import fcntl

    wh = Warehouse(tmp_path)
    folder = tmp_path / "points" / "run_date=2026-11-25" / "run_id=r1"
    folder.mkdir(parents=True, exist_ok=True)
    live, dead = folder / ".part-1.parquet.live.tmp", folder / ".part-2.parquet.dead.tmp"
    live.write_bytes(b"partial")
    dead.write_bytes(b"partial")
    with open(live, "rb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # a writer in progress holds its lock
        report = wh.check()
        assert live.exists() and not dead.exists()
        assert report.removed_temp == [dead]
    assert wh.check().removed_temp == [live]  # once the writer is gone, its leftover goes too


def test_sql_parameters_skip_literals_and_comments_in_one_pass():
    """A "--" inside a string literal is not a comment; a quote inside a comment opens no literal."""
    import duckdb

    from frontier.warehouse.sqlfiles import params_of, with_null_params

    sql = (
        'SELECT regexp_extract(x, \'"--time-scale", "([^"]+)"\', 1) AS t, \'$not_a_param\' AS s\n'
        "-- it's a comment with $nor_this\n"
        "FROM (SELECT '\"--time-scale\", \"4\"' AS x) WHERE $run_id IS NULL OR $run_id = 'r'"
    )
    assert params_of(sql) == ["run_id"]
    nulled = with_null_params(sql)
    assert "'$not_a_param'" in nulled and "$run_id" not in nulled and "nor_this" not in nulled
    assert duckdb.sql(nulled).fetchall() == [("4", "$not_a_param")]
