"""``frontier import bench-serving FILE.jsonl``: land sglang.bench_serving results as points.

bench_serving's result lines carry no deployment, so the command names it (label, model,
hardware, precision); the scenario comes from each line's random input/output lengths. The
points land with ``source = 'bench_serving'`` in their own run, beside frontier's own runs, so
both clients' figures can be compared side by side in the same marts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path

from frontier.errors import FrontierError


def scenario_name(isl: int, osl: int) -> str:
    """``1k1k`` style when both lengths are whole KiB, else ``ISLi-OSLo``."""
    if isl % 1024 == 0 and osl % 1024 == 0:
        return f"{isl // 1024}k{osl // 1024}k"
    return f"{isl}i-{osl}o"


def import_bench_serving(
    path: str,
    *,
    label: str,
    model: str,
    hardware: str,
    precision: str,
    warehouse: str,
    run_id: str | None = None,
) -> tuple[str, int]:
    """Land every result line of a bench_serving output file; returns (run id, points landed)."""
    from frontier.domain import catalog, labels
    from frontier.loadgen.bench_serving import load_jsonl
    from frontier.warehouse import Warehouse

    try:
        dep = labels.parse(label)
        model_name = catalog.get_model(model).name
        hw = catalog.get_hardware(hardware).name
    except (labels.LabelError, catalog.UnknownName) as e:
        raise FrontierError(str(e)) from None
    if precision not in catalog.PRECISIONS:
        raise FrontierError(f"precision {precision!r}: use one of {', '.join(catalog.PRECISIONS)}")
    points = load_jsonl(path)
    if not points:
        raise FrontierError(f"bench_serving file {path}: no result lines")
    now = dt.datetime.now(dt.UTC)
    run_id = run_id or f"import__{now:%Y-%m-%dT%H:%M:%S}"
    rows = []
    for p in points:
        if not p.get("isl") or not p.get("osl"):
            raise FrontierError(
                f"bench_serving file {path}: a line has no random_input_len/random_output_len; "
                f"only --dataset-name random / random-ids results carry a scenario"
            )
        rows.append(
            {
                **p,
                "label": label,
                "model": model_name,
                "hardware": hw,
                "precision": precision,
                "scenario": scenario_name(int(p["isl"]), int(p["osl"])),
                "gpus": dep.gpus,
                "engine": "sglang",
            }
        )
    wh = Warehouse(warehouse)
    part = "bench_serving-" + "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(path).stem)
    wh.write("points", rows, run_id=run_id, run_date=now.date(), part=part)
    wh.write(
        "runs",
        [
            {
                "trigger": "import",
                "triggered_by": os.environ.get("USER", ""),
                "spec_name": f"bench_serving:{Path(path).name}",
                "engine": "sglang",
                "started_at": now,
                "ended_at": now,
                "status": "success",
            }
        ],
        run_id=run_id,
        run_date=now.date(),
        part=part,
    )
    return run_id, len(rows)


def _handle(args: argparse.Namespace) -> int:
    run_id, n = import_bench_serving(
        args.file,
        label=args.label,
        model=args.model,
        hardware=args.hardware,
        precision=args.precision,
        warehouse=args.warehouse,
        run_id=args.run_id,
    )
    print(f"imported {n} point(s) from {args.file} as run {run_id} into {args.warehouse}")
    return 0


def register(subparsers) -> None:
    imp = subparsers.add_parser("import", help="land results of other benchmark clients in the warehouse")
    kinds = imp.add_subparsers(dest="kind", required=True, metavar="KIND")
    b = kinds.add_parser("bench-serving", help="sglang.bench_serving --output-file JSON lines")
    b.add_argument("file")
    b.add_argument("--label", required=True, help="deployment label the results came from, e.g. TP8")
    b.add_argument("--model", required=True)
    b.add_argument("--hardware", required=True)
    b.add_argument("--precision", default="fp8")
    b.add_argument("--warehouse", default=os.environ.get("FRONTIER_WAREHOUSE", "warehouse"))
    b.add_argument("--run-id")
    b.set_defaults(handler=_handle)
