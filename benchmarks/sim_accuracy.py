"""Accuracy of the simulator against the public measured points (tests/data/calibration).

Run:   .venv/bin/python benchmarks/sim_accuracy.py [--json OUT.json] [--before REF] [--only TEXT]

Every point of ``public_points.yaml`` (each cites its publication) is predicted under the harness
it was measured with (bench_serving range ratio, warm-up, burst size, server flags, speculative
decoding) and compared figure by figure: relative error = (predicted - measured) / measured.
The summary gives, per class (dense / moe / pd) and metric (TPOT, TTFT, tok/s/GPU, interactivity),
the median absolute error and n over the SGLang points (weight 1), and apart over the
magnitude-only points (weight < 1: another engine, or a harness detail assumed). A point the
simulator cannot predict (FP4 it does not model, a deployment that does not fit, a batch the
publication does not give) is listed with its reason and counted as "not predicted".

``--before REF`` runs this same script, on the same points, against the code of git ref REF (a
temporary ``git worktree add --detach``, imported through PYTHONPATH) and prints both side by side,
with the mean wall time per predicted point. The new inputs (``server_flags``, ``range_ratio``,
``warmup_mode``, StepModel's ``spec`` / ``cuda_graph_max_bs``) are passed only where the
predictor's signature takes them, so old and new code are measured by one script. Nothing is
fitted here: it only measures. ``--project-harness`` predicts every point under the project's own
harness (exact lengths, warm-up through the gate, SGLang defaults) instead.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
POINTS = ROOT / "tests/data/calibration/public_points.yaml"
# the code under test: this checkout, or (for --before) the worktree of another ref
CODE = Path(os.environ.get("SIM_ACCURACY_CODE") or ROOT)
if str(CODE) not in sys.path:
    sys.path.insert(0, str(CODE))

CLASSES = ("dense", "moe", "pd")
KINDS = ("point", "prefill_per_gpu", "decode_per_gpu")
# measured figure -> the metric it is reported under
METRIC_OF = {
    "median_tpot_ms": "TPOT",
    "median_ttft_ms": "TTFT",
    "mean_tpot_ms": "TPOT",  # publications that give only the mean
    "mean_ttft_ms": "TTFT",
    "output_tok_s_per_gpu": "tok/s/GPU",
    "input_tok_s_per_gpu": "tok/s/GPU",
    "tok_s_gpu": "tok/s/GPU",
    "tok_s_user": "interactivity",
}
METRICS = ("TPOT", "TTFT", "tok/s/GPU", "interactivity")
# issue 16's goals on median |error|: TPOT 15% dense, 25% MoE and PD; TTFT 35% everywhere
GOAL = {("dense", "TPOT"): 0.15, ("moe", "TPOT"): 0.25, ("pd", "TPOT"): 0.25}
GOAL.update({(c, "TTFT"): 0.35 for c in CLASSES})
SPEC_KEYS = ("algorithm", "num_steps", "draft_tokens", "topk", "accept_len")
# harness key -> SGLang flag (server_flags); bools are switches
FLAG_OF = {
    "chunk": "--chunked-prefill-size",
    "max_prefill_tokens": "--max-prefill-tokens",
    "max_running": "--max-running-requests",
    "mem_fraction": "--mem-fraction-static",
    "cuda_graph_max_bs": "--cuda-graph-max-bs",
    "disable_overlap": "--disable-overlap-schedule",
    "moe_a2a_backend": "--moe-a2a-backend",
    "recv_interval": "--scheduler-recv-interval",
}
LOAD_KEYS = ("range_ratio", "warmup_mode", "num_prompts", "warmup")
SERVER_KEYS = ("chunk", "max_prefill_tokens", "mem_fraction", "max_running", "mixed_chunk")
ROLES = ("prefill", "decode")


# ----------------------------------------------------------------------------- points file
def validate(points: object) -> list[str]:
    """Schema problems of a points list (empty when fine); each names the point and the field."""
    if not isinstance(points, list) or not points:
        return ["points file: expected a non-empty YAML list of points"]
    errs: list[str] = []
    seen: set[str] = set()
    for i, p in enumerate(points):
        pid = p.get("id") if isinstance(p, dict) else None
        where = f"point {pid or f'#{i}'}"
        if not isinstance(p, dict):
            errs.append(f"{where}: expected a mapping")
            continue
        for key in ("id", "class", "source", "kind", "engine", "model", "hardware", "precision"):
            if not p.get(key):
                errs.append(f"{where}: missing {key}")
        for key in ("kv_dtype", "label", "speculative", "harness", "measured", "weight"):
            if key not in p:
                errs.append(f"{where}: missing {key}")
        if pid in seen:
            errs.append(f"{where}: duplicate id")
        seen.add(pid)
        if p.get("class") not in CLASSES:
            errs.append(f"{where}: class must be one of {', '.join(CLASSES)}, got {p.get('class')!r}")
        src = p.get("source")
        if not (isinstance(src, dict) and src.get("url") and src.get("quote")):
            errs.append(f"{where}: source needs url and quote (the sentence or table row cited)")
        kind = p.get("kind")
        if kind not in KINDS:
            errs.append(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        need = {
            "point": ("isl", "osl", "concurrency"),
            "prefill_per_gpu": ("isl", "tokens_per_gpu"),
            "decode_per_gpu": ("context", "batch_per_gpu"),
        }.get(kind, ())
        for key in need:
            if key not in p:
                errs.append(f"{where}: kind {kind} needs {key}")
            elif p[key] is not None and (not isinstance(p[key], int) or p[key] < 1):
                errs.append(f"{where}: {key} must be a positive integer, got {p[key]!r}")
        if kind != "decode_per_gpu" and need and any(p.get(k) is None for k in need):
            errs.append(f"{where}: only decode batch_per_gpu may be null (unpublished)")
        meas = p.get("measured")
        if not isinstance(meas, dict) or not meas:
            errs.append(f"{where}: measured needs at least one figure")
        else:
            for k, v in meas.items():
                if k not in METRIC_OF:
                    errs.append(f"{where}: unknown measured figure {k!r}; known: {', '.join(METRIC_OF)}")
                elif not isinstance(v, (int, float)) or v <= 0:
                    errs.append(f"{where}: measured {k} must be a positive number, got {v!r}")
        spec = p.get("speculative")
        if spec != "none" and (not isinstance(spec, dict) or any(k not in spec for k in SPEC_KEYS)):
            errs.append(
                f"{where}: speculative is none or a mapping with {', '.join(SPEC_KEYS)} (null = not published)"
            )
        w = p.get("weight")
        if not isinstance(w, (int, float)) or not 0 < w <= 1:
            errs.append(f"{where}: weight must be in (0, 1], got {w!r}")
        elif p.get("engine") != "sglang" and w >= 1:
            errs.append(f"{where}: a non-SGLang point is magnitude only (weight < 1)")
        h = p.get("harness")
        if not isinstance(h, dict):
            errs.append(f"{where}: harness must be a mapping ({{}} when the project's defaults)")
        elif "range_ratio" in h and not 0 <= h["range_ratio"] <= 1:
            errs.append(f"{where}: harness range_ratio must be in [0, 1], got {h['range_ratio']!r}")
    return errs


def load_points(path: Path = POINTS) -> list[dict]:
    points = yaml.safe_load(path.read_text())
    errs = validate(points)
    if errs:
        raise SystemExit(f"{path}:\n  " + "\n  ".join(errs))
    return points


def _argv(h: dict) -> list[str]:
    out: list[str] = []
    for key, flag in FLAG_OF.items():
        v = h.get(key)
        if v is True:
            out.append(flag)
        elif v is not None and v is not False:
            out += [flag, str(v)]
    return out


def spec_argv(spec: object) -> list[str]:
    if not isinstance(spec, dict):
        return []
    out = ["--speculative-algorithm", str(spec.get("algorithm") or "EAGLE")]
    # a setting the publication does not give (null) is left to the simulator's default;
    # --speculative-accept-len is the simulator's own flag (measured acceptance length)
    for key, flag in (
        ("num_steps", "--speculative-num-steps"),
        ("topk", "--speculative-eagle-topk"),
        ("draft_tokens", "--speculative-num-draft-tokens"),
        ("accept_len", "--speculative-accept-len"),
    ):
        if spec.get(key) is not None:
            out += [flag, str(spec[key])]
    return out


def server_flags(p: dict) -> dict[str, tuple[str, ...]]:
    """role -> SGLang argv of that role's servers, from the point's harness and speculative.

    A PD label gets prefill and decode argv (harness ``prefill:`` / ``decode:`` sub-mappings when
    the roles differ, else the same flags); speculative decoding goes to the decode role (and to
    the single server of an aggregated deployment).
    """
    h = p.get("harness") or {}
    spec = spec_argv(p.get("speculative"))
    if "+" not in str(p.get("label", "")):
        return {"single": tuple(_argv(h) + spec)}
    return {
        "prefill": tuple(_argv({**h, **(h.get("prefill") or {})})),
        "decode": tuple(_argv({**h, **(h.get("decode") or {})}) + spec),
    }


# ----------------------------------------------------------------------------- prediction
class NotPredicted(Exception):
    pass


def _params(fn) -> tuple[set[str], bool]:
    sig = inspect.signature(fn)
    names = set(sig.parameters)
    return names, any(q.kind is inspect.Parameter.VAR_KEYWORD for q in sig.parameters.values())


def _spec_decode(spec: dict):
    try:
        from frontier.sim.specdec import SpecDecode
    except ImportError:
        raise NotPredicted("this simulator has no speculative decoding (frontier.sim.specdec)") from None
    keys = ("algorithm", "num_steps", "draft_tokens", "topk", "accept_len")
    return SpecDecode(**{k: spec[k] for k in keys if spec.get(k) is not None})


def predict_full(p: dict, project_harness: bool) -> dict:
    from frontier.sim import predict as pred_mod

    fn = pred_mod.predict_point
    names, var_kw = _params(fn)
    h = {} if project_harness else dict(p.get("harness") or {})
    kw: dict = {"kv_dtype": p.get("kv_dtype") or "bf16"}
    for k in LOAD_KEYS + SERVER_KEYS:
        if k in h and (k in names or (var_kw and k in SERVER_KEYS)):
            kw[k] = h[k]
    spec = p.get("speculative")
    if "server_flags" in names:
        flags = server_flags({**p, "harness": h})
        if any(flags.values()):
            kw["server_flags"] = flags
    elif isinstance(spec, dict):
        raise NotPredicted("predict_point takes no server_flags: speculative decoding cannot be given")
    m = fn(p["model"], p["hardware"], p["precision"], p["label"], p["isl"], p["osl"], p["concurrency"], **kw)
    g = m["gpus"]
    out = {
        "median_ttft_ms": m.get("median_ttft_ms"),
        "median_tpot_ms": m.get("median_tpot_ms"),
        "mean_ttft_ms": m.get("mean_ttft_ms"),
        "mean_tpot_ms": m.get("mean_tpot_ms"),
        "output_tok_s_per_gpu": m["output_throughput"] / g,
        "input_tok_s_per_gpu": (m["total_token_throughput"] - m["output_throughput"]) / g,
        "tok_s_gpu": m["total_token_throughput"] / g,
        "tok_s_user": m.get("tok_s_user"),
    }
    return out


def predict_component(p: dict) -> dict:
    from frontier.domain.catalog import get_hardware, get_model
    from frontier.sim.perf_model import StepModel, default_params, prefill_work
    from frontier.sim.topology import from_label

    model, hw = get_model(p["model"]), get_hardware(p["hardware"])
    shape = from_label(p["label"], model).groups[0].shape
    names, _ = _params(StepModel.__init__)
    kw: dict = {}
    if "kv_dtype" in names:
        kw["kv_dtype"] = p.get("kv_dtype") or "bf16"
    h = p.get("harness") or {}
    for k in ("cuda_graph_max_bs", "moe_a2a_backend"):
        if h.get(k) and k in names:
            kw[k] = h[k]
    spec = p.get("speculative")
    if isinstance(spec, dict):
        if "spec" not in names:
            raise NotPredicted("StepModel takes no spec: speculative decoding is not modelled")
        kw["spec"] = _spec_decode(spec)
    sm = StepModel(model, hw, p["precision"], shape, default_params(), **kw)
    sm.check_fits(p["label"])
    if p["kind"] == "prefill_per_gpu":
        isl = p["isl"]
        # a full prefill iteration: tokens_per_gpu per attention rank, whole prompts
        n = shape.attn_dp * max(1, p["tokens_per_gpu"] // isl)
        t = sm.step_time(0, 0, n * isl, n * prefill_work(0, isl), (isl, prefill_work(0, isl)))
        return {"input_tok_s_per_gpu": n * isl / t / shape.gpus}
    if p.get("batch_per_gpu") is None:
        raise NotPredicted("the publication gives no batch per GPU")
    b = p["batch_per_gpu"] * shape.gpus
    t = sm.step_time(b, b * p["context"])
    gain = float(getattr(sm, "accept_len", 1.0))
    return {"output_tok_s_per_gpu": b * gain / t / shape.gpus}


def evaluate(points: list[dict], project_harness: bool = False, log=print) -> dict:
    rows, walls = [], []
    for p in points:
        row = {
            "id": p["id"],
            "class": p["class"],
            "kind": p["kind"],
            "hardware": p["hardware"],
            "precision": p["precision"],
            "mtp": isinstance(p.get("speculative"), dict),
            "weight": p["weight"],
            "predicted": None,
            "figures": {},
        }
        t0 = time.perf_counter()
        try:
            pred = predict_full(p, project_harness) if p["kind"] == "point" else predict_component(p)
        except Exception as e:  # noqa: BLE001 - any failure of the predictor is "not predicted"
            row["error"] = f"{type(e).__name__}: {e}"
        else:
            row["predicted"] = True
            walls.append(time.perf_counter() - t0)
            row["wall_s"] = walls[-1]
        for k, v in p["measured"].items():
            got = pred.get(k) if row["predicted"] else None
            bad = got is None or (isinstance(got, float) and math.isnan(got))
            err = None if bad else (got - v) / v
            row["figures"][k] = {"metric": METRIC_OF[k], "measured": v, "predicted": got, "error": err}
        if row["predicted"] is None:
            row["predicted"] = False
        rows.append(row)
        if log:
            log_point(row, log)
    return {
        "points": rows,
        "summary": summarize(rows),
        "rows": row_counts(rows),
        "wall_s_per_point": mean(walls),
    }


def row_counts(rows: list[dict]) -> dict:
    """Points predicted / listed, overall and for the FP4 and MTP rows the issue asks about."""

    def count(sel):
        sel = list(sel)
        return {"predicted": sum(r["predicted"] for r in sel), "points": len(sel)}

    return {
        "all": count(rows),
        "fp4": count(r for r in rows if r["precision"] == "fp4"),
        "mtp": count(r for r in rows if r["mtp"]),
    }


def mean(v: list[float]) -> float | None:
    return sum(v) / len(v) if v else None


def summarize(rows: list[dict]) -> list[dict]:
    """Per class and metric: n and median |error| of SGLang points and of magnitude-only points."""
    out = []
    for cls in CLASSES:
        for metric in METRICS:
            full, mag, signed, missing, missing_mag = [], [], [], 0, 0
            for r in rows:
                if r["class"] != cls:
                    continue
                for f in r["figures"].values():
                    if f["metric"] != metric:
                        continue
                    if f["error"] is None:
                        if r["weight"] >= 1:
                            missing += 1
                        else:
                            missing_mag += 1
                    elif r["weight"] >= 1:
                        full.append(abs(f["error"]))
                        signed.append(f["error"])
                    else:
                        mag.append(abs(f["error"]))
            if not (full or mag or missing or missing_mag):
                continue
            out.append(
                {
                    "class": cls,
                    "metric": metric,
                    "n": len(full),
                    "median_abs_error": statistics.median(full) if full else None,
                    "median_error": statistics.median(signed) if signed else None,
                    "n_magnitude": len(mag),
                    "median_abs_error_magnitude": statistics.median(mag) if mag else None,
                    "not_predicted": missing,
                    "not_predicted_magnitude": missing_mag,
                    "goal": GOAL.get((cls, metric)),
                }
            )
    return out


# ----------------------------------------------------------------------------- printing
def pct(v: float | None, sign: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.0%}" if sign else f"{v:.0%}"


def num(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def log_point(r: dict, log=print) -> None:
    tag = " [mtp]" if r["mtp"] else ""
    for k, f in r["figures"].items():
        err = pct(f["error"], sign=True) if f["error"] is not None else "not predicted"
        log(
            f"{r['id'][:52]:52s} {r['class']:5s} {k:22s} {f['measured']:10.1f} {num(f['predicted']):>10s} {err:>14s}{tag}"
        )
    if not r["predicted"]:
        log(f"{'':52s}   -> not predicted: {r['error'][:150]}")


def counts_line(res: dict) -> str:
    c = res.get("rows") or row_counts(res["points"])
    w = res.get("wall_s_per_point")
    return (
        f"points predicted {c['all']['predicted']}/{c['all']['points']} (FP4 rows "
        f"{c['fp4']['predicted']}/{c['fp4']['points']}, MTP rows {c['mtp']['predicted']}/{c['mtp']['points']})"
        f"; mean wall time per predicted point {'-' if w is None else f'{w:.3f} s'}"
    )


def print_summary(result: dict, title: str = "") -> None:
    if title:
        print(title)
    head = f"  {'class':5s} {'metric':13s} {'n':>3s} {'med|err|':>8s} {'signed':>7s} {'goal':>5s}"
    print(head + f"  {'n mag':>5s} {'mag|err|':>8s} {'not predicted (sglang/mag)':>26s}")
    for s in result["summary"]:
        goal = s["goal"]
        ok = ""
        if goal is not None and s["median_abs_error"] is not None:
            ok = " ok" if s["median_abs_error"] <= goal else " over"
        print(
            f"  {s['class']:5s} {s['metric']:13s} {s['n']:3d} {pct(s['median_abs_error']):>8s} "
            f"{pct(s['median_error'], True):>7s} {pct(goal):>5s}  {s['n_magnitude']:5d} "
            f"{pct(s['median_abs_error_magnitude']):>8s} {s['not_predicted']:>19d}/{s['not_predicted_magnitude']:<6d}{ok}"
        )
    print("  " + counts_line(result))


def print_side_by_side(before: dict, after: dict, ref: str) -> None:
    print(f"\nbefore ({ref}) -> after (this checkout): median |error| (n) per class and metric")
    print(
        f"  {'class':5s} {'metric':13s} {'before':>12s} {'after':>12s} {'goal':>5s}   magnitude-only before -> after"
    )
    key = lambda s: (s["class"], s["metric"])
    b = {key(s): s for s in before["summary"]}
    a = {key(s): s for s in after["summary"]}
    for k in [key(s) for s in after["summary"]] + [k for k in b if k not in a]:
        sb, sa = b.get(k), a.get(k)

        def cell(s, mag=False):
            if s is None:
                return "-"
            v = s["median_abs_error_magnitude"] if mag else s["median_abs_error"]
            n = s["n_magnitude"] if mag else s["n"]
            miss = s["not_predicted_magnitude"] if mag else s["not_predicted"]
            return f"{pct(v)} ({n}/{n + miss})"

        print(
            f"  {k[0]:5s} {k[1]:13s} {cell(sb):>12s} {cell(sa):>12s} {pct(GOAL.get(k)):>5s}   "
            f"{cell(sb, True)} -> {cell(sa, True)}"
        )
    for name, res in (("before", before), ("after", after)):
        print(f"  {name}: " + counts_line(res))
    print("  (n/m: m measured figures, n of them predicted)")


# ----------------------------------------------------------------------------- --before
def run_before(ref: str, argv_extra: list[str]) -> dict:
    import subprocess
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="sim-accuracy-before-"))
    tree = tmp / "tree"
    out = tmp / "before.json"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref],
        check=True,
        capture_output=True,
    )
    try:
        env = dict(os.environ, PYTHONPATH=str(tree), SIM_ACCURACY_CODE=str(tree))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--json", str(out), "--quiet", *argv_extra]
        subprocess.run(cmd, check=True, env=env, cwd=str(tree))
        return json.loads(out.read_text())
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write the per-point and summary results here")
    ap.add_argument("--before", metavar="REF", help="also run on git ref REF and print both side by side")
    ap.add_argument("--only", metavar="TEXT", help="only the points whose id contains TEXT")
    ap.add_argument("--points", type=Path, default=POINTS, help="points file (default: %(default)s)")
    ap.add_argument("--project-harness", action="store_true", help="predict under the project's harness")
    ap.add_argument("--quiet", action="store_true", help="no per-point lines")
    a = ap.parse_args(argv)
    points = load_points(a.points)
    if a.only:
        points = [p for p in points if a.only in p["id"]]
    extra = ["--points", str(a.points.resolve())] + (["--only", a.only] if a.only else [])
    extra += ["--project-harness"] if a.project_harness else []
    before = run_before(a.before, extra) if a.before else None
    if not a.quiet:
        print(
            f"{'point':52s} {'class':5s} {'figure':22s} {'measured':>10s} {'predicted':>10s} {'error':>14s}"
        )
    result = evaluate(points, a.project_harness, log=None if a.quiet else print)
    try:
        from frontier.sim import SIM_VERSION
    except ImportError:
        SIM_VERSION = "?"
    result["sim_version"] = SIM_VERSION
    result["code"] = str(CODE)
    if a.json:
        out = dict(result, before=dict(before, ref=a.before)) if before else result
        a.json.write_text(json.dumps(out, indent=1))
    if not a.quiet:
        print()
        print_summary(result, f"median |error| per class and metric ({SIM_VERSION}; n = SGLang points)")
        if before:
            print_side_by_side(before, result, a.before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
