"""Accuracy of the simulator against the public calibration points (tests/data/calibration).

Run: .venv/bin/python benchmarks/sim_accuracy.py
Prints predicted vs measured and the relative error of each figure of each point, then the
median absolute error by class (dense / MoE / PD) over the target figures (TPOT and tok/s/GPU;
targets 15% dense, 25% MoE and PD) and, apart, over TTFT. A point measured under another
harness (``harness`` in the YAML: bench_serving range ratio, warm-up mode, server flags) is
predicted under that harness; ``--project-harness`` predicts every point under the project's
own (exact lengths, warm-up through the gate, SGLang defaults) instead. The TRT-LLM points are
another engine: magnitude only.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frontier.domain.catalog import get_hardware, get_model
from frontier.sim.perf_model import StepModel, default_params, prefill_work
from frontier.sim.predict import predict_point
from frontier.sim.topology import from_label

POINTS = ROOT / "tests/data/calibration/public_points.yaml"


TARGET = ("median_tpot_ms", "output_tok_s_per_gpu", "input_tok_s_per_gpu")
LIMIT = {"dense": 0.15, "moe": 0.25, "pd": 0.25}


def predicted(p: dict, project_harness: bool = False) -> dict:
    if p["kind"] == "point":
        harness = {} if project_harness else dict(p.get("harness") or {})
        m = predict_point(
            p["model"],
            p["hardware"],
            p["precision"],
            p["label"],
            p["isl"],
            p["osl"],
            p["concurrency"],
            kv_dtype=p.get("kv_dtype", "bf16"),
            **harness,
        )
        m["output_tok_s_per_gpu"] = m["output_throughput"] / m["gpus"]
        return m
    model, hw = get_model(p["model"]), get_hardware(p["hardware"])
    shape = from_label(p["label"], model).groups[0].shape
    sm = StepModel(model, hw, p["precision"], shape, default_params())
    if p["kind"] == "prefill_per_gpu":
        # a full prefill iteration: tokens_per_gpu (default 4 requests) per attention rank
        n = shape.attn_dp * max(1, p.get("tokens_per_gpu", 4 * p["isl"]) // p["isl"])
        t = sm.step_time(
            0, 0, n * p["isl"], n * prefill_work(0, p["isl"]), (p["isl"], prefill_work(0, p["isl"]))
        )
        return {"input_tok_s_per_gpu": n * p["isl"] / t / shape.gpus}
    b = p["batch_per_gpu"] * shape.gpus
    t = sm.step_time(b, b * p["context"])
    return {"output_tok_s_per_gpu": b / t / shape.gpus}


def main() -> int:
    project = "--project-harness" in sys.argv[1:]
    points = yaml.safe_load(POINTS.read_text())
    errs: dict[tuple[str, str], list[float]] = {}
    print(f"{'point':46s} {'class':5s} {'figure':22s} {'measured':>10s} {'predicted':>10s} {'error':>8s}")
    for p in points:
        pred = predicted(p, project)
        for k, v in p["measured"].items():
            e = (pred[k] - v) / v
            group = "target" if k in TARGET else k
            errs.setdefault((p["class"], group), []).append(abs(e))
            print(f"{p['id']:46s} {p['class']:5s} {k:22s} {v:10.1f} {pred[k]:10.1f} {e:+8.1%}")
    print()
    print("median |error| by class (target = TPOT and tok/s/GPU figures)")
    worst = 0.0
    for (cls, group), v in sorted(errs.items()):
        med = statistics.median(v)
        lim = LIMIT.get(cls) if group == "target" else None
        flag = "" if lim is None else ("  ok" if med <= lim else f"  over {lim:.0%}")
        if lim is not None:
            worst = max(worst, med - lim)
        print(f"  {cls:5s} {group:18s} {med:7.1%}  (n={len(v)}){flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
