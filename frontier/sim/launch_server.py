"""``python -m frontier.sim.launch_server [SGLang flags]``: run the simulated SGLang server.

Prints SGLang's readiness line ("The server is fired up and ready to roll!") once the port is
open, and exits 0 on SIGTERM or SIGINT. ``--port 0`` picks a free port; the actual address is
printed as ``Uvicorn running on http://HOST:PORT`` (as SGLang's log does).

Start-up faults (:mod:`frontier.sim.faults`): ``--fault-oom-start`` prints SGLang's CUDA OOM
failure and exits 1 before the port opens; ``--fault-slow-start T`` opens the port after T s;
``--fault-hang-start`` opens the port but never prints the readiness line nor answers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping

from aiohttp import web

from frontier.common.redact import redact_argv
from frontier.errors import FrontierError
from frontier.sim import faults as F
from frontier.sim.config import SimConfig, parse_config
from frontier.sim.server import build_app

READY_LINE = "The server is fired up and ready to roll!"


async def serve(cfg: SimConfig) -> None:
    fc = cfg.faults
    if fc.any:
        print(f"[frontier-sim] fault injection: {fc.describe()} (seed {fc.seed})", flush=True)
    print(f"[frontier-sim] Load weight begin. model={cfg.model_path}", flush=True)
    if fc.oom_start:
        F.oom_exit()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if fc.slow_start > 0:
        try:  # a stop during the slow start ends the process at once
            await asyncio.wait_for(stop.wait(), fc.slow_start)
            return
        except TimeoutError:
            pass
    app = build_app(cfg)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, handler_cancellation=True, shutdown_timeout=2.0
    )
    await runner.setup()
    site = web.TCPSite(runner, cfg.host, cfg.port, reuse_address=True)
    await site.start()
    port = cfg.port
    server = getattr(site, "_server", None)
    if server is not None and server.sockets:
        port = server.sockets[0].getsockname()[1]
    topo = cfg.topology
    print(
        f"[frontier-sim] model={cfg.model_path} hardware={cfg.spec.hardware.name} precision={cfg.spec.precision} "
        f"deployment={topo.label} gpus={topo.gpus} time_scale={cfg.time_scale} "
        f"ignored_args={redact_argv(cfg.ignored_args)}",
        flush=True,
    )
    print(f"Uvicorn running on http://{cfg.host}:{port} (Press CTRL+C to quit)", flush=True)
    if not fc.hang_start:
        print(READY_LINE, flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def with_simulated_acceptance(argv: list[str], environ: Mapping[str, str]) -> list[str]:
    """``argv`` plus ``--speculative-accept-len`` from SGLang's ``SGLANG_SIMULATE_ACC_LEN``.

    Real SGLang pins its speculative acceptance length with that environment variable (a benchmark
    knob; negative or unset: off), so the simulated server started with the same environment
    accepts alike. An explicit ``--speculative-accept-len`` wins; without speculative flags the
    variable is ignored, as SGLang ignores it.
    """
    raw = environ.get("SGLANG_SIMULATE_ACC_LEN", "").strip()
    if not raw or "--speculative-algorithm" not in argv:
        return argv
    if any(a == "--speculative-accept-len" or a.startswith("--speculative-accept-len=") for a in argv):
        return argv
    try:
        value = float(raw)
    except ValueError:
        raise FrontierError(
            f"SGLANG_SIMULATE_ACC_LEN={raw!r}: not a number; set the mean tokens accepted per verify step"
            " (e.g. 2.4) or unset it"
        ) from None
    return argv if value <= 0 else [*argv, "--speculative-accept-len", repr(value)]


def main(argv: list[str] | None = None) -> int:
    """Parse SGLang-style flags and serve until SIGTERM; returns the exit code."""
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        cfg = parse_config(with_simulated_acceptance(args, os.environ))
    except FrontierError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(serve(cfg))
    except OSError as e:
        print(f"error: cannot serve on {cfg.host}:{cfg.port}: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
