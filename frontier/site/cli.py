"""``frontier publish``: build the static site from the warehouse and swap it in."""

from __future__ import annotations

import argparse
import os


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``publish`` sub-command."""
    p = subparsers.add_parser(
        "publish",
        help="build the static frontier site from the warehouse (atomic swap)",
        description="Build index.html, one page per run and per (model, hardware, scenario), with "
        "Vega-Lite charts (JSON + PNG) and the Vega JS shipped locally; prints the path of index.html.",
    )
    p.add_argument("--warehouse", default=os.environ.get("FRONTIER_WAREHOUSE", "warehouse"),
                   help="warehouse root (default: $FRONTIER_WAREHOUSE or ./warehouse)")  # fmt: skip
    p.add_argument("--site", default=os.environ.get("FRONTIER_SITE", "site"),
                   help="site folder to publish into (default: $FRONTIER_SITE or ./site)")  # fmt: skip
    p.add_argument("--run-id", default=None, help="night to show on index.html (default: the latest)")
    p.add_argument("--no-png", action="store_true", help="skip PNG exports (faster)")
    p.set_defaults(handler=handle_publish)
    return p


def handle_publish(args: argparse.Namespace) -> int:
    """Publish and print the path of index.html. FrontierError propagates to the top-level CLI."""
    from frontier.site.publish import publish  # heavy imports only when the command runs

    index = publish(args.warehouse, args.site, run_id=args.run_id, png=not args.no_png)
    print(index)
    return 0
