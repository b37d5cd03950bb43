"""frontier's load generator vs ``sglang.bench_serving`` against the same simulated server, in one run.

One simulated SGLang server (``frontier.sim.launch_server``, Llama-3.1-8B on h100_sxm, the opt-in
chunk trace on, so every point also has the server's own TTFT/TPOT). Per concurrency, three clients
run one after the other with the same settings (random prompts of exact ISL, OSL with ignore_eos,
num_prompts, no warm-up: bench_serving runs its warm-up outside the measured window and frontier inside its gate, so both skip it): frontier in one process, frontier sharded over 2 processes, and
``python -m sglang.bench_serving --backend sglang --dataset-name random-ids --random-range-ratio 1``
(in .venv-bench, scripts/bench-serving-env.sh; offline: HF_HUB_OFFLINE=1 and a word-level tokenizer
directory built here whose vocabulary is the fake tokenizer's ``w0..w31999``, so token counts agree).
bench_serving's output file is landed with ``frontier import bench-serving`` into a scratch
warehouse and compared with frontier's point: output tok/s, median TPOT, TTFT and ITL, and each
client's events/s and its TPOT minus the server's (what the client adds when it saturates).

    bash scripts/bench-serving-env.sh                     # once (~3 min, ~1.8 GB)
    .venv/bin/python benchmarks/loadgen_vs_bench_serving.py [--concurrency 16 64 128] [--osl 256]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen_sim_overhead import MODEL, Sim, pct, server_view

from frontier.common.tokenizer import VOCAB_SIZE
from frontier.loadgen import PointConfig, run_point
from frontier.loadgen.bench_serving import load_jsonl

ROOT = Path(__file__).resolve().parent.parent
BENCH_PY = ROOT / ".venv-bench" / "bin" / "python"
FRONTIER = Path(sys.executable).parent / "frontier"


def make_tokenizer_dir(path: Path) -> Path:
    """A Hugging Face fast tokenizer (tokenizer.json + tokenizer_config.json), built offline by hand:
    WordLevel over whitespace-split words, vocabulary ``w0..w31999`` (id i = ``w{i}``, as
    frontier.common.tokenizer) plus ``[UNK]``; no special tokens added around a prompt; decode joins the
    words with spaces. So bench_serving's ``random-ids`` prompt of N ids is N words for the sim."""
    path.mkdir(parents=True, exist_ok=True)
    vocab = {f"w{i}": i for i in range(VOCAB_SIZE)}
    unk = {"id": VOCAB_SIZE, "content": "[UNK]", "single_word": False, "lstrip": False, "rstrip": False,
           "normalized": False, "special": True}  # fmt: skip
    vocab["[UNK]"] = VOCAB_SIZE
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [unk],
        "normalizer": None, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None,
        "decoder": None, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
    }  # fmt: skip
    (path / "tokenizer.json").write_text(json.dumps(tok))
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]", "model_max_length": 1 << 20,
        "clean_up_tokenization_spaces": False, "added_tokens_decoder": {str(VOCAB_SIZE): unk},
    }))  # fmt: skip
    (path / "special_tokens_map.json").write_text(json.dumps({"unk_token": "[UNK]"}))
    return path


def run_frontier(sim: Sim, ns: argparse.Namespace, conc: int, processes: int) -> dict:
    cfg = PointConfig(
        base_url=sim.url, model=MODEL, isl=ns.isl, osl=ns.osl, max_concurrency=conc,
        num_prompts=ns.rounds * conc, warmup_requests=0, request_timeout_s=300, client_processes=processes,
    )  # fmt: skip
    sim.take()
    r = asyncio.run(run_point(cfg))
    time.sleep(0.2)
    s = r.summary
    return {"client": f"frontier x{processes}", "out_tok_s": s["output_throughput"], "tpot": s["median_tpot_ms"],
            "ttft": s["median_ttft_ms"], "itl": s["median_itl_ms"], "completed": s["completed"],
            "lag": s["client_lag_p99_ms"], "server_info": r.server_info is not None,
            "srv": server_view(sim.take())}  # fmt: skip


