"""Time per plan item of ``frontier predict SPEC`` (issue 16 item 6: at most 1 s per item).

Three specs, side by side in one run, each through ``frontier.cli.predict.predict_spec`` (the
function behind ``frontier predict SPEC``): the README's example (sweeps/seed_predicted.yaml, the
"Predict a sweep" section), the nightly sweep (sweeps/nightly.yaml: FP8/FP4, MTP, PD) and a big
DeepSeek-R1 spec written to a temp dir (B300 + H200, 13 labels including multi-server PD
``1xDEP4+2xDEP8`` and ``2xSEP8+1xDEP8``, 1k1k / 8k1k / 1k8k, concurrency 1-256). Prints per spec:
items, points, total seconds, mean / max seconds per item, max per item / the 1 s budget, and the
slowest items.

    .venv/bin/python benchmarks/sim_predict_speed.py            # all three specs
    .venv/bin/python benchmarks/sim_predict_speed.py --only big --top 5
    .venv/bin/python benchmarks/sim_predict_speed.py --profile OUT.prof --only big   # cProfile
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from frontier.cli.predict import predict_spec

BUDGET_S = 1.0  # issue 16 item 6: at most 1 s per predicted item
LADDER = [1, 2, 4, 8, 16, 32, 64, 128, 256]
BIG_LABELS = [
    "TP8",
    "TEP8",
    "DEP8",
    "SEP8",
    "DPATP8",
    "TEP16",
    "DEP16",
    "SEP8+1xDEP8",
    "1xTEP8+1xDEP8",
    "SEP4+1xDEP8",
    "DEP4+1xDEP8",
    "1xDEP4+2xDEP8",
    "2xSEP8+1xDEP8",
]


def big_spec() -> dict:
    """DeepSeek-R1 FP8 on B300 and H200: 13 labels x 3 scenarios x concurrency 1-256."""
    return {
        "name": "r1-big-speed",
        "engine": "predict",
        "scenarios": ["1k1k", "8k1k", "1k8k"],
        "concurrencies": LADDER,
        "matrix": [
            {"model": "deepseek-ai/DeepSeek-R1", "hardware": hw, "precision": "fp8", "labels": BIG_LABELS}
            for hw in ("b300_sxm", "h200_sxm")
        ],
    }


def run_spec(name: str, path: Path, top: int) -> dict:
    took: list[tuple[float, str, int]] = []

    def on_item(item, rows, seconds: float) -> None:
        took.append((seconds, f"{item.hardware} {item.display_label} / {item.scenario['name']}", len(rows)))

    t0 = time.perf_counter()
    rows = predict_spec(path, on_item=on_item)
    total = time.perf_counter() - t0
    secs = [s for s, _, _ in took]
    n = len(secs)
    res = {
        "spec": name,
        "items": n,
        "points": len(rows),
        "errors": sum(1 for r in rows if r["error"]),
        "total_s": total,
        "mean_s": sum(secs) / n if n else 0.0,
        "max_s": max(secs) if n else 0.0,
    }
    res["max_over_budget"] = res["max_s"] / BUDGET_S
    res["slowest"] = sorted(took, reverse=True)[:top]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["readme", "nightly", "big"], action="append", help="run these specs")
    ap.add_argument("--top", type=int, default=3, help="slowest items listed per spec")
    ap.add_argument("--profile", help="write a cProfile of the whole run to this file")
    ns = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sim-predict-speed-") as tmp:
        big = Path(tmp) / "r1-big.yaml"
        big.write_text(yaml.safe_dump(big_spec(), sort_keys=False))
        specs = {
            "readme": ROOT / "sweeps" / "seed_predicted.yaml",
            "nightly": ROOT / "sweeps" / "nightly.yaml",
            "big": big,
        }
        chosen = ns.only or list(specs)
        prof = None
        if ns.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        results = [run_spec(k, specs[k], ns.top) for k in chosen]
        if prof is not None:
            prof.disable()
            prof.dump_stats(ns.profile)
    cols = ("spec", "items", "points", "errors", "total_s", "mean_s", "max_s", "max_over_budget")
    head = ("spec", "items", "points", "errors", "total s", "mean s/item", "max s/item", "max/1 s budget")
    lines = [head]
    for r in results:
        lines.append(tuple(f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in cols))
    widths = [max(len(x[i]) for x in lines) for i in range(len(head))]
    print(f"frontier predict SPEC: seconds per plan item (budget {BUDGET_S:g} s per item)")
    for x in lines:
        print("  ".join(c.rjust(w) for c, w in zip(x, widths)))
    for r in results:
        print(f"slowest items of {r['spec']}:")
        for s, what, pts in r["slowest"]:
            print(f"  {s:6.2f} s  {what} ({pts} points)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
