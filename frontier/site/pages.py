"""Page bodies: the nightly index, one page per run, one per (model, hardware, scenario), and the
archive of nights. Every value shown is escaped by :mod:`frontier.site.html` helpers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from frontier.site.data import SiteData, for_run
from frontier.site.html import dom_id, esc, fmt_value, page, table
from frontier.site.paths import group_dir, slug

if TYPE_CHECKING:
    from frontier.site.build import ChartFile

__all__ = [
    "Card",
    "Context",
    "GroupSection",
    "HardwareCard",
    "archive_page",
    "group_page",
    "hardware_page",
    "index_page",
    "run_page",
]

FAILED_STATUSES = ("failed", "error")
TOP_REGRESSIONS = 8
REG_TITLES = {
    "run_id": "worse since run",
    "prev_run_id": "last good run",
    "change_pct": "change",
    "runs": "nights",
    "before": "best before",
    "after": "now",
}
Y_VIEWS = {"tok_s_gpu": "total tok/s/GPU", "tok_s_gpu_output": "output tok/s/GPU"}
MART_TITLES = {
    "best_by_band": "winners per interactivity band",
    "regressions": "regressions",
    "run_failures": "failures",
    "label_summary": "per-label summary",
    "night_over_night": "night over night",
}


@dataclass
class Card:
    key: dict[str, str]
    rows: pd.DataFrame
    charts: dict[str, ChartFile]
    group_href: str


@dataclass
class HardwareCard:
    """One (model, precision, scenario) with every hardware's labels on one chart."""

    key: dict[str, str]
    rows: pd.DataFrame
    charts: dict[str, ChartFile]

    @property
    def hardware(self) -> list[str]:
        return sorted(self.rows["hardware"].astype(str).unique())


@dataclass
class GroupSection:
    precision: str
    charts: dict[str, ChartFile] = field(default_factory=dict)


@dataclass
class Context:
    data: SiteData
    run_id: str
    generated: str

    def run(self) -> dict[str, Any]:
        return self.data.run_row(self.run_id)


# -- small pieces ----------------------------------------------------------------------------
def rel(page_dir: str, target: str) -> str:
    """Relative link from a page in ``page_dir`` ('' = root) to site path ``target``."""
    depth = len([p for p in page_dir.split("/") if p])
    return "../" * depth + target


def pill(status: object) -> str:
    text = fmt_value(status) or "unknown"
    return f'<span class="pill {esc(text.lower())}">{esc(text)}</span>'


def tile(key: str, value: object, cls: str = "") -> str:
    return (
        f'<div class="tile {esc(cls)}"><div class="k">{esc(key)}</div><div class="v">{esc(value)}</div></div>'
    )


def missing_note(data: SiteData, name: str) -> str:
    why = data.missing.get(name, "not provided")
    return f'<div class="banner note">{esc(MART_TITLES.get(name, name))}: not available (mart <code>{esc(name)}</code>: {esc(why)})</div>'


def filter_key(df: pd.DataFrame | None, key: dict[str, str]) -> pd.DataFrame | None:
    """Rows of ``df`` matching ``key`` on the columns it has."""
    if df is None:
        return None
    for col, value in key.items():
        if col in df.columns:
            df = df[df[col].astype(str) == value]
    return df


def drop_cols(df: pd.DataFrame | None, cols: tuple[str, ...]) -> pd.DataFrame | None:
    return None if df is None else df.drop(columns=[c for c in cols if c in df.columns])


def point_counts(points: pd.DataFrame) -> tuple[int, int, int]:
    """(ok points, total points, client-limited ok points)."""
    if points.empty:
        return 0, 0, 0
    status = points["status"].astype(str).str.lower()
    ok = int((status == "ok").sum())
    cl = int((points["client_limited"].astype("boolean").fillna(False) & (status == "ok")).sum())
    return ok, len(points), cl


def run_failures(ctx: Context) -> pd.DataFrame:
    """Failures of the selected run: the run_failures mart, else the failures view."""
    mart = ctx.data.mart("run_failures")
    if mart is not None:
        return mart
    return for_run(ctx.data.failures, ctx.run_id)


def regressions(ctx: Context) -> pd.DataFrame | None:
    return ctx.data.mart("regressions")


