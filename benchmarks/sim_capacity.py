"""Capacity of one simulated server process: 256 concurrent streams at a ~20 ms step.

Run: .venv/bin/python benchmarks/sim_capacity.py [--streams 256] [--step-ms 20] [--seconds 15]
Starts ``python -m frontier.sim.launch_server`` (Llama-3.1-8B, H100, TP1) as a subprocess with a
--time-scale chosen so that a decode iteration of the full batch lasts ~step-ms of wall time,
streams from it with a plain aiohttp SSE client (another process: this one), then prints the
server's achieved step period (median, p99, perf_counter), its step jitter (|period - planned
duration|: median, p99), its timer lateness on the loop clock, the chunk events per second the
clients received, and the server's CPU time per step (process CPU time / steps: robust to a busy
machine, unlike the wall-clock figures). ``--py-spy OUT`` samples the server with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frontier.domain.catalog import get_hardware, get_model
from frontier.sim.perf_model import StepModel
from frontier.sim.topology import from_label

MODEL, HW = "meta-llama/Llama-3.1-8B-Instruct", "h100_sxm"


async def stream(session, url, isl, osl, counts, api):
    if api == "generate":  # SGLang native: cumulative text in every chunk
        path, body = (
            "/generate",
            {
                "input_ids": list(range(isl)),
                "stream": True,
                "sampling_params": {"max_new_tokens": osl, "ignore_eos": True},
            },
        )
    else:  # OpenAI completions: text deltas
        path, body = (
            "/v1/completions",
            {"model": "m", "prompt": list(range(isl)), "max_tokens": osl, "ignore_eos": True, "stream": True},
        )
    async with session.post(url + path, json=body) as r:
        async for raw in r.content:
            if raw.startswith(b"data:") and not raw.startswith(b"data: [DONE]"):
                counts[0] += 1


async def run(url, streams, isl, osl, seconds, api, profile=None, pid=None):
    counts = [0]
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=None)) as s:
        tasks = [asyncio.create_task(stream(s, url, isl, osl, counts, api)) for _ in range(streams)]
        await asyncio.sleep(2.0)  # let prefills finish; measure steady decode
        async with s.post(url + "/flush_cache") as r:  # also resets the simulator's step statistics
            await r.read()
        c0, t0 = counts[0], time.perf_counter()
        async with s.get(url + "/get_server_info") as r:
            before = (await r.json())["internal_states"][0]["sim"]
        spy = None
        if profile:  # sample the server with py-spy over the measurement window
            spy = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "py-spy"), "record", "-r", "400", "-p", str(pid), "-d",
                str(int(seconds)), "-f", "speedscope" if profile.endswith(".json") else "flamegraph",
                "-o", profile, "--nonblocking", stdout=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        await asyncio.sleep(seconds)
        if spy is not None:
            await spy.wait()
        c1, t1 = counts[0], time.perf_counter()
        async with s.get(url + "/get_server_info") as r:
            after = (await r.json())["internal_states"][0]["sim"]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return (c1 - c0) / (t1 - t0), before, after


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=256)
    ap.add_argument("--step-ms", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--isl", type=int, default=128)
    ap.add_argument("--api", choices=["completions", "generate"], default="completions")
    ap.add_argument(
        "--py-spy",
        metavar="OUT",
        help="profile the server with py-spy (pip install py-spy) to OUT (.svg or .json)",
    )
    a = ap.parse_args()
    model, hw = get_model(MODEL), get_hardware(HW)
    sm = StepModel(model, hw, "fp8", from_label("TP1", model).groups[0].shape)
    # the step grows with context: aim the time-scale at the mean context of the measured window
    # (2 s of warm-up, then --seconds), one token per stream per step
    ctx = a.isl + (2.0 + a.seconds / 2) / (a.step_ms / 1000.0)
    sim_step = sm.step_time(a.streams, a.streams * ctx)
    scale = sim_step / (a.step_ms / 1000.0)
    osl = int((a.seconds + 10) / (a.step_ms / 1000.0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)  # noqa: SIM115 (server log, removed below)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "frontier.sim.launch_server",
            "--model-path",
            MODEL,
            "--hardware",
            HW,
            "--port",
            "0",
            "--time-scale",
            f"{scale:.6f}",
            "--max-running-requests",
            str(a.streams),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url, deadline = None, time.time() + 30
    while time.time() < deadline:
        text = Path(log.name).read_text()
        m = re.search(r"running on (http://\S+)", text)
        if m and "ready to roll" in text:
            url = m.group(1)
            break
        time.sleep(0.1)
    if url is None:
        proc.kill()
        raise SystemExit("server did not start:\n" + Path(log.name).read_text())
    try:
        rate, before, after = asyncio.run(
            run(url, a.streams, a.isl, osl, a.seconds, a.api, a.py_spy, proc.pid)
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        os.unlink(log.name)
    print(
        f"streams {a.streams}, simulated step {sim_step * 1e3:.1f} ms, time-scale {scale:.3f} "
        f"-> target wall step {a.step_ms:.1f} ms, api {a.api}, measured over {a.seconds:.0f} s"
    )
    print(
        f"server step period   median {after['step_period_ms_p50']:.2f} ms   p99 {after['step_period_ms_p99']:.2f} ms"
    )
    print(
        f"server step jitter   median {after['step_jitter_ms_p50']:.2f} ms   p99 {after['step_jitter_ms_p99']:.2f} ms  "
        f"(|period - planned duration|, perf_counter)"
    )
    print(
        f"server timer late    median {after['step_lateness_ms_p50']:.2f} ms   p99 {after['step_lateness_ms_p99']:.2f} ms  "
        f"(fire vs deadline on the loop clock: 1 ms resolution under uvloop)"
    )
    steps = after["steps"] - before["steps"]
    cpu_ms = (after["cpu_s"] - before["cpu_s"]) / max(1, steps) * 1e3
    print(f"server running batch {after['running']}   steps {steps}")
    print(
        f"server CPU per step  {cpu_ms:.2f} ms  ({cpu_ms / a.step_ms:.0%} of the {a.step_ms:.0f} ms step on one core; "
        f"process CPU time / steps, robust to machine load)"
    )
    print(f"client chunk events  {rate:,.0f} /s  ({rate / a.streams:.1f} per stream per s)")
    print(
        json.dumps(
            {
                "period_p50_ms": after["step_period_ms_p50"],
                "period_p99_ms": after["step_period_ms_p99"],
                "jitter_p50_ms": after["step_jitter_ms_p50"],
                "lateness_p50_ms": after["step_lateness_ms_p50"],
                "jitter_p99_ms": after["step_jitter_ms_p99"],
                "lateness_p99_ms": after["step_lateness_ms_p99"],
                "events_per_s": rate,
                "cpu_ms_per_step": cpu_ms,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
