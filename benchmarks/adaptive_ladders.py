"""Adaptive ladders vs the full ladder: GPU-seconds spent and the hypervolume error of the frontier.

Each spec runs twice in-process (``frontier.run.run_sweep`` into a temporary warehouse): the full
ladder, then ``adaptive: true``. GPU-seconds = sum over measured points of the point's duration x
its GPUs (warm-ups and launches not counted: both runs launch the same items, except labels an
adaptive run skips entirely). The hypervolume (area under the staircase of the overall Pareto
frontier, x = tok/s/user, y = tok/s/GPU, reference (0, 0)) is computed per (model, hardware,
precision, scenario) group; the error is |HV adaptive - HV full| / HV full of the worst group.

    .venv/bin/python benchmarks/adaptive_ladders.py            # 6 specs on predict + 1 on the HTTP sim
    .venv/bin/python benchmarks/adaptive_ladders.py --no-http  # predict engine only (seconds)
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from frontier.domain.spec import parse_spec
from frontier.errors import FrontierError
from frontier.planning.adaptive import hypervolume
from frontier.run import RunContext, run_sweep
from frontier.warehouse import connect

LADDER = [4, 8, 16, 32, 64, 128, 256]
R1 = "deepseek-ai/DeepSeek-R1"


def _spec(name, model, hardware, labels, scenarios, ladder=LADDER, **extra) -> dict:
    return {
        "name": name,
        "engine": "predict",
        "scenarios": scenarios,
        "concurrencies": ladder,
        "matrix": [{"model": model, "hardware": hardware, "precision": "fp8", "labels": labels}],
        **extra,
    }


SPECS = [
    _spec("r1-h200-1k1k", R1, "h200_sxm", ["TP8", "TEP8", "DEP8", "DPATP8", "SEP8"], ["1k1k"]),
    _spec(
        "r1-h200-8k1k-pd",
        R1,
        "h200_sxm",
        ["TP8", "TEP8", "DEP8", "SEP8+1xDEP8", "1xTEP8+1xDEP8", "SEP16"],
        ["8k1k"],
    ),
    _spec(
        "llama8b-h200-1k1k",
        "meta-llama/Llama-3.1-8B-Instruct",
        "h200_sxm",
        ["TP1", "TP2", "TP4", "TP8", "DP8"],
        ["1k1k"],
    ),
    _spec(
        "llama8b-h100-8k1k",
        "meta-llama/Llama-3.1-8B-Instruct",
        "h100_sxm",
        ["TP1", "TP2", "TP4", "DP4", "DPATP4"],
        ["8k1k"],
        ladder=[1, 2, 4, 8, 16, 32, 64, 128, 256],
    ),
    _spec(
        "qwen235b-b200-1k8k",
        "Qwen/Qwen3-235B-A22B",
        "b200_sxm",
        ["TP4", "TEP4", "DEP4", "TP8", "DEP8"],
        ["1k8k"],
    ),
    _spec(
        "llama70b-h100-1k1k",
        "meta-llama/Llama-3.3-70B-Instruct",
        "h100_sxm",
        ["TP2", "TP4", "TP8", "DP8", "1xTP4+1xTP4"],
        ["1k1k"],
        ladder=[1, 4, 16, 64, 256],
    ),
]
# the HTTP simulated engine (real loopback servers; time_scale 2 keeps every figure under the
# physical-bound audit)
HTTP_SPEC = {
    "name": "http-sim-llama8b",
    "engine": "sim",
    "sim": {"time_scale": 2.0},
    "scenarios": [{"name": "1k128", "isl": 1024, "osl": 128}],
    "concurrencies": [1, 4, 16, 64],
    "load": {"num_prompts_multiplier": 4, "min_prompts": 8, "warmup_multiplier": 1.0},
    "matrix": [
        {
            "model": "meta-llama/Llama-3.1-8B-Instruct",
            "hardware": "h100_sxm",
            "precision": "fp8",
            "labels": ["TP1", "TP2", "TP4", "DP4"],
        }
    ],
}


def measure(spec_data: dict, adaptive: bool, root: Path) -> dict:
    data = {**spec_data, "adaptive": adaptive}
    spec = parse_spec(data, source=spec_data["name"])
    run_id = f"{spec_data['name']}-{'adaptive' if adaptive else 'full'}"
    ctx = RunContext(
        run_id=run_id,
        run_date=dt.date.today(),
        warehouse=str(root / "wh"),
        artifacts=str(root / "art"),
        trigger="benchmark",
    )
    t0 = time.monotonic()
    try:
        run_sweep(spec, ctx, launch_attempts=1)
    except FrontierError as e:  # an audit (raised after the run is landed): the points still count
        print(f"{run_id}: {str(e).splitlines()[0]}", file=sys.stderr)
    wall = time.monotonic() - t0
    con = connect(root / "wh")
    try:
        pts = con.execute(
            "select model, hardware, precision, scenario, label, max_concurrency, duration, gpus, "
            "median_tpot_ms, total_token_throughput from points where run_id = ? and status = 'ok'",
            [run_id],
        ).fetchall()
        skipped = con.execute(
            "select count(*) from failures where run_id = ? and stage = 'skipped'", [run_id]
        ).fetchone()[0]
    finally:
        con.close()
    # the HTTP engine's durations are scaled by time_scale: GPU-seconds on the simulated hardware
    scale = spec.sim.scale if spec.engine == "sim" else 1.0
    gpu_s = sum((d or 0.0) * g * scale for *_, d, g, _, _ in pts)
    groups: dict[tuple, list] = {}
    for m, h, p, s, _lab, _c, _d, g, tpot, tput in pts:
        if tpot and tpot > 0 and tput:
            groups.setdefault((m, h, p, s), []).append((1000.0 / tpot, tput / g))
    hv = {k: hypervolume(v) for k, v in groups.items()}
    return {"gpu_s": gpu_s, "points": len(pts), "skipped": skipped, "hv": hv, "wall": wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP simulated engine spec")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    specs = SPECS + ([] if args.no_http else [HTTP_SPEC])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in specs:
            full = measure(s, False, Path(tmp))
            ada = measure(s, True, Path(tmp))
            errs = [abs(ada["hv"].get(k, 0.0) - v) / v for k, v in full["hv"].items() if v > 0]
            rows.append((s["name"], s["engine"], full, ada, max(errs) if errs else 0.0))
    head = (
        f"{'spec':<22} {'engine':<8} {'pts full':>8} {'pts adapt':>9} {'skipped':>7} "
        f"{'GPU-s full':>11} {'GPU-s adapt':>11} {'saved':>6} {'HV err':>7} {'wall full/adapt s':>18}"
    )
    print(head)
    print("-" * len(head))
    tot_f = tot_a = 0.0
    for name, eng, f, a, err in rows:
        tot_f += f["gpu_s"]
        tot_a += a["gpu_s"]
        print(
            f"{name:<22} {eng:<8} {f['points']:>8} {a['points']:>9} {a['skipped']:>7} {f['gpu_s']:>11,.0f} "
            f"{a['gpu_s']:>11,.0f} {1 - a['gpu_s'] / f['gpu_s']:>6.0%} {err:>7.2%} "
            f"{f['wall']:>8.1f} / {a['wall']:<7.1f}"
        )
    worst = max(r[4] for r in rows)
    print("-" * len(head))
    print(
        f"{'all':<22} {'':<8} {'':>8} {'':>9} {'':>7} {tot_f:>11,.0f} {tot_a:>11,.0f} "
        f"{1 - tot_a / tot_f:>6.0%} {worst:>7.2%} (worst)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