def run_header(ctx: Context, *, heading: str) -> str:
    run = ctx.run()
    date = ctx.data.run_date(ctx.run_id)
    bits = [f"run <code>{esc(ctx.run_id)}</code>"]
    if run.get("status"):
        bits.append(pill(run["status"]))
    for label, col in (("spec", "spec_name"), ("trigger", "trigger")):
        if run.get(col) and not pd.isna(run.get(col)):
            bits.append(f"{label} <strong>{esc(run[col])}</strong>")
    eng = " ".join(
        fmt_value(run.get(c)) for c in ("engine", "engine_version") if run.get(c) and not pd.isna(run.get(c))
    )
    if eng:
        bits.append(f"engine <strong>{esc(eng)}</strong>")
    if run.get("code_version") and not pd.isna(run.get("code_version")):
        bits.append(f"code <code>{esc(run['code_version'])}</code>")
    start, end = run.get("started_at"), run.get("ended_at")
    if start is not None and end is not None and not pd.isna(start) and not pd.isna(end):
        mins = (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds() / 60
        bits.append(f"took {mins:,.0f} min")
    return f"<h1>{esc(heading)} — {esc(date or '')}</h1><p class='sub'>{' · '.join(bits)}</p>"


def tiles(ctx: Context, cards: list[Card]) -> str:
    pts = for_run(ctx.data.points, ctx.run_id)
    ok, total, cl = point_counts(pts)
    labels = pts["label"].nunique() if not pts.empty else 0
    fails = run_failures(ctx)
    regs = regressions(ctx)
    out = [
        tile("charts", len(cards)),
        tile("deployments", labels),
        tile("points ok", f"{ok} / {total}", "bad" if total and ok < total else "good"),
        tile("failures", len(fails), "bad" if len(fails) else "good"),
        tile(
            "regressions",
            "n/a" if regs is None else len(regs),
            "" if regs is None else ("bad" if len(regs) else "good"),
        ),
    ]
    if cl:
        out.append(tile("client-limited points", cl, "warn"))
    return f'<div class="tiles">{"".join(out)}</div>'


def regressions_block(ctx: Context) -> str:
    regs = regressions(ctx)
    if regs is None:
        return missing_note(ctx.data, "regressions")
    if regs.empty:
        return '<div class="banner good">No regressions flagged against the previous nights.</div>'
    regs = drop_cols(regs, ("latest_run_id", "schema_version"))
    if "change_pct" in regs.columns:
        regs = regs.sort_values("change_pct", kind="mergesort")
    shown, common = split_constant(regs, keep=("label", "metric", "before", "after", "change_pct"))
    where = " · ".join(f"{REG_TITLES.get(c, c)} {esc(fmt_value(v, c))}" for c, v in common.items())
    rest = ""
    if len(shown) > TOP_REGRESSIONS:
        rest = (f"<details><summary>{len(shown) - TOP_REGRESSIONS} more</summary>"
                f"{table(shown.iloc[TOP_REGRESSIONS:], titles=REG_TITLES)}</details>")  # fmt: skip
    return (
        f'<div class="banner bad"><strong>{len(regs)} regression(s) flagged</strong> against the previous nights'
        f"{' — ' + where if where else ''}.</div>"
        f'<div class="tablebox">{table(shown.head(TOP_REGRESSIONS), titles=REG_TITLES)}{rest}</div>'
    )


def split_constant(df: pd.DataFrame, keep: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, object]]:
    """Columns holding one value in every row move to a caption dict (tables stay narrow)."""
    if len(df) < 2:
        return df, {}
    common = {}
    for col in df.columns:
        if col not in keep and df[col].astype(str).nunique(dropna=False) == 1:
            common[col] = df[col].iloc[0]
    return df.drop(columns=list(common)), common


def failures_block(ctx: Context, page_dir: str, *, full: bool) -> str:
    fails = run_failures(ctx)
    pts = for_run(ctx.data.points, ctx.run_id)
    failed_points = 0 if pts.empty else int(pts["status"].astype(str).str.lower().isin(FAILED_STATUSES).sum())
    link = rel(page_dir, f"runs/{ctx_run_slug(ctx)}/index.html#failures")
    if fails.empty:
        head = (
            "No failures recorded."
            if not failed_points
            else f"{failed_points} failed point(s), no failure rows."
        )
        return f'<div class="banner {"good" if not failed_points else "bad"}">{esc(head)}</div>'
    head = f'<div class="banner bad"><strong>{len(fails)} failure(s)</strong> in this run'
    head += f" ({failed_points} failed point(s))." if failed_points else "."
    if not full:
        reasons = (
            fails["reason"].astype(str).value_counts().head(5)
            if "reason" in fails.columns
            else pd.Series(dtype=int)
        )
        items = "".join(f"<li>{esc(n)} × {esc(r)}</li>" for r, n in reasons.items())
        return f'{head} <a href="{esc(link)}">details</a><ul>{items}</ul></div>'
    cols = ["label", "model", "hardware", "precision", "scenario", "max_concurrency", "stage", "reason", "at"]
    body = table(fails, columns=[c for c in cols if c in fails.columns] or None)
    tails = []
    if "log_tail" in fails.columns:
        for row in fails.itertuples(index=False):
            tail = getattr(row, "log_tail", None)
            if tail is not None and not pd.isna(tail) and str(tail).strip():
                what = " ".join(esc(getattr(row, c, "")) for c in ("label", "scenario", "max_concurrency"))
                tails.append(f"<details><summary>log tail: {what}</summary><pre>{esc(tail)}</pre></details>")
    return f"{head}</div><div class='tablebox'>{body}{''.join(tails)}</div>"


