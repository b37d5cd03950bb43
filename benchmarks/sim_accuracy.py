"""Accuracy of the simulator against the public calibration points (tests/data/calibration).

Run: .venv/bin/python benchmarks/sim_accuracy.py
Prints predicted vs measured and the relative error of each figure, then the median absolute
error over SGLang points (the TRT-LLM points are another engine: magnitude only).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frontier.catalog import get_hardware, get_model
from frontier.sim.perf_model import StepModel, default_params, prefill_work
from frontier.sim.predict import predict_point
from frontier.sim.topology import from_label

POINTS = ROOT / "tests/data/calibration/public_points.yaml"


def predicted(p: dict) -> dict:
    if p["kind"] == "point":
        m = predict_point(
            p["model"],
            p["hardware"],
            p["precision"],
            p["label"],
            p["isl"],
            p["osl"],
            p["concurrency"],
            kv_dtype=p.get("kv_dtype", "bf16"),
        )
        m["output_tok_s_per_gpu"] = m["output_throughput"] / m["gpus"]
        return m
    model, hw = get_model(p["model"]), get_hardware(p["hardware"])
    shape = from_label(p["label"], model).groups[0].shape
    sm = StepModel(model, hw, p["precision"], shape, default_params())
    if p["kind"] == "prefill_per_gpu":
        n = shape.attn_dp * 4  # a full prefill iteration: 4 requests per attention rank
        t = sm.step_time(
            0, 0, n * p["isl"], n * prefill_work(0, p["isl"]), (p["isl"], prefill_work(0, p["isl"]))
        )
        return {"input_tok_s_per_gpu": n * p["isl"] / t / shape.gpus}
    b = p["batch_per_gpu"] * shape.gpus
    t = sm.step_time(b, b * p["context"])
    return {"output_tok_s_per_gpu": b / t / shape.gpus}


def main() -> int:
    points = yaml.safe_load(POINTS.read_text())
    errs: dict[str, list[float]] = {}
    print(f"{'point':48s} {'figure':22s} {'measured':>10s} {'predicted':>10s} {'error':>8s}")
    for p in points:
        pred = predicted(p)
        for k, v in p["measured"].items():
            e = (pred[k] - v) / v
            errs.setdefault(f"{p['engine']}:{k}", []).append(abs(e))
            print(f"{p['id']:48s} {k:22s} {v:10.1f} {pred[k]:10.1f} {e:+8.1%}")
    print()
    for k, v in sorted(errs.items()):
        print(f"median |error| {k:34s} {statistics.median(v):6.1%}  (n={len(v)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
