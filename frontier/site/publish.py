"""Publish: build the site into a temp folder beside ``site_dir``, then swap it in atomically.

- The new tree is built in ``<parent>/.<name>.build-<random>`` (same filesystem, so renames are
  atomic). Earlier nights' folders (``runs/<slug>/``) are carried over from the live site (hard
  links where possible), so every night published stays reachable after republishing.
- Swap: Linux ``renameat2(RENAME_EXCHANGE)`` exchanges the two directories in one step (a reader
  sees the old site or the new one, never neither); elsewhere two renames. The old tree is removed
  afterwards. A lock file beside the site serialises concurrent publishers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

from frontier.common.locks import exclusive
from frontier.errors import FrontierError
from frontier.site import pages
from frontier.site.build import SiteBuilder
from frontier.site.data import SiteData, load_site_data
from frontier.site.paths import run_dir, slug

log = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _lock(site_dir: Path):
    """Publishers of the same site serialise (the lock lives in the lock dir, not beside the site)."""
    return exclusive(site_dir)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False where unsupported."""
    try:
        try:  # glibc's soname first: find_library runs `ldconfig -p` as a child process
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
        except OSError:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP if hasattr(errno, "ENOTSUP") else errno.EINVAL):
        return False
    raise OSError(err, f"renameat2 exchange {a} <-> {b}: {os.strerror(err)}")


def swap_in(new_tree: Path, site_dir: Path) -> None:
    """Make ``new_tree`` the live ``site_dir``; the old tree is deleted after the swap."""
    if not site_dir.exists() and not site_dir.is_symlink():
        os.rename(new_tree, site_dir)
        return
    if site_dir.is_dir() and not site_dir.is_symlink() and _exchange(new_tree, site_dir):
        shutil.rmtree(new_tree, ignore_errors=True)  # new_tree now holds the old site
        return
    old = site_dir.parent / f".{site_dir.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(site_dir, old)
    os.rename(new_tree, site_dir)
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


def _copy_tree(src: Path, dst: Path) -> None:
    def link_or_copy(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=link_or_copy, symlinks=False)


def carry_over_runs(old_site: Path, new_site: Path, *, except_slug: str) -> None:
    """Copy every ``runs/<slug>/`` of the live site into the new tree, except the one rebuilt now."""
    old_runs = old_site / "runs"
    if not old_runs.is_dir():
        return
    for child in sorted(old_runs.iterdir()):
        if (
            child.is_dir()
            and not child.is_symlink()
            and child.name != except_slug
            and (child / "run.json").is_file()
        ):
            _copy_tree(child, new_site / "runs" / child.name)


def carry_over_compares(old_site: Path, new_site: Path) -> None:
    """Copy the compare pages (``compare/<a>__<b>/``, written by ``frontier compare --site``)."""
    old = old_site / "compare"
    if not old.is_dir():
        return
    for child in sorted(old.iterdir()):
        if child.is_dir() and not child.is_symlink() and not child.name.startswith("."):
            _copy_tree(child, new_site / "compare" / child.name)


def publish_compare(cmp, site_dir: str | Path) -> Path:
    """Write the compare page of ``cmp`` (a RunComparison) into the published site at ``site_dir``:
    ``compare/<a>__<b>/index.html`` with its charts, built beside and renamed in (a reader sees the
    old page or the new one). Needs a published site (its assets)."""
    from frontier.site.build import SiteBuilder

    site_dir = Path(site_dir).absolute()
    if not (site_dir / "assets").is_dir():
        raise FrontierError(
            f"site {site_dir} is not published yet: run `frontier publish` first, then compare"
        )
    name = slug(cmp.run_a, cmp.run_b)
    with _lock(site_dir):
        tmp = site_dir / "compare" / f".build-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            builder = SiteBuilder(SiteData(points=cmp.points), tmp, run_id=cmp.run_b, png=False)
            page_dir = f"compare/{name}"
            charts = builder.compare_charts(cmp, folder=".", page_dir=page_dir)
            builder.write_text("index.html", pages.compare_page(cmp, charts, page_dir=page_dir,
                                                                generated=builder.generated))  # fmt: skip
            final = site_dir / "compare" / name
            if final.exists():
                old = site_dir / "compare" / f".old-{uuid.uuid4().hex[:8]}"
                os.rename(final, old)
                os.rename(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return site_dir / "compare" / name / "index.html"


def run_folders(site: Path) -> list[dict]:
    """The ``run.json`` of every run folder of a site tree, each with its folder ``slug``."""
    out = []
    for meta_path in sorted((site / "runs").glob("*/run.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and isinstance(meta.get("run_id"), str):
            out.append({**meta, "slug": meta_path.parent.name})
    return out


def publish_data(
    data: SiteData, site_dir: str | Path, *, run_id: str | None = None, png: bool = True
) -> Path:
    """Build the site from ``data`` and swap it into ``site_dir``; returns the live index.html."""
    site_dir = Path(site_dir).absolute()
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    if site_dir.exists() and not site_dir.is_dir():
        raise FrontierError(f"site folder {site_dir} exists and is not a folder")
    selected = run_id or data.latest_run_id()
    if selected not in data.run_ids():
        known = ", ".join(data.run_ids()[-5:]) or "none"
        raise FrontierError(f"run {selected!r} is not in the warehouse (latest runs: {known})")
    with _lock(site_dir):
        tmp = site_dir.parent / f".{site_dir.name}.build-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            builder = SiteBuilder(data, tmp, run_id=selected, png=png)
            carry_over_runs(site_dir, tmp, except_slug=slug(selected))
            carry_over_compares(site_dir, tmp)
            builder.build()
            ctx = pages.Context(data=data, run_id=selected, generated=builder.generated)
            builder.write_text("runs/index.html", pages.archive_page(ctx, run_folders(tmp)))
            swap_in(tmp, site_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    log.info("published %s (run %s) to %s", run_dir(selected), selected, site_dir)
    return site_dir / "index.html"


def publish(
    warehouse_root: str | Path, site_dir: str | Path, *, run_id: str | None = None, png: bool = True
) -> Path:
    """Publish the site for ``run_id`` (default: latest night) from the warehouse; returns index.html."""
    data = load_site_data(warehouse_root, run_id=run_id)
    return publish_data(data, site_dir, run_id=run_id, png=png)