def ctx_run_slug(ctx: Context) -> str:
    from frontier.site.paths import slug

    return slug(ctx.run_id)


def card_html(ctx: Context, card: Card, page_dir: str) -> str:
    k = card.key
    rows = card.rows
    isl, osl = rows["isl"].iloc[0] if "isl" in rows else None, rows["osl"].iloc[0] if "osl" in rows else None
    ok, total, cl = point_counts(rows)
    gid = dom_id("card", *k.values())
    toggle = "".join(
        f'<button type="button" data-group="{gid}" data-toggle="{y}" class="{"on" if i == 0 else ""}">{esc(t)}</button>'
        for i, (y, t) in enumerate(Y_VIEWS.items())
    )
    panes = "".join(
        f'<div data-pane="{gid}" data-view="{y}"{" hidden" if i else ""}>{card.charts[y].embed(page_dir)}</div>'
        for i, y in enumerate(Y_VIEWS) if y in card.charts
    )  # fmt: skip
    side = winners_html(ctx, k) + label_summary_html(ctx, k)
    meta = f"{ok}/{total} points ok" + (f" · {cl} client-limited" if cl else "")
    if isl is not None and osl is not None and not pd.isna(isl):
        meta = f"ISL {int(isl):,} / OSL {int(osl):,} · " + meta
    return f"""<section class="card" id="{gid}">
<div class="card-head"><h3>{esc(k["model"])} · {esc(k["hardware"])} · {esc(k["precision"])} · {esc(k["scenario"])}</h3>
<span class="links"><span class="toggle">{toggle}</span> &nbsp;<a href="{esc(rel(page_dir, card.group_href))}">history →</a></span></div>
<p class="sub">{esc(meta)}</p>
<div class="card-body"><div class="card-chart">{panes}</div><div class="card-side">{side}</div></div>
</section>"""


def winners_html(ctx: Context, key: dict[str, str]) -> str:
    """Winner per interactivity band (best_by_band): band | winner | tok/s/GPU | runner-up | lead."""
    band = filter_key(ctx.data.mart("best_by_band"), key)
    head = "<h4>Winners per interactivity band</h4>"
    if band is None:
        return head + missing_note(ctx.data, "best_by_band")
    need = {"band_tok_s_user", "label", "tok_s_gpu", "rank"}
    if not need <= set(band.columns):  # unknown shape: show the mart as it is
        return head + table(drop_cols(band, ("run_id", "run_date", "schema_version", *key.keys())),
                            empty="no band reached by any deployment")  # fmt: skip
    rows = []
    for value, grp in band.sort_values(["band_tok_s_user", "rank", "label"]).groupby(
        "band_tok_s_user", sort=True
    ):
        grp = grp.reset_index(drop=True)
        best = grp.iloc[0]
        runner = grp.iloc[1] if len(grp) > 1 else None
        lead = (
            (best["tok_s_gpu"] / runner["tok_s_gpu"] - 1) * 100
            if runner is not None and runner["tok_s_gpu"]
            else None
        )
        rows.append({
            "band": f"@ {value:g} tok/s/user", "winner": best["label"], "tok/s/GPU": float(best["tok_s_gpu"]),
            "runner-up": "" if runner is None else f"{runner['label']} ({fmt_value(float(runner['tok_s_gpu']))})",
            "lead_pct": lead,
        })  # fmt: skip
    return head + table(
        pd.DataFrame(rows), titles={"lead_pct": "lead"}, empty="no band reached by any deployment"
    )


