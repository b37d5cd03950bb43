"""The site on an s3:// root (a fleet's shared storage) against moto's S3 server on 127.0.0.1:
published, republished with the earlier night carried over, stale objects removed, no temp
objects left. The operators' path resolution keeps s3:// roots as they are."""

from __future__ import annotations

import datetime as dt

import pyarrow.fs as pafs
import pytest

from frontier.site.publish import publish
from frontier.site.sample import write_sample_warehouse

pytest.importorskip("moto.server", reason="moto[server] not installed")
pytestmark = pytest.mark.timeout(120)


@pytest.fixture()
def s3(monkeypatch):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "FRONTIER_S3_ENDPOINT": f"http://{host}:{port}",
    }.items():
        monkeypatch.setenv(key, value)
    fs = pafs.S3FileSystem(
        endpoint_override=f"{host}:{port}", scheme="http", access_key="testing", secret_key="testing",
        region="us-east-1", allow_bucket_creation=True,
    )  # fmt: skip
    fs.create_dir("frontier")
    yield fs
    server.stop()


def _keys(fs, prefix: str) -> set[str]:
    infos = fs.get_file_info(pafs.FileSelector(prefix, recursive=True))
    return {i.path.removeprefix(prefix + "/") for i in infos if i.type == pafs.FileType.File}


def test_site_published_to_s3_and_republished(s3, tmp_path):
    ids = write_sample_warehouse(tmp_path / "wh", last=dt.date(2026, 11, 24), nights=2)
    index = publish(tmp_path / "wh", "s3://frontier/site", run_id=ids[0], png=False)
    assert index == "s3://frontier/site/index.html"
    first = _keys(s3, "frontier/site")
    assert "index.html" in first and any(k.startswith("runs/") for k in first)
    with s3.open_output_stream("frontier/site/stale.txt") as out:
        out.write(b"old")
    publish(tmp_path / "wh", "s3://frontier/site", run_id=ids[1], png=False)
    second = _keys(s3, "frontier/site")
    runs = {k.split("/")[1] for k in second if k.startswith("runs/") and k.count("/") >= 2}
    assert len(runs) == 2  # the earlier night carried over, the new one added
    assert "stale.txt" not in second and not [k for k in second if k.split("/")[-1].startswith(".")]
    with s3.open_input_stream("frontier/site/index.html") as fh:
        assert "<html" in fh.read().decode().lower()


def test_operator_paths_keep_object_store_roots(monkeypatch):
    from operators import context as fctx

    monkeypatch.setenv("FRONTIER_WAREHOUSE", "s3://frontier/warehouse")
    monkeypatch.setenv("FRONTIER_SITE", "s3://frontier/site")
    assert fctx.warehouse_dir({}) == "s3://frontier/warehouse" and fctx.site_dir({}) == "s3://frontier/site"


def test_site_from_an_s3_warehouse(s3, tmp_path):
    ids = write_sample_warehouse("s3://frontier/warehouse", last=dt.date(2026, 11, 24), nights=1)
    assert publish("s3://frontier/warehouse", tmp_path / "site", run_id=ids[0], png=False).is_file()
