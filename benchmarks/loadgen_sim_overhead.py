"""Client-added latency against the simulated SGLang server's own timestamps (issue 5).

Starts ``python -m frontier.sim.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct
--hardware h100_sxm --trace-chunks FILE`` (the opt-in trace: per request, when the handler got it
and when each chunk was written, on ``time.perf_counter`` = CLOCK_MONOTONIC, shared by all local
processes) and drives it with `frontier.loadgen.run_point` at concurrencies picked for ~1k, 5k and
10k SSE events/s (one event per token on the sim). Client minus server, per distribution statistic:

- TTFT: client (send -> first content event read) vs server (request received -> first chunk written);
- ITL: client gaps between content events vs the server's gaps between chunk writes.

The sim's ITL at these batch sizes is 5-8 ms, so 10k events/s needs ~80 requests in flight; no
``--time-scale`` is used unless given. Concurrency is calibrated per rate with one short probe.

    .venv/bin/python benchmarks/loadgen_sim_overhead.py                  # 1k 5k 10k
    .venv/bin/python benchmarks/loadgen_sim_overhead.py --rates 5000 --client-processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from frontier.loadgen import PointConfig, run_point

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


class Sim:
    """The simulated server in its own process, with the chunk trace on."""

    def __init__(self, trace: Path, time_scale: float = 1.0, extra: list[str] | None = None) -> None:
        self.trace = trace
        cmd = [
            sys.executable, "-m", "frontier.sim.launch_server", "--model-path", MODEL, "--hardware",
            "h100_sxm", "--host", "127.0.0.1", "--port", "0", "--trace-chunks", str(trace),
            "--time-scale", str(time_scale), *(extra or []),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        self.url = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if m := re.search(r"Uvicorn running on (http://\S+)", line):
                self.url = m.group(1)
            if "ready to roll" in line:
                break
        if not self.url:
            self.proc.kill()
            raise SystemExit("the simulated server did not start")
        self._offset = 0

    def take(self) -> list[dict]:
        """The trace lines written since the last call (one per finished streamed request)."""
        with open(self.trace) as f:
            f.seek(self._offset)
            text = f.read()
        end = text.rfind("\n") + 1
        self._offset += len(text[:end].encode())
        return [json.loads(x) for x in text[:end].splitlines() if x]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def server_view(lines: list[dict], skip: int = 0) -> dict:
    """Server-side TTFT/ITL (ms) of the traced requests, the first ``skip`` (warm-up) excluded by
    receive order; events/s = chunks written / span from first receive to last chunk."""
    lines = sorted((x for x in lines if x["ok"] and x["chunks"]), key=lambda x: x["received"])[skip:]
    ttft = [(x["chunks"][0] - x["received"]) * 1e3 for x in lines]
    itl: list[float] = []
    tpot: list[float] = []
    for x in lines:
        ch, tok = x["chunks"], x["tokens"]
        for i in range(1, len(ch)):
            n = max(1, tok[i] - tok[i - 1])
            itl.extend([(ch[i] - ch[i - 1]) * 1e3 / n] * n)
        if tok[-1] > 1:
            tpot.append((ch[-1] - ch[0]) * 1e3 / (tok[-1] - 1))
    events = sum(len(x["chunks"]) for x in lines)
    span = (max(x["chunks"][-1] for x in lines) - min(x["received"] for x in lines)) if lines else 0.0
    return {
        "ttft": ttft,
        "itl": itl,
        "tpot": tpot,
        "events_s": events / span if span else 0.0,
        "n": len(lines),
    }


def matched(rows: list[dict], lines: list[dict]) -> dict:
    """Per-request split of the added TTFT, by pairing each client row with its trace line: same
    prompt length (prompts have varied lengths) and the nearest receive time after the send.
    ``up``: client send -> server handler entry; ``down``: server first-chunk write -> client read
    (both on the wall clock; the sim's received_wall is anchored on its perf_counter)."""
    free: dict[int, list[dict]] = {}
    for x in lines:
        if x["ok"] and x["chunks"]:
            free.setdefault(x["prompt_tokens"], []).append(x)
    up, down, added = [], [], []
    for r in rows:
        sent = r["start_ts"].timestamp()
        cands = [x for x in free.get(r["input_tokens"], []) if x["received_wall"] >= sent - 0.001]
        if not cands:
            continue
        x = min(cands, key=lambda x: x["received_wall"] - sent)
        free[r["input_tokens"]].remove(x)
        first_wall = x["received_wall"] + (x["chunks"][0] - x["received"])
        up.append((x["received_wall"] - sent) * 1e3)
        down.append((sent + r["ttft_ms"] / 1e3 - first_wall) * 1e3)
        added.append(r["ttft_ms"] - (x["chunks"][0] - x["received"]) * 1e3)
    return {"up": up, "down": down, "added": added, "pairs": len(added)}


def client_view(result) -> dict:  # type: ignore[no-untyped-def]
    rows = [r for r in result.requests if not r["is_warmup"] and r["success"]]
    return {
        "ttft": [r["ttft_ms"] for r in rows],
        "itl": [x for r in rows for x in r["itl_ms"]],
        "tpot": [r["tpot_ms"] for r in rows if r["tpot_ms"] is not None],
    }


def point(sim: Sim, conc: int, ns: argparse.Namespace, processes: int = 1) -> dict:
    cfg = PointConfig(
        base_url=sim.url, model=MODEL, isl=ns.isl, osl=ns.osl, max_concurrency=conc,
        num_prompts=conc * ns.rounds, warmup_requests=conc, request_timeout_s=300, range_ratio=ns.range_ratio,
        client_processes=processes, fetch_server_info=False,
    )  # fmt: skip
    sim.take()  # drop anything earlier
    result = asyncio.run(run_point(cfg))
    time.sleep(0.2)  # the last trace lines are flushed by the server right after [DONE]
    lines = sim.take()
    srv = server_view(lines, skip=conc)
    cli = client_view(result)
    m = matched([r for r in result.requests if not r["is_warmup"] and r["success"]], lines)
    s = result.summary
    return {
        "concurrency": conc, "processes": processes, "events_s": srv["events_s"],
        "client_output_tok_s": s["output_throughput"], "failed": s["failed"],
        "lag_p99_ms": s["client_lag_p99_ms"], "client_limited": s["client_limited"],
        "pairs": m["pairs"], "matched_added_p50": pct(m["added"], 50), "matched_added_p99": pct(m["added"], 99),
        "up_p50": pct(m["up"], 50), "up_p99": pct(m["up"], 99),
        "down_p50": pct(m["down"], 50), "down_p99": pct(m["down"], 99),
        **{f"{k}_{st}_{side}": (pct(v[k], q) if st != "mean" else float(np.mean(v[k])))
           for side, v in (("client", cli), ("server", srv)) for k in ("ttft", "itl", "tpot")
           for st, q in (("p50", 50), ("p99", 99), ("mean", 0))},
    }  # fmt: skip


def calibrate(sim: Sim, rate: float, ns: argparse.Namespace) -> int:
    """Concurrency for ~rate events/s: one short probe at a guess, scaled by the server's events/s."""
    guess = max(1, round(rate * 6.0 / 1000))  # ~6 ms ITL
    cfg = PointConfig(
        base_url=sim.url, model=MODEL, isl=ns.isl, osl=ns.osl, max_concurrency=guess, range_ratio=ns.range_ratio,
        num_prompts=2 * guess, warmup_requests=0, request_timeout_s=300, fetch_server_info=False,
    )  # fmt: skip
    sim.take()
    asyncio.run(run_point(cfg))
    time.sleep(0.2)
    got = server_view(sim.take())["events_s"]
    return max(1, round(guess * rate / got)) if got else guess


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", type=float, nargs="+", default=[1000, 5000, 10000], help="target events/s")
    ap.add_argument("--isl", type=int, default=128)
    ap.add_argument("--osl", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3, help="measured requests = rounds x concurrency")
    ap.add_argument("--client-processes", type=int, default=1)
    ap.add_argument(
        "--range-ratio", type=float, default=0.5,
        help="ISL/OSL drawn from [L*r, L] (bench_serving's meaning). <1 pairs client rows with trace "
        "lines by prompt length and de-synchronizes the closed loop; 1 = exact lengths: every request "
        "of a wave ends in the same iteration and all are re-sent in one burst (worst case for TTFT)",
    )  # fmt: skip
    ap.add_argument(
        "--time-scale", type=float, default=1.0, help="the sim's --time-scale (default: real time)"
    )
    ap.add_argument("--json", help="also write the rows here")
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = Sim(Path(tmp) / "trace.jsonl", ns.time_scale)
        try:
            rows = []
            for rate in ns.rates:
                conc = calibrate(sim, rate, ns)
                rows.append({"target_events_s": rate, **point(sim, conc, ns, ns.client_processes)})
        finally:
            sim.close()
    print(
        f"sim {MODEL} h100_sxm time_scale={ns.time_scale}, ISL {ns.isl} OSL {ns.osl} range {ns.range_ratio}, client processes "
        f"{ns.client_processes}, cpus {os.cpu_count()}; ms; + = client - server (added by client + loopback)"
    )
    hdr = (f"{'target':>7} {'events/s':>8} {'conc':>4} {'TTFT p50 c/s':>15} {'+p50':>6} {'+p99':>6} "
           f"{'ITL mean +':>10} {'ITL p50 +':>9} {'ITL p99 c/s':>13} {'TPOT p50 +':>10} {'lag p99':>7} {'fail':>4}"
           f" | {'matched +TTFT p50/p99':>21} {'up p50/p99':>13} {'down p50/p99':>13}")  # fmt: skip
    print(hdr)
    for r in rows:
        print(
            f"{r['target_events_s']:>7.0f} {r['events_s']:>8.0f} {r['concurrency']:>4} "
            f"{r['ttft_p50_client']:>7.2f}/{r['ttft_p50_server']:<7.2f} "
            f"{r['ttft_p50_client'] - r['ttft_p50_server']:>6.2f} "
            f"{r['ttft_p99_client'] - r['ttft_p99_server']:>6.2f} "
            f"{r['itl_mean_client'] - r['itl_mean_server']:>10.3f} "
            f"{r['itl_p50_client'] - r['itl_p50_server']:>9.3f} "
            f"{r['itl_p99_client']:>6.2f}/{r['itl_p99_server']:<6.2f} "
            f"{r['tpot_p50_client'] - r['tpot_p50_server']:>10.3f} "
            f"{r['lag_p99_ms']:>7.2f} {r['failed']:>4}"
            f" | {r['matched_added_p50']:>10.2f}/{r['matched_added_p99']:<10.2f}"
            f" {r['up_p50']:>6.2f}/{r['up_p99']:<6.2f} {r['down_p50']:>6.2f}/{r['down_p99']:<6.2f}"
        )
    print(
        "matched: per-request client TTFT - server TTFT (pairs by prompt length + receive time); "
        "up = send -> server handler entry, down = server first write -> client read"
    )
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