def label_summary_html(ctx: Context, key: dict[str, str]) -> str:
    summary = filter_key(ctx.data.mart("label_summary"), key)
    head = "<h4>Per deployment</h4>"
    if summary is None:
        return head + missing_note(ctx.data, "label_summary")
    if {"ok_points", "points"} <= set(summary.columns):
        summary = summary.assign(
            ok_of=[f"{int(a)}/{int(b)}" for a, b in zip(summary["ok_points"], summary["points"], strict=True)]
        )
    cols = ["label", "gpus", "best_tok_s_gpu", "tok_s_user_at_best", "ok_of", "failures"]
    titles = {"best_tok_s_gpu": "best tok/s/GPU", "tok_s_user_at_best": "at tok/s/user",
              "ok_of": "points ok"}  # fmt: skip
    return head + table(summary, columns=[c for c in cols if c in summary.columns] or None, titles=titles)


def mart_section(ctx: Context, name: str, title: str, *, open_: bool = False) -> str:
    mart = ctx.data.mart(name)
    if mart is None:
        return f"<h2>{esc(title)}</h2>{missing_note(ctx.data, name)}"
    rows = mart
    return (f"<details{' open' if open_ else ''}><summary><strong>{esc(title)}</strong> ({len(rows)} rows)</summary>"
            f"<div class='tablebox'>{table(drop_cols(rows, ('schema_version',)))}</div></details>")  # fmt: skip


def _day(value: object) -> str:
    return "" if _blank(value) else str(pd.to_datetime(value).date())


def cost_block(ctx: Context) -> str:
    """Cheapest $/Mtok and most tok/s/MW per deployment (cost_summary), the assumptions stated."""
    df = ctx.data.mart("cost_summary")
    if df is None:
        return missing_note(ctx.data, "cost_summary")
    if df.empty:
        return "<p class='empty'>no ok points in this run</p>"
    assumptions = df.drop_duplicates("hardware")
    stated = "; ".join(
        f"{esc(r['hardware'])}: "
        + (
            "price unknown"
            if _blank(r["usd_per_gpu_hour"])
            else f"${float(r['usd_per_gpu_hour']):,.2f}/GPU-hour"
        )
        + ", "
        + ("power unknown" if _blank(r["power_w"]) else f"{float(r['power_w']):,.0f} W/GPU")
        + f" ({esc(r['assumption_source'] or 'none')})"
        for r in assumptions.to_dict("records")
    )
    cols = ["model", "hardware", "precision", "scenario", "label", "best_usd_per_mtok", "tok_s_user_at_best_usd",
            "best_tok_s_per_mw"]  # fmt: skip
    titles = {"best_usd_per_mtok": "best $/Mtok", "tok_s_user_at_best_usd": "at tok/s/user",
              "best_tok_s_per_mw": "best tok/s/MW"}  # fmt: skip
    return (
        f"<p class='sub'>Assumptions: {stated}. $/Mtok = $/GPU-hour / (tok/s/GPU x 3600) x 1e6 over all tokens; "
        "tok/s/MW = tok/s/GPU / W per GPU x 1e6. Set them per hardware in the spec: "
        "<code>cost: {h200_sxm: {usd_per_gpu_hour: 3.2, power_w: 1000}}</code> (else the catalog's).</p>"
        f"<div class='tablebox'>{table(df, columns=cols, titles=titles)}</div>"
    )


def accuracy_block(ctx: Context) -> str:
    """Predicted vs measured, night by night (prediction_accuracy)."""
    df = ctx.data.mart("prediction_accuracy")
    if df is None:
        return missing_note(ctx.data, "prediction_accuracy")
    if df.empty:
        return "<p class='empty'>no predictions recorded</p>"
    titles = {"median_abs_err_tpot_pct": "median |err| TPOT", "max_abs_err_tpot_pct": "max |err| TPOT",
              "median_abs_err_ttft_pct": "median |err| TTFT", "median_abs_err_tok_s_gpu_pct": "median |err| tok/s/GPU",
              "max_abs_err_tok_s_gpu_pct": "max |err| tok/s/GPU"}  # fmt: skip
    return (
        "<p class='sub'>The simulator's prediction of each measured point (same label, scenario, concurrency) "
        "against the measurement, per run: absolute relative error in %.</p>"
        f"<div class='tablebox'>{table(df.head(60), titles=titles)}</div>"
    )


KIND_HEADINGS = {"nightly": "Nightly frontier", "adhoc": "Ad-hoc run", "imported": "Imported results"}


