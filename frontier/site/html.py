"""HTML building blocks of the site: escaping, the page shell, tables, and chart embedding.

Every string that came from a spec, a server, or the warehouse goes through :func:`esc` (text and
attribute values). Chart specs are embedded as JSON inside ``<script type="application/json">``
with ``<``, ``>``, ``&`` and U+2028/2029 written as ``\\uXXXX``, so a label containing
``</script>`` cannot end the script element; the page reads them with ``JSON.parse``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from frontier.site.assets import ERROR_TRAP_JS

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")
_ID_RE = re.compile(r"[^A-Za-z0-9_-]+")


def esc(value: object) -> str:
    """Text or attribute value, HTML-escaped (quotes included); None and NaN become ''."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return html.escape(str(value), quote=True)


def script_json(data: Any) -> str:
    """JSON safe to place between ``<script type="application/json">`` tags."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)
    return _JSON_ESCAPE_RE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def dom_id(*parts: object) -> str:
    """A DOM id from arbitrary parts (letters, digits, '-', '_' only)."""
    return _ID_RE.sub("-", "-".join(str(p) for p in parts)).strip("-") or "x"


def fmt_value(value: object, column: str = "") -> str:
    """A cell value as text: thousands separators, one decimal for floats, rates as percent."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if column.endswith("_pct"):  # already in percent
            return f"{value:+.1f}%" if column.startswith(("delta", "change")) else f"{value:.1f}%"
        if column.endswith("_rate"):  # a fraction
            return f"{value * 100:.1f}%"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}" if column not in ("isl", "osl", "max_concurrency", "gpus") else str(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def table(
    df: pd.DataFrame | None,
    *,
    columns: Sequence[str] | None = None,
    titles: Mapping[str, str] | None = None,
    empty: str = "none",
    classes: str = "data",
    row_class: Mapping[int, str] | None = None,
    max_rows: int = 500,
) -> str:
    """An HTML table of ``df`` (all values escaped); ``columns`` picks and orders those present."""
    if df is None or df.empty:
        return f'<p class="empty">{esc(empty)}</p>'
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    titles = titles or {}
    head = "".join(f'<th scope="col">{esc(titles.get(c, c.replace("_", " ")))}</th>' for c in cols)
    body = []
    for i, row in enumerate(df[cols].head(max_rows).itertuples(index=False)):
        cells = []
        for col, value in zip(cols, row, strict=True):
            num = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append(f"<td{' class=num' if num else ''}>{esc(fmt_value(value, col))}</td>")
        cls = (row_class or {}).get(i)
        attr = f' class="{esc(cls)}"' if cls else ""
        body.append(f"<tr{attr}>{''.join(cells)}</tr>")
    more = f'<p class="empty">{len(df) - max_rows} more rows not shown</p>' if len(df) > max_rows else ""
    return f'<table class="{esc(classes)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{more}'


def chart_embed(chart_id: str, spec: Mapping[str, Any], *, png: str | None = None, json_href: str | None = None,
                caption: str = "") -> str:  # fmt: skip
    """A chart container plus its spec (inline JSON) and download links; rendered by site.js."""
    cid = dom_id("chart", chart_id)
    links = []
    if png:
        links.append(f'<a href="{esc(png)}" download>PNG</a>')
    if json_href:
        links.append(f'<a href="{esc(json_href)}" download>Vega-Lite JSON</a>')
    foot = f'<div class="chart-links">{esc(caption)}{" · " if caption and links else ""}{" · ".join(links)}</div>'
    return (
        f'<figure class="chart-box"><div class="chart" id="{cid}" role="img"></div>'
        f'<script type="application/json" class="vl-spec" data-target="{cid}">{script_json(spec)}</script>'
        f"{foot}</figure>"
    )


def page(*, title: str, body: str, root: str, crumbs: Iterable[tuple[str, str | None]] = (),
         generated: str = "") -> str:  # fmt: skip
    """A full HTML page; ``root`` is the relative path from this page to the site root ('' or '../')."""
    nav = " <span>/</span> ".join(
        f'<a href="{esc(href)}">{esc(text)}</a>' if href else f"<strong>{esc(text)}</strong>"
        for text, href in crumbs
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="stylesheet" href="{esc(root)}assets/site.css">
<script>{ERROR_TRAP_JS}</script>
<script src="{esc(root)}assets/vega-bundle.js"></script>
</head>
<body>
<header class="top"><a class="brand" href="{esc(root)}index.html">frontier</a><nav>{nav}</nav>
<a class="archive" href="{esc(root)}runs/index.html">all nights</a></header>
<main>
{body}
</main>
<footer>{esc(generated)}</footer>
<script src="{esc(root)}assets/site.js"></script>
</body>
</html>
"""
