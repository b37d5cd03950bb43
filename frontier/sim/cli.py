"""CLI sub-commands of the simulator: ``frontier sim-server`` and ``frontier predict``."""

from __future__ import annotations

import argparse

from frontier.errors import FrontierError

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
    s = subparsers.add_parser(
        "sim-server",
        help="run the simulated SGLang server (takes sglang.launch_server flags)",
        add_help=False,  # -h goes to the simulator's own parser (frontier.sim.config.parser)
        prefix_chars="\0",  # no options here: every flag is passed through to the simulator
    )
    s.set_defaults(handler=run_sim_server, passthrough=True)
    p = subparsers.add_parser("predict", help="predict benchmark points with the simulator (virtual time)")
    p.add_argument("--points", help="IN.csv with columns model,hardware,precision,label,isl,osl,concurrency")
    p.add_argument("--out", help="OUT.csv (with --points)")
    p.add_argument("--model")
    p.add_argument("--hardware")
    p.add_argument("--precision", default="fp8")
    p.add_argument("--label")
    p.add_argument("--isl", type=int)
    p.add_argument("--osl", type=int)
    p.add_argument("--concurrency", type=int, nargs="+")
    p.add_argument("--num-prompts", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=run_predict)


def run_sim_server(ns: argparse.Namespace) -> int:
    from frontier.sim.launch_server import main

    argv = list(getattr(ns, "extra_argv", None) or [])
    if argv[:1] == ["--"]:  # `frontier sim-server -- FLAGS` means the same as `frontier sim-server FLAGS`
        argv = argv[1:]
    return main(argv)


def run_predict(ns: argparse.Namespace) -> int:
    from frontier.sim.predict import predict_csv, predict_point

    if ns.points:
        if not ns.out:
            raise FrontierError("--points needs --out OUT.csv")
        bad = predict_csv(ns.points, ns.out)
        print(f"wrote {ns.out}" + (f" ({bad} row(s) with an error)" if bad else ""))
        return 0
    need = [n for n in ("model", "hardware", "label", "isl", "osl", "concurrency") if getattr(ns, n) is None]
    if need:
        raise FrontierError(
            f"predict needs --points IN.csv --out OUT.csv, or a point: missing --{', --'.join(need)}"
        )
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
        )
        for c in ns.concurrency
    ]
    header = ["max_concurrency"] + [k for k, _ in _TABLE_KEYS]
    lines = [header]
    for m in rows:
        lines.append([str(m["max_concurrency"])] + [f.format(m[k]) for k, f in _TABLE_KEYS])
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    print(f"{ns.model} {ns.hardware} {ns.precision} {ns.label} ISL {ns.isl} OSL {ns.osl}")
    for r in lines:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    return 0