def latest_results_block(ctx: Context, page_dir: str) -> str:
    """Every model x hardware x precision x scenario ever measured, from its own latest run."""
    df = ctx.data.mart("latest_results")
    if df is None:
        return missing_note(ctx.data, "latest_results")
    if df.empty:
        return "<p class='empty'>nothing measured yet</p>"
    rows = []
    for r in df.to_dict("records"):
        href = rel(
            page_dir, f"{group_dir(str(r['model']), str(r['hardware']), str(r['scenario']))}/index.html"
        )
        run_href = rel(page_dir, f"runs/{slug(str(r['run_id']))}/index.html")
        rows.append(
            "<tr>"
            + f'<td><a href="{esc(href)}">{esc(r["model"])}</a></td>'
            + "".join(f"<td>{esc(fmt_value(r[c], c))}</td>" for c in ("hardware", "precision", "scenario"))
            + f'<td><a href="{esc(run_href)}">{esc(r["run_id"])}</a></td>'
            + f"<td>{pill(r.get('run_kind') or 'unknown')}</td><td>{esc(_day(r['run_date']))}</td>"
            + "".join(
                f"<td>{esc(fmt_value(r[c], c))}</td>"
                for c in ("best_label", "best_tok_s_gpu", "tok_s_user_at_best")
            )
            + f"<td>{int(r['ok_points'])} / {int(r['points'])}</td></tr>"
        )
    head = "".join(f"<th>{esc(c)}</th>" for c in ("model", "hardware", "precision", "scenario", "latest run", "kind",
                                                  "date", "best label", "best tok/s/GPU", "at tok/s/user", "points ok"))  # fmt: skip
    return (f"<div class='tablebox'><table class='data' id='everything'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")  # fmt: skip


def hardware_card_html(card: HardwareCard, page_dir: str) -> str:
    k = card.key
    gid = dom_id("hw", *k.values())
    toggle = "".join(
        f'<button type="button" data-group="{gid}" data-toggle="{y}" class="{"on" if i == 0 else ""}">{esc(t)}</button>'
        for i, (y, t) in enumerate(Y_VIEWS.items())
    )
    panes = "".join(
        f'<div data-pane="{gid}" data-view="{y}"{" hidden" if i else ""}>{card.charts[y].embed(page_dir)}</div>'
        for i, y in enumerate(Y_VIEWS) if y in card.charts
    )  # fmt: skip
    rows = card.rows
    front = rows[rows["on_cross_frontier"].astype("boolean").fillna(False).astype(bool)]
    wins = front["hardware"].astype(str).value_counts()
    runs = rows.groupby("hardware")["run_id"].first().astype(str)
    facts = "; ".join(f"{esc(h)} (run <code>{esc(runs[h])}</code>): {int(wins.get(h, 0))} of {len(front)} "
                      f"frontier points" for h in card.hardware)  # fmt: skip
    return f"""<section class="card" id="{gid}">
<div class="card-head"><h3>{esc(k["model"])} · {esc(k["precision"])} · {esc(k["scenario"])}</h3>
<span class="links"><span class="toggle">{toggle}</span></span></div>
<p class="sub">{len(card.hardware)} hardware kind(s) on one chart, one overall frontier across them: {facts}</p>
<div class="card-chart">{panes}</div>
</section>"""


def hardware_page(ctx: Context, cards: list[HardwareCard], *, page_dir: str) -> str:
    """hardware/index.html: every (model, precision, scenario) with all its hardware on one chart."""
    body = [
        "<h1>Hardware against hardware</h1>",
        (
            "<p class='sub'>Per model, precision and scenario: every hardware's deployments on one chart (colour = "
            "hardware, the label written on each line), with one Pareto frontier across all of them. Each "
            f"hardware shows its latest run up to run <code>{esc(ctx.run_id)}</code>.</p>"
        ),
        f'<div class="cards">{"".join(hardware_card_html(c, page_dir) for c in cards) or "<p class=empty>no points</p>"}</div>',
    ]
    return page(title="frontier · hardware against hardware", body="\n".join(body), root=rel(page_dir, ""),
                crumbs=[("latest", rel(page_dir, "index.html")), ("hardware", None)], generated=ctx.generated)  # fmt: skip


