"""Object-store warehouse roots (``s3://bucket/prefix``) through pyarrow's filesystem layer.

Endpoint: ``$FRONTIER_S3_ENDPOINT``, else ``$AWS_ENDPOINT_URL`` (e.g. ``http://127.0.0.1:9000``
for MinIO or moto; unset = AWS). Region: ``$AWS_REGION`` / ``$AWS_DEFAULT_REGION`` (default
us-east-1). Credentials: the usual AWS chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``,
profile, instance role), read by pyarrow, never by frontier.

What S3 guarantees, and the publish rule built on it:

- A PUT (or the completion of a multipart upload) is atomic: a reader sees the whole new object
  or the previous one (or none), never a part. Since December 2020 S3 is strongly consistent:
  a GET or LIST after a successful PUT or DELETE sees it. Other S3-compatible stores (MinIO,
  Ceph RGW) promise the same for single objects.
- There is no rename. pyarrow's ``move`` is a server-side CopyObject (atomic for the
  destination) then a DeleteObject of the source; there are no multi-object transactions.
- pyarrow's S3 output stream *completes* the upload when closed, including when the writer
  fails halfway through a ``with`` block, so a half-written Parquet could be published if it
  were streamed to its final key.

Hence, as on a local disk: every Parquet file is written to a hidden temp object
(``.<name>.<uuid>.tmp``, ignored by readers like every dot-file) and published by a server-side
copy to its final key (atomic), then the temp object is deleted; a writer that dies leaves only a
hidden temp object (``Warehouse.check`` removes those). Replacing a part is a copy over the old
key: readers see the old or the new file. Removing a run (``clear_run``) deletes its objects one
by one: a reader that lists meanwhile can see part of the run (a local disk hides the folder
first with a rename; S3 cannot). Compaction (which relies on a lock file and a manifest
renamed into place) is local-only for now.
"""

from __future__ import annotations

import os
import uuid
from pathlib import PurePosixPath
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from frontier.errors import FrontierError


def is_uri(root: object) -> bool:
    return "://" in str(root)


def endpoint() -> str | None:
    return os.environ.get("FRONTIER_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL") or None


def filesystem() -> pafs.S3FileSystem:
    """An S3FileSystem for the configured endpoint (see the module docstring); bounded retries."""
    kwargs: dict = {
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "connect_timeout": 5,
        "request_timeout": 30,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=3),
    }
    url = endpoint()
    if url:
        parsed = urlparse(url if "://" in url else f"https://{url}")
        kwargs["endpoint_override"] = parsed.netloc
        kwargs["scheme"] = parsed.scheme or "https"
    return pafs.S3FileSystem(**kwargs)


def parse_root(root: str) -> PurePosixPath:
    """``s3://bucket/prefix`` -> ``bucket/prefix`` (pyarrow's path form); other schemes fail clearly."""
    parsed = urlparse(root)
    if parsed.scheme != "s3":
        raise FrontierError(
            f"warehouse root {root!r}: only s3:// object-store roots are supported (or a folder)"
        )
    if not parsed.netloc:
        raise FrontierError(f"warehouse root {root!r} names no bucket: write s3://bucket/prefix")
    return PurePosixPath(parsed.netloc) / parsed.path.lstrip("/")


class ObjectStore:
    """The few operations the warehouse needs, on pyarrow paths ``bucket/key`` (PurePosixPath)."""

    def __init__(self, fs: pafs.FileSystem):
        self.fs = fs

    def _info(self, path: PurePosixPath, recursive: bool = False) -> list[pafs.FileInfo]:
        try:
            return self.fs.get_file_info(
                pafs.FileSelector(str(path), allow_not_found=True, recursive=recursive)
            )
        except OSError as exc:
            raise FrontierError(
                f"object store: cannot list s3://{path} ({str(exc).splitlines()[0][:200]})"
            ) from None

    def dirs(self, path: PurePosixPath) -> list[PurePosixPath]:
        return sorted(PurePosixPath(i.path) for i in self._info(path) if i.type == pafs.FileType.Directory)

    def files(self, path: PurePosixPath, *, recursive: bool = False) -> list[PurePosixPath]:
        return sorted(
            PurePosixPath(i.path) for i in self._info(path, recursive) if i.type == pafs.FileType.File
        )

    def exists(self, path: PurePosixPath) -> bool:
        return self.fs.get_file_info(str(path)).type == pafs.FileType.File

    def read_text(self, path: PurePosixPath) -> str:
        with self.fs.open_input_stream(str(path)) as fh:
            return fh.read().decode()

    def delete(self, path: PurePosixPath) -> None:
        if self.exists(path):
            self.fs.delete_file(str(path))

    def delete_dir(self, path: PurePosixPath) -> None:
        for f in self.files(path, recursive=True):
            self.fs.delete_file(str(f))
        try:
            self.fs.delete_dir(str(path))
        except OSError:
            pass  # a prefix with no marker object: nothing left to delete

    def write_table(self, table: pa.Table, path: PurePosixPath) -> PurePosixPath:
        """Temp object, then a server-side copy to ``path`` (atomic), then the temp is deleted."""
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            pq.write_table(table, str(tmp), filesystem=self.fs, compression="zstd")
            self.fs.copy_file(str(tmp), str(path))
        finally:
            try:
                self.fs.delete_file(str(tmp))
            except OSError:
                pass  # never written, or already gone; check() removes leftovers
        return path
