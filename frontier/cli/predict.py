"""``frontier predict``: the simulator in virtual time over a sweep spec, a point, or a CSV of points.

``frontier predict SPEC`` plans the spec (:func:`frontier.planning.planner.plan`) and predicts every
item x ladder concurrency (:func:`frontier.sim.predict.predict_items`); it lives here, above both
planning and the simulator, because planning already depends on the simulator package.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frontier.domain.load import DEFAULT_LOAD
from frontier.errors import FrontierError

if TYPE_CHECKING:
    from frontier.domain.spec import Spec
    from frontier.planning.planner import PlanItem

DEFAULT_RANGE_RATIO = DEFAULT_LOAD.range_ratio  # = frontier.sim.predict.DEFAULT_RANGE_RATIO
FORMATS = ("table", "csv", "json")

_TABLE_KEYS = (
    ("gpus", "{:d}"),
    ("median_ttft_ms", "{:.1f}"),
    ("median_tpot_ms", "{:.2f}"),
    ("median_itl_ms", "{:.2f}"),
    ("median_e2e_latency_ms", "{:.0f}"),
    ("output_throughput", "{:.1f}"),
    ("total_token_throughput", "{:.1f}"),
    ("tok_s_gpu", "{:.1f}"),
    ("tok_s_user", "{:.2f}"),
    ("concurrency", "{:.2f}"),
    ("completed", "{:d}"),
    ("duration", "{:.2f}"),
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict a sweep spec's every item x concurrency, a point, or a CSV of points (virtual time)",
        description="Predict with the simulator in virtual time: `frontier predict SPEC` (every plan item"
        " and ladder concurrency of a sweep spec), a point (--model --hardware --label --isl --osl"
        " --concurrency) or a batch (--points IN.csv --out OUT.csv).",
    )
    p.add_argument("spec", nargs="?", help="a sweep spec YAML (as `frontier run` / `frontier plan` take)")
    p.add_argument(
        "--points",
        help="IN.csv with columns model,hardware,precision,label,isl,osl,concurrency"
        "[,range_ratio][,speculative]",
    )
    p.add_argument("--out", help="OUT.csv with --points; with SPEC the output file (default: stdout)")
    p.add_argument(
        "--format",
        choices=list(FORMATS),
        default=None,
        help="SPEC output: table (default), csv or json (default from --out's extension)",
    )
    p.add_argument("--labels", help="SPEC: comma-separated subset of the spec's labels")
    p.add_argument("--scenarios", help="SPEC: comma-separated subset of the spec's scenarios")
    p.add_argument("--concurrencies", help="SPEC: comma-separated ladder replacing the spec's")
    p.add_argument("--model")
    p.add_argument("--hardware")
    p.add_argument("--precision", default="fp8")
    p.add_argument("--label")
    p.add_argument("--isl", type=int)
    p.add_argument("--osl", type=int)
    p.add_argument("--concurrency", type=int, nargs="+")
    p.add_argument("--num-prompts", type=int, default=None)
    p.add_argument(
        "--random-range-ratio",
        type=float,
        default=None,
        help="point / --points rows without a range_ratio: ISL and OSL each uniform integers in"
        f" [max(1, int(L x R)), L] as bench_serving; R in (0, 1], default {DEFAULT_RANGE_RATIO:g}"
        " (the spec load default); 1 = exact lengths",
    )
    p.add_argument(
        "--speculative",
        choices=["none", "mtp"],
        default="none",
        help="point form: speculative decoding of the servers (mtp: the recipe's MTP flags)",
    )
    p.add_argument(
        "--speculative-accept-len",
        type=float,
        default=None,
        help="with --speculative mtp: mean tokens accepted per verify step (default: the public figure"
        " for the model, frontier.sim.specdec)",
    )
    p.add_argument(
        "--no-recipes",
        action="store_true",
        help="point / --points: run SGLang's own defaults, not the recipe flags `frontier run` would"
        " give these servers (frontier.planning.recipes)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=run_predict)


def recipe_flags(args: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each role's SGLang flags for a point (model, hardware, precision, label, speculative): those
    `frontier run` would give it on engine sglang with the recipes on
    (:func:`frontier.planning.engines.sglang_server_flags`; the simulator derives the rest)."""
    from frontier.domain.tuning import MTPSettings
    from frontier.planning.engines import sglang_server_flags

    spec = args.get("speculative") or "none"
    accept = args.get("speculative_accept_len")
    return sglang_server_flags(
        args["label"],
        args["model"],
        args["hardware"],
        args["precision"],
        speculative=None if spec == "none" else spec,
        mtp=MTPSettings(accept_len=accept) if accept is not None else None,
    )


