"""``frontier pools sync SPEC...``: create / update the GPU pools of Airflow from sweep specs.

Three ways to apply, no Airflow import here:
- ``--api URL`` (REST, ``/api/v2/pools``; user and password from ``--user``/``--password`` or
  ``AIRFLOW_API_USER`` / ``AIRFLOW_API_PASSWORD``, or a token from ``AIRFLOW_API_TOKEN``);
- ``--airflow-cli``: ``airflow pools set NAME SLOTS DESCRIPTION`` (on a machine with the metadata DB);
- ``--dry-run``: print the JSON of ``airflow pools import FILE`` and change nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

from frontier.errors import FrontierError


def register(subparsers) -> None:
    p = subparsers.add_parser("pools", help="Airflow GPU pools (one per hardware kind, slots = GPUs)")
    sub = p.add_subparsers(dest="pools_command", required=True, metavar="ACTION")
    s = sub.add_parser("sync", help="create or update the pools the specs need")
    s.add_argument("specs", nargs="+", metavar="SPEC", help="sweep spec YAML file(s)")
    how = s.add_mutually_exclusive_group()
    how.add_argument("--api", metavar="URL", help="Airflow API server, e.g. http://127.0.0.1:8080")
    how.add_argument("--airflow-cli", action="store_true", help="apply with `airflow pools set`")
    how.add_argument("--dry-run", action="store_true", help="print `airflow pools import` JSON only")
    s.add_argument("--user", default=os.environ.get("AIRFLOW_API_USER"))
    s.add_argument("--password", default=os.environ.get("AIRFLOW_API_PASSWORD"))
    s.set_defaults(handler=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    from frontier.domain.spec import load_spec
    from frontier.planning import pools as fp

    pools = fp.merge(fp.pools_for_spec(load_spec(path)) for path in args.specs)
    if args.dry_run or not (args.api or args.airflow_cli):
        print(fp.import_json(pools))
        if not args.dry_run:
            print(
                "# nothing applied: pass --api URL or --airflow-cli (or save this and `airflow pools import` it)"
            )
        return 0
    if args.api:
        api = fp.AirflowPoolsAPI(
            args.api, token=os.environ.get("AIRFLOW_API_TOKEN"), username=args.user, password=args.password
        )
        for p in pools:
            print(f"{p.name}: {api.upsert(p)} ({p.slots} slots)")
        return 0
    airflow = shutil.which("airflow")
    if not airflow:
        raise FrontierError("`airflow` is not on PATH; use --api URL or --dry-run")
    for p in pools:
        out = subprocess.run(
            [airflow, "pools", "set", p.name, str(p.slots), p.description],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise FrontierError(f"airflow pools set {p.name} failed: {out.stderr.strip()[-400:]}")
        print(f"{p.name}: set ({p.slots} slots)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m frontier.cli.pools sync SPEC ...`` (same as ``frontier pools sync``)."""
    import sys

    parser = argparse.ArgumentParser(prog="frontier")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["pools", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.handler(args) or 0)
    except FrontierError as e:
        print(f"frontier pools: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