def slo_page(ctx: Context, charts: list, *, page_dir: str) -> str:
    """slo/index.html: InferenceX-style interactivity bands, the best configuration per hardware."""
    body = [
        "<h1>Best configuration per interactivity band</h1>",
        (
            "<p class='sub'>For each band (at least N tok/s/user), the highest tok/s/GPU any measured point of each "
            "hardware reaches there, and the deployment that does it; each hardware from its latest run. Other "
            "latency objectives: <code>frontier best --max-ttft-p99-ms 2000 --min-tok-s-user 50</code>.</p>"
        ),
    ]
    cols = ["min_tok_s_user", "rank", "hardware", "label", "gpus", "max_concurrency", "tok_s_gpu", "tok_s_user",
            "p99_ttft_ms", "run_id"]  # fmt: skip
    titles = {"min_tok_s_user": "band (tok/s/user ≥)", "max_concurrency": "concurrency"}
    for key, rows, chart in charts:
        body.append(
            f'<div class="card"><h3>{esc(" · ".join(key.values()))}</h3>{chart.embed(page_dir)}'
            f"<details><summary>table ({len(rows)} rows)</summary><div class='tablebox'>"
            f"{table(rows, columns=[c for c in cols if c in rows.columns], titles=titles)}</div></details></div>"
        )
    if not charts:
        body.append(missing_note(ctx.data, "slo_bands") if ctx.data.mart("slo_bands") is None
                    else "<p class='empty'>no measured points</p>")  # fmt: skip
    return page(title="frontier · SLO bands", body="\n".join(body), root=rel(page_dir, ""),
                crumbs=[("latest", rel(page_dir, "index.html")), ("SLO bands", None)], generated=ctx.generated)  # fmt: skip


def compare_page(cmp, charts: list, *, page_dir: str, generated: str) -> str:
    """compare/<a>__<b>/index.html: both runs' frontiers on one chart per group, the per-label
    differences at matched interactivity, and what differs between the runs."""
    diffs = [{"what": f"run {n}", "A": fmt_value(a), "B": fmt_value(b)} for n, a, b in cmp.run_diffs]
    diffs += [{"what": f"{d['what']}: {d['field']}", "A": d["a"], "B": d["b"]} for d in cmp.deployment_diffs]
    labels = drop_cols(cmp.labels, ("run_a", "run_b"))
    titles = {"a_tok_s_gpu": "A tok/s/GPU", "b_tok_s_gpu": "B tok/s/GPU", "change_pct": "change",
              "from_tok_s_user": "from tok/s/user", "to_tok_s_user": "to tok/s/user",
              "a_peak_tok_s_gpu": "A peak", "b_peak_tok_s_gpu": "B peak", "peak_change_pct": "peak change"}  # fmt: skip
    body = [
        (
            f"<h1>Run against run</h1><p class='sub'>A <code>{esc(cmp.run_a)}</code> → B <code>{esc(cmp.run_b)}</code>"
            " · solid lines: each deployment; dashed: each run's overall frontier</p>"
        ),
        "<h2>Tok/s/GPU at matched interactivity</h2>",
        (
            "<p class='sub'>Both label frontier curves compared at the same tok/s/user (interpolated on the curve); "
            "change = B against A.</p>"
        ),
        f"<div class='tablebox'>{table(labels, titles=titles, empty='no labels in either run')}</div>",
        "<h2>What differs</h2>",
        f"<div class='tablebox'>{table(pd.DataFrame(diffs, columns=['what', 'A', 'B']), empty='nothing recorded differs')}</div>",
    ]
    if cmp.spec_diff:
        body.append(
            f"<details><summary>spec diff</summary><pre>{esc(chr(10).join(cmp.spec_diff))}</pre></details>"
        )
    body.append("<h2>Frontiers</h2>")
    body.append('<div class="cards">' + "".join(
        f'<div class="card"><h3>{esc(" · ".join(k.values()))}</h3>{c.embed(page_dir)}</div>' for k, c in charts
    ) + "</div>")  # fmt: skip
    return page(title=f"frontier · compare {cmp.run_a} / {cmp.run_b}", body="\n".join(body),
                root=rel(page_dir, ""), crumbs=[("latest", rel(page_dir, "index.html")), ("compare", None)],
                generated=generated)  # fmt: skip


