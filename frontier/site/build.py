"""Build the whole static site for one selected night into an empty folder.

Pure with respect to the warehouse: it takes a :class:`~frontier.site.data.SiteData`. Charts come
from the :mod:`charts` builders; each chart is written as ``<name>.vl.json`` (+ ``<name>.png`` via
vl-convert) and embedded inline in its page, so pages work from ``file://`` with no network.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import vl_convert as vlc

from charts import (
    compare_chart,
    frontier_chart,
    hardware_chart,
    history_chart,
    slo_band_chart,
    to_spec,
    trend_chart,
)
from frontier.site import pages
from frontier.site.assets import write_assets
from frontier.site.data import SiteData, for_run
from frontier.site.html import chart_embed
from frontier.site.paths import group_dir, run_dir, slug

log = logging.getLogger(__name__)

GROUP = ("model", "hardware", "precision", "scenario")
PAGE_GROUP = ("model", "hardware", "scenario")


@dataclass
class ChartFile:
    """A chart written to disk: its spec (for inline embedding) and its files (site-relative)."""

    name: str
    spec: dict[str, Any]
    json_path: str
    png_path: str | None

    def embed(self, page_dir: str, caption: str = "") -> str:
        rel = lambda p: os.path.relpath(p, page_dir or ".").replace(os.sep, "/")
        return chart_embed(
            slug(self.json_path), self.spec, png=rel(self.png_path) if self.png_path else None,
            json_href=rel(self.json_path), caption=caption,
        )  # fmt: skip


class SiteBuilder:
    """Writes one site tree under ``out``; ``png=False`` skips PNG export (faster tests)."""

    def __init__(self, data: SiteData, out: Path, *, run_id: str, png: bool = True, nights: int = 14):
        self.data = data
        self.out = out
        self.run_id = run_id
        self.png = png
        self.nights = nights
        self.generated = f"generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC} by frontier publish"

    # -- files -------------------------------------------------------------------------------
    def write_text(self, rel: str, text: str) -> Path:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def chart(self, folder: str, name: str, chart) -> ChartFile:
        spec = to_spec(chart)
        json_rel = f"{folder}/{name}.vl.json"
        self.write_text(json_rel, json.dumps(spec, indent=1, allow_nan=False, default=str))
        png_rel = None
        if self.png:
            try:
                png = vlc.vegalite_to_png(spec, scale=2)
            except Exception as exc:  # noqa: BLE001 -- a PNG is a convenience: never lose the page over it
                log.warning("PNG export of %s failed: %s", json_rel, exc)
            else:
                png_rel = f"{folder}/{name}.png"
                (self.out / png_rel).write_bytes(png)
        return ChartFile(name, spec, json_rel, png_rel)

    # -- data slices -------------------------------------------------------------------------
    def run_points(self, run_id: str) -> pd.DataFrame:
        return for_run(self.data.points, run_id)

    def history_points(self) -> pd.DataFrame:
        """Points of every night up to the selected one (so republishing an old run stays honest)."""
        pts = self.data.points
        sel_date = self.data.run_date(self.run_id)
        if sel_date is None or pts.empty:
            return pts
        return pts[pd.to_datetime(pts["run_date"]).dt.date <= sel_date]

    def predictions_for(self, run_id: str, key: dict[str, str]) -> pd.DataFrame | None:
        pred = for_run(self.data.predictions, run_id)
        if pred.empty or not set(GROUP) <= set(pred.columns):
            return None
        for col, value in key.items():
            pred = pred[pred[col].astype(str) == value]
        return pred if not pred.empty else None

    # -- pages -------------------------------------------------------------------------------
    def run_charts(self, run_id: str) -> list[pages.Card]:
        """The frontier charts of one night (both y views), written under runs/<slug>/charts/."""
        pts = self.run_points(run_id)
        cards: list[pages.Card] = []
        if pts.empty:
            return cards
        folder = f"{run_dir(run_id)}/charts"
        for key_values, rows in pts.groupby(list(GROUP), sort=True, dropna=False):
            key = dict(zip(GROUP, map(str, key_values), strict=True))
            pred = self.predictions_for(run_id, key)
            name = slug(*key.values())
            charts = {
                y: self.chart(folder, f"{name}-{y}", frontier_chart(rows, y=y, predicted=pred))
                for y in ("tok_s_gpu", "tok_s_gpu_output")
            }
            cards.append(pages.Card(key=key, rows=rows, charts=charts,
                                    group_href=f"{group_dir(key['model'], key['hardware'], key['scenario'])}/index.html"))  # fmt: skip
        return cards

    def build(self) -> Path:
        write_assets(self.out)
        cards = self.run_charts(self.run_id)
        ctx = pages.Context(data=self.data, run_id=self.run_id, generated=self.generated)
        rdir = run_dir(self.run_id)
        self.write_text(f"{rdir}/index.html", pages.run_page(ctx, cards, page_dir=rdir))
        self.write_text(f"{rdir}/run.json", json.dumps({
            "run_id": self.run_id, "run_date": str(self.data.run_date(self.run_id) or ""),
            "published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }, indent=1))  # fmt: skip
        self.build_group_pages(ctx)
        hw_cards = self.hardware_cards()
        self.write_text("hardware/index.html", pages.hardware_page(ctx, hw_cards, page_dir="hardware"))
        self.write_text("slo/index.html", pages.slo_page(ctx, self.slo_charts(), page_dir="slo"))
        index = self.write_text("index.html", pages.index_page(ctx, cards, page_dir="", hardware=hw_cards))
        return index

    def compare_charts(self, cmp, *, folder: str, page_dir: str) -> list[tuple[dict[str, str], ChartFile]]:
        """One run-against-run chart per (model, hardware, precision, scenario) of a RunComparison;
        the chart files are written under ``folder`` (relative to this builder's root), and their
        paths recorded relative to the site root as ``page_dir/...``."""
        out = []
        for key_values, rows in cmp.points.groupby(list(GROUP), sort=True, dropna=False):
            key = dict(zip(GROUP, map(str, key_values), strict=True))
            name = slug(*key.values())
            title = f"{key['model']} · {key['hardware']} · {key['precision']} · {key['scenario']}"
            chart = self.chart(folder, name, compare_chart(rows, title=title))
            chart.json_path = f"{page_dir}/{name}.vl.json"
            out.append((key, chart))
        return out

    def slo_charts(self) -> list[tuple[dict[str, str], pd.DataFrame, ChartFile]]:
        """One interactivity-band chart per (model, precision, scenario) of the ``slo_bands`` mart."""
        bands = self.data.mart("slo_bands")
        out = []
        if bands is None or bands.empty:
            return out
        for key_values, rows in bands.groupby(["model", "precision", "scenario"], sort=True, dropna=False):
            key = dict(zip(("model", "precision", "scenario"), map(str, key_values), strict=True))
            title = " · ".join(key.values())
            out.append(
                (key, rows, self.chart("slo/charts", slug(*key.values()), slo_band_chart(rows, title=title)))
            )
        return out

    def hardware_cards(self) -> list[pages.HardwareCard]:
        """Hardware against hardware: one chart per (model, precision, scenario) of the
        ``hardware_points`` mart (each hardware's latest run up to the selected one)."""
        hw = self.data.mart("hardware_points")
        out: list[pages.HardwareCard] = []
        if hw is None or hw.empty:
            return out
        for key_values, rows in hw.groupby(["model", "precision", "scenario"], sort=True, dropna=False):
            key = dict(zip(("model", "precision", "scenario"), map(str, key_values), strict=True))
            name = slug(*key.values())
            charts = {
                y: self.chart("hardware/charts", f"{name}-{y}", hardware_chart(rows, y=y))
                for y in ("tok_s_gpu", "tok_s_gpu_output")
            }
            out.append(pages.HardwareCard(key=key, rows=rows, charts=charts))
        return out

    def build_group_pages(self, ctx: pages.Context) -> None:
        """One page per (model, hardware, scenario) of every run up to the selected one (not only the
        selected run's groups: an ad-hoc or imported run never hides another group's page); its
        "latest" chart is the latest run that measured the group."""
        hist = self.history_points()
        if hist.empty:
            return
        order = {rid: i for i, rid in enumerate(self.data.run_ids())}
        for key_values, _ in hist.groupby(list(PAGE_GROUP), sort=True, dropna=False):
            key = dict(zip(PAGE_GROUP, map(str, key_values), strict=True))
            gdir = group_dir(**key)
            sections = []
            mask = pd.Series(True, index=hist.index)
            for col, value in key.items():
                mask &= hist[col].astype(str) == value
            for precision, rows in hist[mask].groupby("precision", sort=True):
                last = max(rows["run_id"].astype(str).unique(), key=lambda r: order.get(r, -1))
                latest = for_run(rows, last)
                base = slug(precision)
                section = pages.GroupSection(precision=str(precision), charts={})
                if not latest.empty:
                    for y in ("tok_s_gpu", "tok_s_gpu_output"):
                        section.charts[f"latest-{y}"] = self.chart(
                            f"{gdir}/charts", f"{base}-latest-{y}", frontier_chart(latest, y=y)
                        )
                section.charts["history"] = self.chart(
                    f"{gdir}/charts", f"{base}-history", history_chart(rows, nights=min(self.nights, 7))
                )
                section.charts["trend"] = self.chart(
                    f"{gdir}/charts", f"{base}-trend", trend_chart(rows, nights=self.nights)
                )
                sections.append(section)
            self.write_text(f"{gdir}/index.html", pages.group_page(ctx, key, sections, page_dir=gdir))