def run_predict(ns: argparse.Namespace) -> int:
    from frontier.sim.predict import check_range_ratio, predict_csv, predict_point

    point_flags = [n for n in ("model", "hardware", "label", "isl", "osl", "concurrency") if getattr(ns, n)]
    if ns.spec:
        if ns.points or point_flags:
            raise FrontierError(
                "predict takes a SPEC, or --points IN.csv, or a point (--model ...), not several: drop "
                + ("--points" if ns.points else "--" + ", --".join(point_flags))
            )
        return run_predict_spec(ns)
    spec_only = [f for f in ("format", "labels", "scenarios", "concurrencies") if getattr(ns, f)]
    if spec_only:
        raise FrontierError(f"--{', --'.join(spec_only)} go with a SPEC (frontier predict SPEC ...)")
    rr = DEFAULT_RANGE_RATIO
    if ns.random_range_ratio is not None:
        rr = check_range_ratio(ns.random_range_ratio, "--random-range-ratio")
    if ns.points:
        if not ns.out:
            raise FrontierError("--points needs --out OUT.csv")
        flags_for = None if ns.no_recipes else recipe_flags
        bad = predict_csv(ns.points, ns.out, default_range_ratio=rr, flags_for=flags_for)
        print(f"wrote {ns.out}" + (f" ({bad} row(s) with an error)" if bad else ""))
        return 0
    need = [n for n in ("model", "hardware", "label", "isl", "osl", "concurrency") if getattr(ns, n) is None]
    if need:
        raise FrontierError(
            f"predict needs a SPEC, --points IN.csv --out OUT.csv, or a point: missing --{', --'.join(need)}"
        )
    from frontier.sim.predict import point_flags

    if ns.speculative_accept_len is not None and ns.speculative != "mtp":
        raise FrontierError("--speculative-accept-len goes with --speculative mtp")
    keys = ("model", "hardware", "precision", "label", "speculative", "speculative_accept_len")
    point = {k: getattr(ns, k) for k in keys}
    server = point_flags(point, None if ns.no_recipes else recipe_flags)
    rows = [
        predict_point(
            ns.model,
            ns.hardware,
            ns.precision,
            ns.label,
            ns.isl,
            ns.osl,
            c,
            num_prompts=ns.num_prompts,
            seed=ns.seed,
            range_ratio=rr,
            **server,
        )
        for c in ns.concurrency
    ]
    header = ["max_concurrency"] + [k for k, _ in _TABLE_KEYS]
    lines = [header]
    for m in rows:
        lines.append([str(m["max_concurrency"])] + [f.format(m[k]) for k, f in _TABLE_KEYS])
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    print(
        f"{ns.model} {ns.hardware} {ns.precision} {ns.label}{' MTP' if ns.speculative == 'mtp' else ''}"
        f" ISL {ns.isl} OSL {ns.osl} range ratio {rr:g}"
        + (" (SGLang defaults)" if ns.no_recipes else " (recipe flags)")
    )
    for r in lines:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    return 0


def _spec_format(ns: argparse.Namespace) -> str:
    if ns.format:
        return ns.format
    ext = (ns.out or "").rsplit(".", 1)[-1].lower() if "." in (ns.out or "") else ""
    return ext if ext in ("csv", "json") else "table"


def predict_spec(
    spec: Spec | Mapping[str, Any] | str | Path,
    on_item: Callable[[PlanItem, list[dict[str, Any]], float], None] | None = None,
) -> list[dict[str, Any]]:
    """Every plan item x ladder concurrency of a sweep spec (a :class:`Spec`, a spec mapping or a
    YAML path), predicted in virtual time: rows of :data:`frontier.sim.predict.SPEC_COLUMNS`, in
    plan order. ``on_item(item, rows, seconds)`` is called after each item."""
    from frontier.domain.spec import Spec, load_spec, parse_spec
    from frontier.planning.planner import plan
    from frontier.sim.predict import predict_items

    if isinstance(spec, (str, Path)):
        spec = load_spec(spec)
    elif not isinstance(spec, Spec):
        spec = parse_spec(dict(spec))
    from frontier.planning.engines import item_server_flags

    return predict_items(
        plan(spec), seed=spec.seed, on_item=on_item, flags_for=lambda item: item_server_flags(item, spec)
    )


