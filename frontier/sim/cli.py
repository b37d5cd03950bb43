"""CLI sub-command of the simulator: ``frontier sim-server`` (``frontier predict`` is
:mod:`frontier.cli.predict`: its SPEC form plans a sweep, a layer above the simulator)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    s = subparsers.add_parser(
        "sim-server",
        help="run the simulated SGLang server (takes sglang.launch_server flags)",
        add_help=False,  # -h goes to the simulator's own parser (frontier.sim.config.parser)
        prefix_chars="\0",  # no options here: every flag is passed through to the simulator
    )
    s.set_defaults(handler=run_sim_server, passthrough=True)


def run_sim_server(ns: argparse.Namespace) -> int:
    from frontier.sim.launch_server import main

    argv = list(getattr(ns, "extra_argv", None) or [])
    if argv[:1] == ["--"]:  # `frontier sim-server -- FLAGS` means the same as `frontier sim-server FLAGS`
        argv = argv[1:]
    return main(argv)
