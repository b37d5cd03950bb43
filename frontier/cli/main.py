"""The ``frontier`` command line: validate, plan, run, publish, query, and the parts' commands.

Every failure exits non-zero with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import sys

from frontier.domain.kinds import ENGINE_KINDS
from frontier.errors import FrontierError

# each area registers its own sub-commands (frontier/<area>/cli.py: register(subparsers))
AREA_CLIS = (
    "frontier.sim.cli",
    "frontier.cli.predict",
    "frontier.loadgen.cli",
    "frontier.warehouse.cli",
    "frontier.site.cli",
    "frontier.cli.pools",
    "frontier.cli.import_bench",
    "frontier.cli.compare",
)


def default_warehouse() -> str:
    return os.environ.get("FRONTIER_WAREHOUSE", "warehouse")


def default_site() -> str:
    return os.environ.get("FRONTIER_SITE", "site")


def default_artifacts() -> str:
    return os.environ.get("FRONTIER_ARTIFACTS", "artifacts")


def _cmd_validate(args) -> int:
    from frontier.domain.spec import load_spec
    from frontier.planning.planner import fit_warnings

    spec = load_spec(args.spec)
    n = sum(len(m.labels) for m in spec.matrix)
    print(
        f"{args.spec}: valid ({n} deployment label(s), {len(spec.scenarios)} scenario(s), engine {spec.engine})"
    )
    for line in fit_warnings(spec):
        print(f"warning: cannot fit: {line}", file=sys.stderr)
    return 0


def _load(args):
    from frontier.domain.spec import load_spec, narrow

    spec = load_spec(args.spec)
    labels = [x for x in (getattr(args, "labels", None) or "").split(",") if x]
    scenarios = [x for x in (getattr(args, "scenarios", None) or "").split(",") if x]
    conc = [int(x) for x in (getattr(args, "concurrencies", None) or "").split(",") if x]
    engine = getattr(args, "engine", None)
    if labels or scenarios or conc or engine:
        spec = narrow(
            spec, labels_subset=labels, scenarios_subset=scenarios, concurrencies=conc, engine=engine
        )
    return spec


def _cmd_plan(args) -> int:
    from frontier.planning.planner import plan

    spec = _load(args)
    items = plan(spec)
    if args.json:
        print(json.dumps([i.public() for i in items], indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"plan for {spec.name} (engine {spec.engine})")
    for col in (
        "label",
        "model",
        "hardware",
        "precision",
        "GPUs",
        "fits",
        "scenario",
        "concurrencies",
        "processes",
    ):
        t.add_column(col)
    for i in items:
        nproc = len(i.servers) + (1 if i.router else 0)
        t.add_row(
            i.display_label,
            i.model,
            i.hardware,
            i.precision,
            str(i.gpus),
            "yes" if i.fit_error is None else "NO",
            i.scenario["name"],
            " ".join(map(str, i.concurrencies)),
            str(nproc),
        )
    Console(width=max(140, Console().width)).print(t)
    from frontier.planning.engines import get_engine
    from frontier.planning.planner import deployment_groups

    if get_engine(spec.engine).starts_servers:
        groups = deployment_groups(items)
        launchable = [g for g in groups if any(not i.fit_error for i in g)]
        print(
            f"launches: {len(launchable)} for {len(items)} item(s): one per deployment, serving all its "
            f"scenarios ({len(groups) - len(launchable)} deployment(s) do not fit and are not launched)"
        )
    misfits = sorted({i.fit_error for i in items if i.fit_error})
    for e in misfits:
        print(f"cannot fit: {e}")
    if getattr(args, "argv", False):
        from frontier.common.redact import redact_obj

        seen: set[str] = set()
        for i in items:
            lp = i.launch
            key = json.dumps([[s["argv"], s.get("env")] for s in lp["servers"]], sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            print(f"\n# {i.display_label} on {i.hardware} ({i.precision})")
            shown = redact_obj(lp)  # the launch plan's own servers carry their environment
            for s in shown["servers"]:
                print(f"[{s['role']} rank {s['node_rank']}] " + _command_line(s))
            if shown.get("router"):
                print("[router] " + _command_line(shown["router"]))
    return 0


def _command_line(proc: dict) -> str:
    """A launch plan process as a shell line: its environment (``KEY=value``, sorted) then its argv."""
    import shlex

    env = [f"{k}={shlex.quote(str(v))}" for k, v in sorted((proc.get("env") or {}).items())]
    return " ".join([*env, *proc["argv"]])


def _num(value, fmt: str) -> str:
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def print_summary(df, title: str = "best tok/s/GPU per label") -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for col in (
        "model",
        "hardware",
        "scenario",
        "label",
        "best tok/s/GPU",
        "at tok/s/user",
        "points",
        "failed",
    ):
        t.add_column(col, justify="right" if col[0] in "abpf" and col != "label" else "left")
    for r in df.itertuples(index=False):
        best = getattr(r, "best_tok_s_gpu", None)
        at = getattr(r, "tok_s_user_at_best", None)
        t.add_row(
            str(r.model).split("/")[-1],
            str(r.hardware),
            str(r.scenario),
            str(r.label),
            _num(best, ",.0f"),
            _num(at, ",.1f"),
            str(getattr(r, "points", "")),
            str(getattr(r, "failed_points", "")),
        )
    Console(width=max(120, Console().width)).print(t)


def _cmd_run(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from frontier import run as frun
    from frontier.planning.planner import plan

    spec = _load(args)
    run_id = args.run_id or frun.default_run_id()
    ctx = frun.RunContext(
        run_id=run_id,
        run_date=dt.date.today(),
        warehouse=args.warehouse,
        artifacts=args.artifacts,
        trigger="cli",
        triggered_by=os.environ.get("USER", ""),
    )
    console = Console(stderr=True)
    total = len(plan(spec))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"run {run_id}", total=total)
        status, outcomes = frun.run_sweep(
            spec,
            ctx,
            progress=lambda msg: bar.console.log(msg),
            on_item=lambda i, n, out: bar.advance(task),
        )
    print(f"run {run_id}: {status} ({len(outcomes)} item(s)); warehouse {args.warehouse}")
    from frontier.planning.engines import get_engine

    title = "best tok/s/GPU per label"
    if get_engine(spec.engine).predicted:
        title += " - PREDICTED in virtual time (engine predict), not measured"
    print_summary(frun.label_summary(args.warehouse, run_id), title=title)
    regs = run_regressions(args.warehouse, run_id, threshold_pct=args.regression_threshold_pct)
    print_regressions(regs, run_id)
    if args.publish:
        from frontier.site import publish

        index = publish(args.warehouse, args.site, run_id=run_id)
        print(f"site: {index}")
    if status == "failed":
        return 1
    return EXIT_REGRESSION if args.fail_on_regression and len(regs) else 0


EXIT_REGRESSION = 3  # `frontier run --fail-on-regression` when the regressions mart flags the run


def run_regressions(warehouse, run_id: str, *, threshold_pct: float | None = None):
    """The ``regressions`` mart for ``run_id`` (against the previous run with the same groups)."""
    from frontier.warehouse import connect, run_model

    con = connect(warehouse)
    try:
        return run_model(con, "regressions", run_id=run_id, threshold_pct=threshold_pct)
    finally:
        con.close()


def print_regressions(regs, run_id: str) -> None:
    if regs.empty:
        print(f"run {run_id}: no regressions against the previous run")
        return
    print(
        f"run {run_id}: {len(regs)} regression(s) at matched interactivity (tok/s/GPU on the frontier curve):"
    )
    for r in regs.itertuples(index=False):
        print(
            f"  REGRESSION {str(r.model).split('/')[-1]} {r.hardware} {r.precision} {r.scenario} {r.label}: "
            f"{r.change_pct:+.1f}% ({r.before:,.0f} -> {r.after:,.0f} tok/s/GPU over "
            f"{r.from_tok_s_user:,.1f}-{r.to_tok_s_user:,.1f} tok/s/user, vs run {r.prev_run_id}; "
            f"limit -{r.limit_pct:.1f}%, noise {r.noise_pct:.1f}%)"
        )


def _search_frame(result):
    """The search's predicted points as ``frontier_points``-shaped rows (for the chart)."""
    import pandas as pd

    from frontier.analysis.search import scenario_name

    df = pd.DataFrame(result.points())
    if df.empty:
        return df
    return df.assign(
        model=result.model, hardware=result.hardware, precision=result.precision,
        scenario=scenario_name(result.isl, result.osl), isl=result.isl, osl=result.osl,
        status="ok", client_limited=False, source="predicted", engine="predict",
    )  # fmt: skip


