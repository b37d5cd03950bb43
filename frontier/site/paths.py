"""Where things live in the site folder, and safe names for run ids and chart groups.

index.html                        the selected (latest) night
assets/                           vega bundle, site.css, site.js
runs/index.html                   every night published
runs/<run-slug>/index.html        one night: what ran, failures, versions, spec, its charts
runs/<run-slug>/charts/*.vl.json  Vega-Lite spec of each chart, beside its .png
runs/<run-slug>/run.json          the run id and date of the folder (kept across publishes)
groups/<group-slug>/index.html    one (model, hardware, scenario): latest, history, trend
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(*parts: object) -> str:
    """A file-name-safe, URL-safe name; a short hash is added when characters had to be replaced."""
    raw = "__".join(str(p) for p in parts)
    clean = _UNSAFE.sub("-", raw).strip("-.") or "x"
    if clean != raw:
        clean = f"{clean[:80]}-{hashlib.sha1(raw.encode()).hexdigest()[:8]}"
    return clean[:120]


def run_dir(run_id: str) -> str:
    return f"runs/{slug(run_id)}"


def group_dir(model: str, hardware: str, scenario: str) -> str:
    return f"groups/{slug(model, hardware, scenario)}"