# -- pages -----------------------------------------------------------------------------------
def index_page(
    ctx: Context, cards: list[Card], *, page_dir: str, hardware: list[HardwareCard] | None = None
) -> str:
    run_link = rel(page_dir, f"runs/{ctx_run_slug(ctx)}/index.html")
    multi = [c for c in hardware or [] if len(c.hardware) > 1]
    cross = []
    if multi:
        cross = [
            f'<h2>Hardware against hardware <small><a href="{esc(rel(page_dir, "hardware/index.html"))}">all →</a></small></h2>',
            f'<div class="cards">{"".join(hardware_card_html(c, page_dir) for c in multi)}</div>',
        ]
    kind = ctx.data.run_kind(ctx.run_id)
    views = (f'<p class="sub">Views: <a href="{esc(rel(page_dir, "hardware/index.html"))}">hardware against hardware</a>'
             f' · <a href="{esc(rel(page_dir, "slo/index.html"))}">best per interactivity band (SLO)</a>'
             f' · <a href="#everything">everything measured</a>'
             f' · <a href="{esc(rel(page_dir, "runs/index.html"))}">all runs</a></p>')  # fmt: skip
    body = [
        run_header(ctx, heading=KIND_HEADINGS.get(kind or "nightly", "Latest run")),
        views,
        tiles(ctx, cards),
        "<h2>Regressions</h2>",
        regressions_block(ctx),
        *cross,
        "<h2>Everything measured <small>(each model x hardware x scenario from its latest run)</small></h2>",
        latest_results_block(ctx, page_dir),
        "<h2>Frontiers</h2>",
        (
            "<p class='sub'>Token throughput per GPU against interactivity, one line per deployment; the dashed grey "
            "envelope is the overall Pareto frontier. Click a legend entry to isolate a deployment.</p>"
        ),
        f'<div class="cards">{"".join(card_html(ctx, c, page_dir) for c in cards) or "<p class=empty>no points in this run</p>"}</div>',
        f'<h2>Failures <small><a href="{esc(run_link)}">run page →</a></small></h2>',
        failures_block(ctx, page_dir, full=False),
        "<h2>Cost</h2>",
        cost_block(ctx),
        "<h2>Prediction accuracy by night</h2>",
        accuracy_block(ctx),
        "<h2>Tables</h2>",
        mart_section(ctx, "label_summary", "Per-label summary"),
        mart_section(ctx, "night_over_night", "Night over night"),
    ]
    return page(title=f"frontier · {ctx.data.run_date(ctx.run_id) or ctx.run_id}", body="\n".join(body),
                root=rel(page_dir, ""), crumbs=[("latest night", None)], generated=ctx.generated)  # fmt: skip


def _json_pretty(text: object) -> str:
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    try:
        return json.dumps(json.loads(str(text)), indent=2)
    except ValueError:
        return str(text)


def run_page(ctx: Context, cards: list[Card], *, page_dir: str) -> str:
    run = ctx.run()
    versions = pd.DataFrame(
        [(k, v) for k, v in run.items() if k not in ("spec_yaml", "schema_version") and not _blank(v)],
        columns=["field", "value"],
    )
    deps = for_run(ctx.data.deployments, ctx.run_id)
    dep_cols = ["label", "model", "hardware", "precision", "scenario", "gpus", "engine", "engine_version", "status",
                "error", "started_at", "ended_at"]  # fmt: skip
    cmds = []
    for row in deps.to_dict("records") if not deps.empty else []:
        what = " · ".join(
            esc(row.get(c, "")) for c in ("label", "model", "hardware", "precision", "scenario")
        )
        for col, title in (("commands_json", "launch commands"), ("server_info_json", "server info")):
            if not _blank(row.get(col)):
                cmds.append(
                    f"<details><summary>{esc(title)}: {what}</summary><pre>{esc(_json_pretty(row[col]))}</pre></details>"
                )
    spec = run.get("spec_yaml")
    body = [
        run_header(ctx, heading="Run"),
        tiles(ctx, cards),
        "<h2>What ran</h2>",
        f"<div class='tablebox'>{table(deps, columns=[c for c in dep_cols if c in deps.columns] or None, empty='no deployments recorded')}{''.join(cmds)}</div>",
        "<h2 id='failures'>Failures</h2>",
        failures_block(ctx, page_dir, full=True),
        "<h2>Regressions</h2>",
        regressions_block(ctx),
        "<h2>Frontiers of this night</h2>",
        f'<div class="cards">{"".join(card_html(ctx, c, page_dir) for c in cards) or "<p class=empty>no points in this run</p>"}</div>',
        "<h2>Versions</h2>",
        f"<div class='tablebox'>{table(versions, empty='no runs row recorded for this run')}</div>",
        "<h2>Spec</h2>",
        f"<pre>{esc(spec)}</pre>" if not _blank(spec) else "<p class='empty'>no spec recorded</p>",
    ]
    return page(title=f"frontier run {ctx.run_id}", body="\n".join(body), root=rel(page_dir, ""),
                crumbs=[("latest night", rel(page_dir, "index.html")), ("all nights", rel(page_dir, "runs/index.html")),
                        (f"run {ctx.run_id}", None)], generated=ctx.generated)  # fmt: skip