def run_bench_serving(sim: Sim, ns: argparse.Namespace, conc: int, tok: Path, out: Path, wh: Path) -> dict:
    cmd = [
        str(BENCH_PY), str(ROOT / "benchmarks" / "loadgen_sglang_client.py"), "--backend", "sglang",
        "--base-url", sim.url, "--dataset-name", "random-ids", "--random-input-len", str(ns.isl),
        "--random-output-len", str(ns.osl), "--random-range-ratio", "1",
        "--num-prompts", str(ns.rounds * conc), "--max-concurrency", str(conc), "--warmup-requests", "0",
        "--model", str(tok), "--tokenizer", str(tok), "--output-file", str(out), "--disable-tqdm",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    sim.take()
    before = len(out.read_text().splitlines()) if out.exists() else 0
    p = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=600)
    if p.returncode != 0 or not out.exists() or len(out.read_text().splitlines()) == before:
        raise SystemExit(f"bench_serving failed (rc {p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    time.sleep(0.2)
    srv = server_view(sim.take())
    line_file = out.with_suffix(f".c{conc}.jsonl")
    line_file.write_text(out.read_text().splitlines()[-1] + "\n")
    imp = subprocess.run(
        [str(FRONTIER), "import", "bench-serving", str(line_file), "--label", "TP1", "--model", MODEL,
         "--hardware", "h100_sxm", "--warehouse", str(wh)],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if imp.returncode != 0:
        raise SystemExit(f"frontier import bench-serving failed:\n{imp.stdout}\n{imp.stderr}")
    pt = load_jsonl(line_file)[0]
    return {"client": "bench_serving", "out_tok_s": pt["output_throughput"], "tpot": pt["median_tpot_ms"],
            "ttft": pt["median_ttft_ms"], "itl": pt["median_itl_ms"], "completed": pt["completed"],
            "lag": None, "server_info": None, "srv": srv, "imported": imp.stdout.strip().splitlines()[-1:]}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[16, 64, 128])
    ap.add_argument("--isl", type=int, default=128)
    ap.add_argument("--osl", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2, help="num_prompts = rounds x concurrency")
    ap.add_argument("--no-sharded", action="store_true", help="skip frontier with 2 client processes")
    ap.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="the sim's --time-scale: F x shorter iterations, F x the events/s per request "
        "(to find where the clients or the one-process server saturate)",
    )
    ap.add_argument("--json", help="also write the rows here")
    ns = ap.parse_args()
    if not BENCH_PY.exists():
        raise SystemExit(f"{BENCH_PY} missing: build it with `bash scripts/bench-serving-env.sh`")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        tok = make_tokenizer_dir(tmp / "tokenizer")
        sim = Sim(tmp / "trace.jsonl", ns.time_scale)
        try:
            for conc in ns.concurrency:
                group = [run_frontier(sim, ns, conc, 1)]
                if not ns.no_sharded:
                    group.append(run_frontier(sim, ns, conc, 2))
                group.append(run_bench_serving(sim, ns, conc, tok, tmp / "bench.jsonl", tmp / "wh"))
                for g in group:
                    g["concurrency"] = conc
                rows.extend(group)
        finally:
            sim.close()
    print(f"sim {MODEL} h100_sxm time_scale {ns.time_scale}, ISL {ns.isl} OSL {ns.osl}, num_prompts {ns.rounds}xC, cpus {os.cpu_count()};"
          " srv = the server's own trace; +TPOT = client median TPOT - server median TPOT (ms)")  # fmt: skip
    print(f"{'C':>4} {'client':<14} {'out tok/s':>9} {'TPOT p50':>8} {'TTFT p50':>8} {'ITL p50':>7} "
          f"{'srv ev/s':>8} {'srv TPOT':>8} {'srv TTFT':>8} {'+TPOT':>6} {'+TTFT':>6} {'lag p99':>7} {'done':>4}")  # fmt: skip
    for r in rows:
        srv = r["srv"]
        st, sf = pct(srv["tpot"], 50), pct(srv["ttft"], 50)
        lag = "" if r["lag"] is None else f"{r['lag']:.2f}"
        print(f"{r['concurrency']:>4} {r['client']:<14} {r['out_tok_s']:>9.0f} {r['tpot']:>8.2f} {r['ttft']:>8.2f} "
              f"{r['itl']:>7.2f} {srv['events_s']:>8.0f} {st:>8.2f} {sf:>8.2f} {r['tpot'] - st:>6.2f} "
              f"{r['ttft'] - sf:>6.2f} {lag:>7} {r['completed']:>4}")  # fmt: skip
    print("\nratios frontier / bench_serving (same server, same settings, this run)")
    print(f"{'C':>4} {'client':<14} {'out tok/s':>9} {'TPOT p50':>8} {'TTFT p50':>8} {'ITL p50':>7}")
    for conc in ns.concurrency:
        grp = [r for r in rows if r["concurrency"] == conc]
        b = next(r for r in grp if r["client"] == "bench_serving")
        for r in grp:
            if r is b:
                continue
            print(f"{conc:>4} {r['client']:<14} {r['out_tok_s'] / b['out_tok_s']:>9.3f} {r['tpot'] / b['tpot']:>8.3f} "
                  f"{r['ttft'] / b['ttft']:>8.3f} {r['itl'] / b['itl']:>7.3f}")  # fmt: skip
    imported = [r["imported"] for r in rows if r.get("imported")]
    if imported:
        print(f"\nfrontier import bench-serving: {imported[-1][0] if imported[-1] else 'ok'}")
    if ns.json:
        for r in rows:
            r["srv"] = {k: (v if not isinstance(v, list) else pct(v, 50)) for k, v in r["srv"].items()}
        Path(ns.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