def run_predict_spec(ns: argparse.Namespace) -> int:
    import sys
    import time

    from frontier.domain.spec import load_spec, narrow

    spec = load_spec(ns.spec)
    labels = [x.strip() for x in (ns.labels or "").split(",") if x.strip()]
    scenarios = [x.strip() for x in (ns.scenarios or "").split(",") if x.strip()]
    conc = []
    for x in (ns.concurrencies or "").split(","):
        if x.strip():
            try:
                conc.append(int(x))
            except ValueError:
                raise FrontierError(
                    f"--concurrencies: {x.strip()!r} is not an integer; give e.g. 4,16,64"
                ) from None
    if labels or scenarios or conc:
        spec = narrow(spec, labels_subset=labels, scenarios_subset=scenarios, concurrencies=conc)
    fmt = _spec_format(ns)
    took: list[float] = []

    def progress(item, rows, seconds: float) -> None:
        took.append(seconds)
        bad = sum(1 for r in rows if r["error"])
        print(
            f"  {item.hardware} {item.display_label} / {item.scenario['name']}: {len(rows)} point(s)"
            f" in {seconds:.2f} s" + (f" ({bad} with an error)" if bad else ""),
            file=sys.stderr,
        )

    t0 = time.perf_counter()
    rows = predict_spec(spec, on_item=progress)
    wall = time.perf_counter() - t0
    text = render(rows, fmt, title=f"{spec.name}: predicted in virtual time (simulator, not measured)")
    if ns.out:
        with open(ns.out, "w", newline="") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    n = len(took)
    bad = sum(1 for r in rows if r["error"])
    summary = (
        f"predicted {len(rows)} point(s) of {n} item(s) in {wall:.1f} s"
        + (f": {sum(took) / n:.2f} s per item on average, slowest {max(took):.2f} s" if n else "")
        + (f"; {bad} point(s) with an error (see the error column)" if bad else "")
    )
    if ns.out:
        print(f"wrote {ns.out} ({len(rows)} row(s), {fmt}); {summary}")
    else:
        print(summary, file=sys.stderr)
    return 0


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


_TABLE_COLUMNS = (
    ("hardware", "hardware"),
    ("precision", "prec"),
    ("label", "label"),
    ("scenario", "scenario"),
    ("concurrency", "conc"),
    ("range_ratio", "range"),
    ("ttft_ms", "TTFT ms"),
    ("tpot_ms", "TPOT ms"),
    ("itl_ms", "ITL ms"),
    ("tok_s_gpu", "tok/s/GPU"),
    ("tok_s_user", "tok/s/user"),
    ("gpus", "GPUs"),
    ("error", "error"),
)


def render(rows: list[dict], fmt: str, title: str = "") -> str:
    """Rows of :data:`frontier.sim.predict.SPEC_COLUMNS` as a table, CSV or JSON text."""
    import io

    from frontier.sim.predict import SPEC_COLUMNS

    if fmt == "json":
        import json

        return json.dumps([{k: r.get(k) for k in SPEC_COLUMNS} for r in rows], indent=1) + "\n"
    if fmt == "csv":
        import csv

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(SPEC_COLUMNS), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if r.get(k) is None else r.get(k) for k in SPEC_COLUMNS})
        return buf.getvalue()
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title or None)
    for _, head in _TABLE_COLUMNS:
        numeric = head not in ("hardware", "prec", "label", "scenario", "error")
        t.add_column(head, justify="right" if numeric else "left", overflow="fold")
    for r in rows:
        scen = f"{r['scenario']} ({r['isl']}/{r['osl']})"
        t.add_row(*[scen if k == "scenario" else _cell(r.get(k)) for k, _ in _TABLE_COLUMNS])
    buf = io.StringIO()
    Console(file=buf, width=180, no_color=True, force_terminal=False).print(t)
    return buf.getvalue()
