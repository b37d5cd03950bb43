"""Deterministic sample nights for tests, demos and screenshots of the site (no GPU, no engine).

``sample_points(...)`` gives ``points``-table rows (bench_serving names) of one night;
``sample_site_data(...)`` a ready :class:`SiteData` (frontier_points rows computed in pandas with
:func:`frontier.analysis.pareto.pareto_front`), and ``write_sample_warehouse(root, ...)`` writes the same
nights through ``frontier.warehouse.Warehouse.write`` so the real marts can run over them.
The curve shape is a toy (throughput rises and interactivity falls with concurrency); it only has
to look like a sweep, not predict one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from frontier.analysis.pareto import pareto_front
from frontier.domain.load import DEFAULT_LOAD
from frontier.site.data import SiteData

LADDER = (4, 8, 16, 32, 64, 128, 256)
# label -> (gpus, single-user tok/s, knee concurrency, per-GPU throughput gain)
SHAPES = {
    "TP8": (8, 160.0, 40.0, 1.00),
    "DEP8": (8, 120.0, 90.0, 1.35),
    "SEP4+1xDEP8": (12, 140.0, 70.0, 1.20),
}
SCENARIOS = {"1k1k": (1024, 1024), "8k1k": (8192, 1024)}


def run_id_for(day: dt.date) -> str:
    return f"scheduled__{day.isoformat()}T02:00:00+00:00"


def sample_points(
    day: dt.date,
    *,
    model: str = "deepseek-r1",
    hardware: str = "h200",
    precision: str = "fp8",
    labels: dict[str, tuple[int, float, float, float]] | None = None,
    scenarios: dict[str, tuple[int, int]] | None = None,
    drift: float = 0.0,
    failed: tuple[tuple[str, str, int], ...] = (("TP8", "1k1k", 256),),
    client_limited: tuple[tuple[str, str, int], ...] = (("DEP8", "1k1k", 256),),
) -> list[dict]:
    """Point rows of one night. ``drift`` scales throughput (+0.03 = 3 % better than baseline)."""
    rows = []
    for scenario, (isl, osl) in (scenarios or SCENARIOS).items():
        prefill_cost = 1.0 + (isl / osl - 1.0) * 0.05
        for label, (gpus, solo, knee, gain) in (labels or SHAPES).items():
            for conc in LADDER:
                tok_s_user = solo / (1.0 + conc / knee) / prefill_cost**0.5
                output_tput = conc * tok_s_user * gain * (1.0 + drift)
                total_tput = output_tput * (isl + osl) / osl
                tpot = 1000.0 / tok_s_user
                ok = (label, scenario, conc) not in failed
                duration = 10 * conc * osl / output_tput
                rows.append({
                    "label": label, "model": model, "hardware": hardware, "precision": precision,
                    "scenario": scenario, "isl": isl, "osl": osl, "gpus": gpus, "engine": "sim",
                    "backend": "sglang", "max_concurrency": conc, "request_rate": None,
                    "num_prompts": DEFAULT_LOAD.prompts_for(conc), "warmup_requests": DEFAULT_LOAD.warmups_for(conc),
                    "completed": 10 * conc if ok else 0, "failed": 0 if ok else 10 * conc,
                    "duration": duration if ok else None,
                    "total_input_tokens": 10 * conc * isl, "total_output_tokens": 10 * conc * osl,
                    "request_throughput": 10 * conc / duration if ok else None,
                    "input_throughput": (total_tput - output_tput) if ok else None,
                    "output_throughput": output_tput if ok else None,
                    "total_token_throughput": total_tput if ok else None,
                    "mean_tpot_ms": tpot * 1.02 if ok else None, "median_tpot_ms": tpot if ok else None,
                    "p99_tpot_ms": tpot * 1.3 if ok else None,
                    "mean_ttft_ms": 40 + conc * 2.5 if ok else None, "median_ttft_ms": 35 + conc * 2.2 if ok else None,
                    "p99_ttft_ms": 90 + conc * 6.0 if ok else None,
                    "median_e2e_latency_ms": 35 + conc * 2.2 + tpot * (osl - 1) if ok else None,
                    "concurrency": conc * 0.97 if ok else None, "error_rate": 0.0 if ok else 1.0,
                    "client_lag_p99_ms": 0.4, "client_limited": (label, scenario, conc) in client_limited,
                    "source": "frontier", "status": "ok" if ok else "failed",
                })  # fmt: skip
    return rows


def frontier_points_frame(rows: list[dict], *, run_id: str, run_date: dt.date) -> pd.DataFrame:
    """The ``frontier_points`` mart computed in pandas (for SiteData built without a warehouse)."""
    df = pd.DataFrame(rows).assign(run_id=run_id, run_date=run_date)
    df["tok_s_gpu"] = df["total_token_throughput"] / df["gpus"]
    df["tok_s_gpu_output"] = df["output_throughput"] / df["gpus"]
    df["tok_s_user"] = 1000.0 / df["median_tpot_ms"]
    df["tok_s_user_mean"] = 1000.0 / df["mean_tpot_ms"]
    df["on_label_frontier"] = False
    df["on_overall_frontier"] = False
    ok = df["status"].eq("ok")
    for keys, grp in df[ok].groupby(["model", "hardware", "precision", "scenario"]):
        pts = list(zip(grp["tok_s_user"], grp["tok_s_gpu"], strict=True))
        df.loc[grp.index[pareto_front(pts)], "on_overall_frontier"] = True
        for _, lab in grp.groupby("label"):
            lp = list(zip(lab["tok_s_user"], lab["tok_s_gpu"], strict=True))
            df.loc[lab.index[pareto_front(lp)], "on_label_frontier"] = True
    from charts.contract import FRONTIER_POINTS_COLUMNS

    return df[list(FRONTIER_POINTS_COLUMNS)]


def _runs_row(day: dt.date, *, status: str = "partial") -> dict:
    start = dt.datetime.combine(day, dt.time(2, 0), tzinfo=dt.UTC)
    return {
        "trigger": "scheduled", "triggered_by": "airflow", "spec_name": "nightly-h200",
        "spec_hash": "3f2a9c1d", "spec_yaml": "name: nightly-h200\nmodel: deepseek-r1\nhardware: h200\n"
        "labels: [TP8, DEP8, SEP4+1xDEP8]\nscenarios: [1k1k, 8k1k]\nconcurrency: [4, 8, 16, 32, 64, 128, 256]\n",
        "code_version": "a1b2c3d", "engine": "sim", "engine_version": "sim-0.1", "started_at": start,
        "ended_at": start + dt.timedelta(minutes=47), "status": status,
    }  # fmt: skip


def _failure_rows(rows: list[dict], day: dt.date) -> list[dict]:
    return [
        {"label": r["label"], "model": r["model"], "hardware": r["hardware"], "precision": r["precision"],
         "scenario": r["scenario"], "max_concurrency": r["max_concurrency"], "stage": "point",
         "reason": "all requests timed out after 600 s (server overloaded)",
         "log_tail": "aiohttp.ServerTimeoutError: Timeout on reading data from socket",
         "at": dt.datetime.combine(day, dt.time(2, 40), tzinfo=dt.UTC)}
        for r in rows if r["status"] != "ok"
    ]  # fmt: skip


def _deployment_rows(rows: list[dict], day: dt.date) -> list[dict]:
    seen = {}
    for r in rows:
        key = (r["label"], r["scenario"])
        seen.setdefault(key, {
            "label": r["label"], "model": r["model"], "hardware": r["hardware"], "precision": r["precision"],
            "scenario": r["scenario"], "label_canonical": r["label"], "isl": r["isl"], "osl": r["osl"],
            "gpus": r["gpus"], "engine": "sim", "engine_version": "sim-0.1",
            "commands_json": '[["python", "-m", "sglang.launch_server", "--model-path", "deepseek-ai/DeepSeek-R1"]]',
            "status": "success",
        })  # fmt: skip
    return list(seen.values())


def sample_nights(last: dt.date, nights: int) -> list[tuple[dt.date, float]]:
    """(day, drift) of each night, oldest first: slow improvement, the last night 15 % worse."""
    out = []
    for i in range(nights):
        day = last - dt.timedelta(days=nights - 1 - i)
        drift = 0.01 * i if i < nights - 1 or nights < 3 else 0.01 * (i - 1) - 0.15
        out.append((day, drift))
    return out


def sample_site_data(last: dt.date = dt.date(2026, 11, 24), nights: int = 5, **kw) -> SiteData:
    """A SiteData of ``nights`` sample nights (marts other than frontier_points left absent)."""
    frames, runs, fails, deps = [], [], [], []
    for day, drift in sample_nights(last, nights):
        rid = run_id_for(day)
        rows = sample_points(day, drift=drift, **kw)
        frames.append(frontier_points_frame(rows, run_id=rid, run_date=day))
        runs.append({"run_id": rid, "run_date": day, **_runs_row(day)})
        fails += [{"run_id": rid, "run_date": day, **f} for f in _failure_rows(rows, day)]
        deps += [{"run_id": rid, "run_date": day, **d} for d in _deployment_rows(rows, day)]
    return SiteData(
        points=pd.concat(frames, ignore_index=True), runs=pd.DataFrame(runs),
        failures=pd.DataFrame(fails), deployments=pd.DataFrame(deps),
    )  # fmt: skip


def write_sample_warehouse(
    root: str | Path, last: dt.date = dt.date(2026, 11, 24), nights: int = 5, **kw
) -> list[str]:
    """Write sample nights through ``Warehouse.write``; returns their run ids, oldest first."""
    from frontier.warehouse import Warehouse

    wh = Warehouse(root)
    ids = []
    for day, drift in sample_nights(last, nights):
        rid = run_id_for(day)
        rows = sample_points(day, drift=drift, **kw)
        wh.write("runs", [_runs_row(day)], run_id=rid, run_date=day)
        wh.write("deployments", _deployment_rows(rows, day), run_id=rid, run_date=day)
        wh.write("points", rows, run_id=rid, run_date=day)
        wh.write("failures", _failure_rows(rows, day), run_id=rid, run_date=day)
        ids.append(rid)
    return ids