def _blank(value: object) -> bool:
    if value is None:
        return True
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):
        pass
    return str(value).strip() == ""


def group_page(ctx: Context, key: dict[str, str], sections: list[GroupSection], *, page_dir: str) -> str:
    title = f"{key['model']} · {key['hardware']} · {key['scenario']}"
    body = [(f"<h1>{esc(title)}</h1><p class='sub'>latest night {esc(ctx.data.run_date(ctx.run_id) or '')} "
             f"(run <code>{esc(ctx.run_id)}</code>), with the history of previous nights</p>")]  # fmt: skip
    for sec in sections:
        gid = dom_id("grp", *key.values(), sec.precision)
        body.append(f"<h2>{esc(sec.precision)}</h2>")
        latest = [y for y in Y_VIEWS if f"latest-{y}" in sec.charts]
        if latest:
            toggle = "".join(
                f'<button type="button" data-group="{gid}" data-toggle="{y}" class="{"on" if i == 0 else ""}">{esc(Y_VIEWS[y])}</button>'
                for i, y in enumerate(latest)
            )
            panes = "".join(
                f'<div data-pane="{gid}" data-view="{y}"{" hidden" if i else ""}>{sec.charts[f"latest-{y}"].embed(page_dir)}</div>'
                for i, y in enumerate(latest)
            )
            body.append(
                f'<div class="card"><div class="card-head"><h3>Latest night</h3><span class="toggle">{toggle}</span></div>{panes}</div>'
            )
        body.append('<div class="cards">')
        for name, heading in (
            ("history", "Frontier over the last nights"),
            ("trend", "Best per label, night by night"),
        ):
            if name in sec.charts:
                body.append(
                    f'<div class="card"><h3>{esc(heading)}</h3>{sec.charts[name].embed(page_dir)}</div>'
                )
        body.append("</div>")
        nn = filter_key(ctx.data.mart("night_over_night"), {**key, "precision": sec.precision})
        if nn is not None and not nn.empty:
            body.append(f"<details><summary>night over night ({len(nn)} rows)</summary><div class='tablebox'>"
                        f"{table(drop_cols(nn, ('schema_version', *key.keys(), 'precision')))}</div></details>")  # fmt: skip
    return page(title=f"frontier · {title}", body="\n".join(body), root=rel(page_dir, ""),
                crumbs=[("latest night", rel(page_dir, "index.html")), (title, None)], generated=ctx.generated)  # fmt: skip


def archive_page(ctx: Context, folders: list[dict[str, Any]]) -> str:
    """runs/index.html: every night that has a folder, newest first, with the runs row when known."""
    rows = []
    for meta in folders:
        run = ctx.data.run_row(meta["run_id"])
        pts = for_run(ctx.data.points, meta["run_id"])
        ok, total, _ = point_counts(pts)
        fails = for_run(ctx.data.failures, meta["run_id"])
        rows.append({
            "night": meta.get("run_date") or "", "run": meta["run_id"], "_href": f"{meta['slug']}/index.html",
            "kind": ctx.data.run_kind(meta["run_id"]) or "",
            "status": run.get("status", ""), "spec": run.get("spec_name", ""),
            "engine": " ".join(str(run.get(c) or "") for c in ("engine", "engine_version")).strip(),
            "points ok": f"{ok} / {total}" if total else "", "failures": len(fails) if total else "",
        })  # fmt: skip
    rows.sort(key=lambda r: (str(r["night"]), r["run"]), reverse=True)
    trs = "".join(
        "<tr>"
        + f'<td>{esc(r["night"])}</td><td><a href="{esc(r["_href"])}">{esc(r["run"])}</a></td>'
        + "".join(
            f"<td>{esc(fmt_value(r[c]))}</td>"
            for c in ("kind", "status", "spec", "engine", "points ok", "failures")
        )
        + "</tr>"
        for r in rows
    )
    head = "".join(
        f"<th>{esc(c)}</th>"
        for c in ("night", "run", "kind", "status", "spec", "engine", "points ok", "failures")
    )
    body = (f"<h1>All nights</h1><p class='sub'>{len(rows)} published night(s); each keeps its own page and charts.</p>"
            f"<div class='tablebox'><table class='data'><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table></div>")  # fmt: skip
    return page(
        title="frontier · all nights",
        body=body,
        root="../",
        crumbs=[("latest night", "../index.html"), ("all nights", None)],
        generated=ctx.generated,
    )
