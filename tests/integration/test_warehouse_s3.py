"""An s3:// warehouse root against moto's S3 server on 127.0.0.1: writes through pyarrow's
S3FileSystem (temp object + server-side copy), reads through pyarrow datasets in DuckDB, the marts
equal to the same rows in a local folder. Skips when moto (``moto[server]``) is not installed.
"""

from __future__ import annotations

import datetime as dt

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from frontier.errors import FrontierError
from frontier.warehouse import Warehouse, connect, run_audits, run_model
from tests.support import point_row as pt

pytest.importorskip("moto.server", reason="moto[server] not installed")
pytestmark = pytest.mark.timeout(60)

D1, D2 = dt.date(2026, 11, 24), dt.date(2026, 11, 25)
BUCKET = "frontier-test"


@pytest.fixture(scope="module")
def endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def s3(endpoint, monkeypatch, request):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "FRONTIER_S3_ENDPOINT": endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    fs = pafs.S3FileSystem(
        endpoint_override=endpoint.split("://")[1],
        scheme="http",
        access_key="testing",
        secret_key="testing",
        region="us-east-1",
        allow_bucket_creation=True,
    )
    if fs.get_file_info(BUCKET).type == pafs.FileType.NotFound:
        fs.create_dir(BUCKET)
    prefix = f"{BUCKET}/{request.node.name}"
    yield fs, f"s3://{prefix}"
    fs.delete_dir_contents(prefix, missing_dir_ok=True)


POINTS = [
    pt("TP8", 1, 100.0, 100.0),
    pt("TP8", 2, 180.0, 50.0),
    pt("TP8", 4, 150.0, 40.0),
    pt("DEP8", 4, 300.0, 30.0),
]


def objects(fs, root):
    prefix = root.removeprefix("s3://")
    return sorted(
        i.path[len(prefix) + 1 :]
        for i in fs.get_file_info(pafs.FileSelector(prefix, recursive=True))
        if i.type == pafs.FileType.File
    )


def test_write_read_and_marts_equal_a_local_warehouse(s3, tmp_path):
    fs, root = s3
    remote, local = Warehouse(root), Warehouse(tmp_path)
    for wh in (remote, local):
        wh.write("points", POINTS[:2], run_id="r1", run_date=D1, part="a")
        wh.write("points", POINTS[2:], run_id="r1", run_date=D1, part="b")
        wh.write("points", [pt("TP8", 1, 50.0, 100.0)], run_id="r0", run_date=D1)
    path = remote.write(
        "deployments",
        [
            {
                "label": "TP8",
                "model": "m",
                "hardware": "h100_sxm",
                "precision": "fp8",
                "scenario": "1k1k",
                "gpus": 8,
            }
        ],
        run_id="r1",
        run_date=D1,
    )
    assert remote.uri(path) == f"{root}/deployments/run_date=2026-11-24/run_id=r1/part-0.parquet"
    assert [p.name for p in remote.parts("points", "r1")] == ["a.parquet", "b.parquet"]
    assert not [o for o in objects(fs, root) if ".tmp" in o]  # temp objects are gone after publishing

    con_r, con_l = connect(root), connect(tmp_path)
    for rid in ("r1", "r0"):
        got = run_model(con_r, "frontier_points", run_id=rid)
        want = run_model(con_l, "frontier_points", run_id=rid)
        assert got.equals(want), rid
    assert run_model(con_r, "frontier_points").on_label_frontier.tolist() == [True, False, True, True]
    assert all(df.empty for df in run_audits(con_r).values())


def test_rewrite_replaces_empty_removes_and_failed_write_keeps_the_old_object(s3, monkeypatch):
    fs, root = s3
    wh = Warehouse(root)
    wh.write("points", POINTS, run_id="r1", run_date=D1)
    wh.write("points", POINTS[:1], run_id="r1", run_date=D1)  # same part: replaced, not duplicated
    assert connect(root).sql("SELECT count(*) FROM points").fetchall() == [(1,)]
    wh.write("points", POINTS[:2], run_id="r1", run_date=D2)  # rerun past midnight: the old date's part goes
    assert [str(p.parent.parent.name) for p in wh.parts("points")] == ["run_date=2026-11-25"]

    def boom(*a, **k):
        raise OSError("connection reset")

    with monkeypatch.context() as m, pytest.raises(OSError):
        m.setattr(pq, "write_table", boom)
        wh.write("points", POINTS, run_id="r1", run_date=D2)
    assert objects(fs, root) == ["points/run_date=2026-11-25/run_id=r1/part-0.parquet"]  # no temp object left
    assert connect(root).sql("SELECT count(*) FROM points").fetchall() == [(2,)]  # the old object, whole

    wh.write("points", [], run_id="r1", run_date=D2)  # no rows: the stale part is removed
    assert wh.parts("points") == []


def test_clear_run_check_and_compact(s3):
    fs, root = s3
    wh = Warehouse(root)
    wh.write("points", POINTS, run_id="r1", run_date=D1)
    wh.write("points", POINTS, run_id="r2", run_date=D2)
    bad = wh.write("points", POINTS[:1], run_id="r2", run_date=D2, part="bad")
    with fs.open_output_stream(str(bad)) as fh:
        fh.write(b"PAR1 not parquet")
    with fs.open_output_stream(str(bad.parent / ".part-9.parquet.dead.tmp")) as fh:
        fh.write(b"left by a writer that died")
    report = wh.check()
    assert (
        report.checked == 3
        and [src for src, _, _ in report.quarantined] == [bad]
        and len(report.removed_temp) == 1
    )
    assert "_quarantine/points/run_date=2026-11-25/run_id=r2/bad.parquet" in objects(fs, root)
    assert len(wh.clear_run("r1")) == 1
    assert [p.parent.name for p in wh.parts("points")] == ["run_id=r2"]
    with pytest.raises(FrontierError, match="compaction is local-only"):
        wh.compact("points")