def _cmd_search(args) -> int:
    """Predict every label that fits N GPUs; print the frontier and band winners; chart; winners' spec."""
    import time
    from pathlib import Path

    import yaml
    from rich.console import Console
    from rich.table import Table

    from frontier.analysis.search import search, winners_spec
    from frontier.domain.spec import load_spec

    conc = [int(x) for x in args.concurrencies.split(",") if x.strip()] if args.concurrencies else None
    t0 = time.monotonic()
    kw = {"concurrencies": conc} if conc else {}
    result = search(
        args.model, args.hardware, args.gpus, args.isl, args.osl, precision=args.precision,
        max_ttft_p99_ms=args.max_ttft_p99_ms, min_tok_s_user=args.min_tok_s_user, **kw,
    )  # fmt: skip
    took = time.monotonic() - t0
    fit = [c for c in result.candidates if not c.error]
    console = Console(width=max(120, Console().width))
    print(
        f"search {result.model} on {result.gpus} x {result.hardware} ({result.precision}), ISL {result.isl} / "
        f"OSL {result.osl}: {result.enumerated} label(s) enumerated, {len(fit)} fit, "
        f"{sum(len(c.points) for c in fit)} point(s) predicted in virtual time in {took:.1f} s "
        f"(ladder {','.join(map(str, result.concurrencies))})"
    )
    lim = [f"{k} {v:g}" for k, v in result.limits.items() if v is not None]
    if lim:
        print(f"limits: {', '.join(lim)} ({sum(c.excluded for c in fit)} predicted point(s) excluded)")
    for note in result.notes:
        print(f"note: {note}")
    t = Table(title="PREDICTED frontier (engine predict, virtual time; not measured)")
    for col in ("label", "GPUs", "conc", "tok/s/user", "tok/s/GPU", "TTFT p99 ms", "TPOT p50 ms"):
        t.add_column(col, justify="left" if col == "label" else "right")
    for p in sorted(result.frontier, key=lambda p: -p["tok_s_user"]):
        t.add_row(
            p["label"], str(p["gpus"]), str(p["max_concurrency"]), _num(p["tok_s_user"], ",.1f"),
            _num(p["tok_s_gpu"], ",.0f"), _num(p["p99_ttft_ms"], ",.0f"), _num(p["median_tpot_ms"], ".2f"),
        )  # fmt: skip
    console.print(t)
    b = Table(title="best configuration per interactivity band (predicted)")
    for col in ("tok/s/user >=", "label", "conc", "tok/s/GPU", "tok/s/user", "TTFT p99 ms"):
        b.add_column(col, justify="left" if col == "label" else "right")
    for r in result.bands:
        b.add_row(
            f"{r['band_tok_s_user']:g}", r.get("label", "- (none predicted)"), str(r.get("max_concurrency", "")),
            _num(r.get("tok_s_gpu"), ",.0f"), _num(r.get("tok_s_user"), ",.1f"), _num(r.get("p99_ttft_ms"), ",.0f"),
        )  # fmt: skip
    console.print(b)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df = _search_frame(result)
    if not df.empty:
        import json as _json

        from charts import frontier_chart, to_spec

        chart = frontier_chart(df, title=(
            f"PREDICTED · {result.model} · {result.gpus} x {result.hardware} · {result.precision} · "
            f"ISL {result.isl} / OSL {result.osl}"))  # fmt: skip
        spec_json = to_spec(chart)
        (out / "search_chart.vl.json").write_text(_json.dumps(spec_json))
        chart.save(str(out / "search_chart.html"))
        try:
            import vl_convert as vlc

            (out / "search_chart.png").write_bytes(vlc.vegalite_to_png(spec_json, scale=1.5))
        except Exception as e:  # noqa: BLE001 - the PNG is a convenience
            print(f"(no PNG: {e})")
        df.to_csv(out / "search_points.csv", index=False)
        print(f"chart: {out / 'search_chart.html'} (+ .vl.json, .png); points: {out / 'search_points.csv'}")
    spec = winners_spec(result, engine=args.engine)
    path = out / f"{spec['name']}.yaml"
    header = (
        f"# Written by `frontier search` from PREDICTED figures: measure these winners.\n"
        f"# frontier run {path} (engine {args.engine}; adaptive ladder)\n"
    )
    path.write_text(header + yaml.safe_dump(spec, sort_keys=False))
    load_spec(path)  # it must validate
    print(f"winners: {', '.join(spec['matrix'][0]['labels'])}")
    print(f"spec: {path} (valid; `frontier run {path}` measures them)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="frontier", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="check a sweep spec")
    v.add_argument("spec")
    v.set_defaults(handler=_cmd_validate)

    def narrowing(q):
        q.add_argument("spec")
        q.add_argument("--engine", choices=list(ENGINE_KINDS))
        q.add_argument("--labels", help="comma-separated subset of the spec's labels")
        q.add_argument("--scenarios", help="comma-separated subset of the spec's scenarios")
        q.add_argument("--concurrencies", help="comma-separated ladder replacing the spec's")

    pl = sub.add_parser("plan", help="every deployment x scenario with its launch commands")
    narrowing(pl)
    pl.add_argument("--json", action="store_true")
    pl.add_argument(
        "--argv", action="store_true", help="after the table, every distinct deployment's full command lines"
    )
    pl.set_defaults(handler=_cmd_plan)

    r = sub.add_parser("run", help="run a whole sweep without Airflow")
    narrowing(r)
    r.add_argument("--warehouse", default=default_warehouse())
    r.add_argument("--artifacts", default=default_artifacts())
    r.add_argument("--site", default=default_site())
    r.add_argument("--run-id")
    r.add_argument("--publish", action=argparse.BooleanOptionalAction, default=True)
    r.add_argument(
        "--fail-on-regression",
        action="store_true",
        help=f"exit {EXIT_REGRESSION} when the regressions mart flags this run against the previous one",
    )
    r.add_argument(
        "--regression-threshold-pct",
        type=float,
        default=None,
        help="smallest drop flagged, in %% (default 10; widened by the noise the history shows)",
    )
    r.set_defaults(handler=_cmd_run)

    se = sub.add_parser(
        "search",
        help="predict every label that fits N GPUs; print the frontier; write a spec measuring the winners",
    )
    se.add_argument("--model", required=True)
    se.add_argument("--hardware", required=True)
    se.add_argument("--gpus", type=int, required=True, help="GPUs available (labels use at most this many)")
    se.add_argument("--isl", type=int, required=True)
    se.add_argument("--osl", type=int, required=True)
    se.add_argument("--precision", default="fp8", choices=["bf16", "fp8"])
    se.add_argument("--concurrencies", help="comma-separated ladder (default 1,2,4,...,256)")
    se.add_argument("--max-ttft-p99-ms", type=float, help="drop predicted points with a slower p99 TTFT")
    se.add_argument("--min-tok-s-user", type=float, help="drop predicted points below this interactivity")
    se.add_argument(
        "--engine", default="sglang", choices=list(ENGINE_KINDS), help="engine of the written spec"
    )
    se.add_argument("--out", default="search", help="folder for the chart, points and the winners' spec")
    se.set_defaults(handler=_cmd_search)

    for mod in AREA_CLIS:
        try:
            module = importlib.import_module(mod)
        except ImportError as e:  # an area not installed in this build
            if not mod.startswith(e.name or "\0"):
                raise
            continue
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # a sub-command marked ``passthrough`` (sim-server) takes the rest of the line as its own flags
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "passthrough", False):
        args.extra_argv = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.handler(args) or 0)
    except FrontierError as e:
        msg = "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
        print(f"frontier {args.command}: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"frontier {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
