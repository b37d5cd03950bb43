"""How much latency does the load generator add? Client-measured TTFT/ITL vs the server's own timestamps.

Runs `frontier.loadgen.fake_server` in a separate process (its own core), streaming one token every
``--itl-ms`` per request, and drives it with `frontier.loadgen.run_point` at concurrencies chosen
for a target event rate (events/s = concurrency x 1000 / itl_ms). The server records when it
received each request and when it wrote each chunk (``time.perf_counter``, CLOCK_MONOTONIC, shared
by both processes), so client minus server is what the client (and the loopback hop) adds.

    .venv/bin/python benchmarks/loadgen_overhead.py               # 1k and 5k events/s
    .venv/bin/python benchmarks/loadgen_overhead.py --rates 1000 5000 10000 --osl 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request

import numpy as np

from frontier.loadgen import PointConfig, run_point


def start_server(itl_ms: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "frontier.loadgen.fake_server", "--port", "0", "--itl-ms", str(itl_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()  # "listening on http://127.0.0.1:PORT"
    return proc, line.rsplit(" ", 1)[-1]


def fetch_traces(url: str) -> dict:
    with urllib.request.urlopen(url + "/debug/traces", timeout=30) as r:
        return json.load(r)


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def one_rate(url: str, rate: float, itl_ms: float, osl: int, rounds: int) -> dict:
    conc = max(1, round(rate * itl_ms / 1000))
    cfg = PointConfig(
        base_url=url, model="m", isl=128, osl=osl, max_concurrency=conc,
        num_prompts=conc * rounds, warmup_requests=conc, request_timeout_s=120,
    )  # fmt: skip
    fetch_traces(url)  # clear
    t0 = time.perf_counter()
    result = asyncio.run(run_point(cfg))
    wall = time.perf_counter() - t0
    traces = fetch_traces(url)["traces"]
    measured = [r for r in result.requests if not r["is_warmup"] and r["success"]]
    c_ttft = [r["ttft_ms"] for r in measured]
    c_itl = [x for r in measured for x in r["itl_ms"]]
    s_ttft = [(ch[0] - rec) * 1000 for rec, ch in traces if ch]
    s_itl = [g * 1000 for _, ch in traces for g in np.diff(ch)]
    events = sum(r["output_tokens"] for r in result.requests) / wall
    s = result.summary
    return {
        "target_events_s": rate,
        "concurrency": conc,
        "events_s": events,
        "failed": s["failed"],
        "ttft_med_client": pct(c_ttft, 50), "ttft_med_server": pct(s_ttft, 50),
        "ttft_p99_client": pct(c_ttft, 99), "ttft_p99_server": pct(s_ttft, 99),
        "itl_mean_client": float(np.mean(c_itl)), "itl_mean_server": float(np.mean(s_itl)),
        "itl_med_client": pct(c_itl, 50), "itl_med_server": pct(s_itl, 50),
        "itl_p99_client": pct(c_itl, 99), "itl_p99_server": pct(s_itl, 99),
        "lag_p99": s["client_lag_p99_ms"], "client_limited": s["client_limited"],
        "tpot_med": s["median_tpot_ms"],
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", type=float, nargs="+", default=[1000, 5000], help="target events/s")
    ap.add_argument("--itl-ms", type=float, default=10.0)
    ap.add_argument("--osl", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=4, help="measured requests = rounds x concurrency")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--uvloop", action="store_true", help="run the client on uvloop")
    ns = ap.parse_args()
    if ns.uvloop:
        import uvloop

        uvloop.install()
    proc, url = start_server(ns.itl_ms)
    try:
        rows = [one_rate(url, r, ns.itl_ms, ns.osl, ns.rounds) for r in ns.rates]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"server ITL set to {ns.itl_ms} ms, OSL {ns.osl}; all figures in ms; added = client - server")
    hdr = (f"{'events/s':>9} {'conc':>5} {'TTFT med +':>10} {'TTFT p99 +':>10} {'ITL mean +':>10} "
           f"{'ITL med +':>9} {'ITL p99 +':>9} {'ITL p99 c/s':>13} {'lag p99':>8} {'limited':>7} {'failed':>6}")  # fmt: skip
    print(hdr)
    for r in rows:
        print(
            f"{r['events_s']:>9.0f} {r['concurrency']:>5} "
            f"{r['ttft_med_client'] - r['ttft_med_server']:>10.3f} "
            f"{r['ttft_p99_client'] - r['ttft_p99_server']:>10.3f} "
            f"{r['itl_mean_client'] - r['itl_mean_server']:>10.3f} "
            f"{r['itl_med_client'] - r['itl_med_server']:>9.3f} "
            f"{r['itl_p99_client'] - r['itl_p99_server']:>9.3f} "
            f"{r['itl_p99_client']:>6.2f}/{r['itl_p99_server']:<6.2f} "
            f"{r['lag_p99']:>8.2f} {r['client_limited']!s:>7} {r['failed']:>6}"
        )
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
