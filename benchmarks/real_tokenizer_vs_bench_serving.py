"""Exact prompt lengths on a real tokenizer: frontier vs ``sglang.bench_serving`` on one server.

One simulated SGLang server counting prompt text with a real tokenizer (``--tokenizer-path``: a
byte-level BPE with BOS, trained here, no hub; the server's trace records every request's
``prompt_tokens``). Per backend (native ``/generate`` and ``/v1/completions``) and concurrency, with
InferenceX's load shape (range ratio 0.8, ignore_eos, no warm-up in the measured window):

- frontier (``PointConfig.tokenizer``): intended prompt tokens vs the server's count, and its figures;
- ``python -m sglang.bench_serving --dataset-name random-ids --random-range-ratio 0.8`` (.venv-bench,
  scripts/bench-serving-env.sh): its intended tokens (its own ``#Input tokens`` line, plus the one
  special token the server adds, which bench_serving subtracts) vs the server's count, and its figures;
- on ``/generate`` also bench_serving with ``--tokenize-prompt`` (ids, exact lengths as frontier's), the
  like-for-like comparison (its text prompts re-encode longer, so they are a different workload);
- the ratios frontier / bench_serving of output tok/s, median TTFT, TPOT and ITL.

    .venv/bin/python benchmarks/real_tokenizer_vs_bench_serving.py [--concurrency 8 32] [--isl 1024]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from loadgen_sim_overhead import MODEL, Sim, pct, server_view

from frontier.loadgen import PointConfig, run_point
from frontier.loadgen.bench_serving import load_jsonl
from tests.support import make_tokenizer

BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"
BS_BACKEND = {"sglang": "sglang", "openai": "sglang-oai"}


def tokenizer_dir(path: Path) -> Path:
    make_tokenizer(path, vocab_size=2000)
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "model_max_length": 1 << 20, "clean_up_tokenization_spaces": False,
    }))  # fmt: skip
    return path


def run_frontier(sim: Sim, ns, backend: str, conc: int, tok: Path) -> dict:
    cfg = PointConfig(
        base_url=sim.url, backend=backend, model=MODEL, isl=ns.isl, osl=ns.osl, max_concurrency=conc,
        num_prompts=ns.rounds * conc, warmup_requests=0, range_ratio=ns.range_ratio, tokenizer=str(tok),
        request_timeout_s=300,
    )  # fmt: skip
    sim.take()
    t0 = time.perf_counter()
    r = asyncio.run(run_point(cfg))
    build = time.perf_counter() - t0 - (r.summary["duration"] or 0)
    time.sleep(0.2)
    lines = sim.take()
    s = r.summary
    return {
        "client": "frontier", "intended": s["intended_input_tokens"], "server": sum(x["prompt_tokens"] for x in lines),
        "out_tok_s": s["output_throughput"], "ttft": s["median_ttft_ms"], "tpot": s["median_tpot_ms"],
        "itl": s["median_itl_ms"], "completed": s["completed"], "srv": server_view(lines), "error": r.error,
        "prep_s": build,
    }  # fmt: skip


def run_bench_serving(sim: Sim, ns, backend: str, conc: int, tok: Path, out: Path, ids: bool = False) -> dict:
    cmd = [
        str(BENCH_PY), str(ROOT / "benchmarks" / "loadgen_sglang_client.py"), "--backend", BS_BACKEND[backend],
        "--base-url", sim.url, "--dataset-name", "random-ids", "--random-input-len", str(ns.isl),
        "--random-output-len", str(ns.osl), "--random-range-ratio", str(ns.range_ratio),
        "--num-prompts", str(ns.rounds * conc), "--max-concurrency", str(conc), "--warmup-requests", "0",
        "--model", str(tok), "--served-model-name", MODEL, "--tokenizer", str(tok), "--output-file", str(out),
        "--disable-tqdm", *(["--tokenize-prompt"] if ids else []),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    sim.take()
    before = len(out.read_text().splitlines()) if out.exists() else 0
    p = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=900)
    if p.returncode != 0 or not out.exists() or len(out.read_text().splitlines()) == before:
        raise SystemExit(f"bench_serving failed (rc {p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    time.sleep(0.2)
    lines = sim.take()
    m = re.search(r"#Input tokens: (\d+)", p.stdout)
    n = ns.rounds * conc
    # its drawn lengths: the printed sum is after it subtracts the BOS the server adds to each text
    intended = None if m is None else int(m.group(1)) + (0 if ids else n)
    line_file = out.with_suffix(f".{backend}.c{conc}.jsonl")
    line_file.write_text(out.read_text().splitlines()[-1] + "\n")
    pt = load_jsonl(line_file)[0]
    return {
        "client": "bench_serving" + (" ids" if ids else ""), "intended": intended, "server": sum(x["prompt_tokens"] for x in lines),
        "out_tok_s": pt["output_throughput"], "ttft": pt["median_ttft_ms"], "tpot": pt["median_tpot_ms"],
        "itl": pt["median_itl_ms"], "completed": pt["completed"], "srv": server_view(lines), "error": None,
        "prep_s": None,
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--backend", nargs="+", default=["sglang", "openai"], choices=list(BS_BACKEND))
    ap.add_argument("--isl", type=int, default=1024)
    ap.add_argument("--osl", type=int, default=128)
    ap.add_argument("--range-ratio", type=float, default=0.8)
    ap.add_argument("--rounds", type=int, default=4, help="num_prompts = rounds x concurrency")
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--no-bench-serving", action="store_true", help="frontier only")
    ap.add_argument("--json", help="also write the rows here")
    ns = ap.parse_args()
    if not ns.no_bench_serving and not BENCH_PY.exists():
        raise SystemExit(f"{BENCH_PY} missing: build it with `bash scripts/bench-serving-env.sh`")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        tok = tokenizer_dir(tmp / "tokenizer")
        sim = Sim(tmp / "trace.jsonl", ns.time_scale, ["--tokenizer-path", str(tok)])
        try:
            for backend in ns.backend:
                for conc in ns.concurrency:
                    group = [run_frontier(sim, ns, backend, conc, tok)]
                    if not ns.no_bench_serving:
                        group.append(run_bench_serving(sim, ns, backend, conc, tok, tmp / "bench.jsonl"))
                        if backend == "sglang":  # --tokenize-prompt: ids on /generate, exact as ours
                            group.append(
                                run_bench_serving(sim, ns, backend, conc, tok, tmp / "b.jsonl", True)
                            )
                    for g in group:
                        g.update(concurrency=conc, backend=backend)
                    rows.extend(group)
        finally:
            sim.close()
    print(f"sim {MODEL} h100_sxm, real BPE tokenizer (BOS), ISL {ns.isl} OSL {ns.osl} range ratio {ns.range_ratio},"
          f" num_prompts {ns.rounds}xC, cpus {os.cpu_count()}")  # fmt: skip
    print(f"{'backend':<7} {'C':>3} {'client':<17} {'intended':>9} {'server':>9} {'dev':>7} {'out tok/s':>9} "
          f"{'TTFT p50':>8} {'TPOT p50':>8} {'ITL p50':>7} {'srv TPOT':>8} {'done':>4}")  # fmt: skip
    for r in rows:
        dev = "" if not r["intended"] else f"{(r['server'] - r['intended']) / r['intended']:+.2%}"
        print(f"{r['backend']:<7} {r['concurrency']:>3} {r['client']:<17} {r['intended'] or 0:>9} {r['server']:>9} "
              f"{dev:>7} {r['out_tok_s']:>9.0f} {r['ttft']:>8.2f} {r['tpot']:>8.2f} {r['itl']:>7.2f} "
              f"{pct(r['srv']['tpot'], 50):>8.2f} {r['completed']:>4}")  # fmt: skip
    if not ns.no_bench_serving:
        print("\nratios frontier / bench_serving (same server, same settings, this run)")
        print(
            f"{'backend':<7} {'C':>3} {'vs':<17} {'out tok/s':>9} {'TTFT p50':>8} {'TPOT p50':>8} {'ITL p50':>7}"
        )
        for backend in ns.backend:
            for conc in ns.concurrency:
                grp = [r for r in rows if (r["backend"], r["concurrency"]) == (backend, conc)]
                f = next(r for r in grp if r["client"] == "frontier")
                for b in grp:
                    if b is f:
                        continue
                    print(f"{backend:<7} {conc:>3} {b['client']:<17} {f['out_tok_s'] / b['out_tok_s']:>9.3f} "
                          f"{f['ttft'] / b['ttft']:>8.3f} {f['tpot'] / b['tpot']:>8.3f} {f['itl'] / b['itl']:>7.3f}")  # fmt: skip
    if ns.json:
        for r in rows:
            r["srv"] = {k: (v if not isinstance(v, list) else pct(v, 50)) for k, v in r["srv"].items()}
        Path(ns.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
