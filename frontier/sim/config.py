"""The simulated server's configuration, parsed from an SGLang ``launch_server`` command line.

The flags that change behaviour are parsed (topology, memory, batching, context length, served
name, host/port); every other flag is accepted and reported under ``ignored_args`` so a real
SGLang command can be pointed at the simulator unchanged. frontier's own flags:
``--hardware``, ``--precision``, ``--seed``, ``--deployment LABEL`` (simulate a whole deployment,
PD labels included, in one process) and ``--time-scale F`` (every simulated time, including the
timings the server reports, runs F times faster), ``--model-config PATH`` (an HF config.json),
the ``--fault-*`` flags of :mod:`frontier.sim.faults` (crashes, hangs, HTTP errors, ...), and
``--trace-chunks PATH`` (opt-in server-side emit times of every streamed chunk, for measuring what a
client adds; see `frontier.sim.server.ChunkTracer`). SGLang's ``--tokenizer-path`` makes the server
count prompt text with that real tokenizer (`frontier.common.hf_tokenizer`, offline); without it a
token is a whitespace-separated word.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from frontier.common.tokenizer import count_tokens
from frontier.domain.catalog import PRECISIONS, UnknownName, get_hardware, get_model
from frontier.errors import FrontierError
from frontier.sim import faults as F
from frontier.sim.cluster import SimSpec
from frontier.sim.perf_model import kv_dtype_of
from frontier.sim.topology import Topology, from_label, from_server_flags


@dataclass
class SimConfig:
    spec: SimSpec
    served_model_name: str
    model_path: str
    context_length: int
    host: str = "127.0.0.1"
    port: int = 30000
    time_scale: float = 1.0
    server_args: dict = field(default_factory=dict)
    ignored_args: list[str] = field(default_factory=list)
    deployment: str | None = None
    faults: F.FaultConfig = field(default_factory=F.FaultConfig)
    trace_chunks: str | None = None  # opt-in: JSON lines of per-chunk server emit times (server.ChunkTracer)
    # how a text prompt is counted: the real tokenizer of --tokenizer-path, else the fake word rule
    count_tokens: Callable[[str], int] = count_tokens

    @property
    def topology(self) -> Topology:
        return self.spec.topology


def _bool_flag(p: argparse.ArgumentParser, *names: str) -> None:
    p.add_argument(*names, action="store_true", default=False)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="frontier sim-server",
        description="Simulated SGLang server (accepts sglang.launch_server flags).",
        allow_abbrev=False,
    )
    p.add_argument("--model-path", "--model", dest="model_path", default="meta-llama/Llama-3.1-8B-Instruct")
    p.add_argument(
        "--tokenizer-path",
        default=None,
        help="count prompt text with this real tokenizer (tokenizer.json, a model directory, or a model id"
        " in the local Hugging Face cache); default: one token per whitespace-separated word",
    )
    p.add_argument("--served-model-name", default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=30000)
    p.add_argument("--tp-size", "--tp", "--tensor-parallel-size", dest="tp_size", type=int, default=1)
    p.add_argument("--dp-size", "--dp", "--data-parallel-size", dest="dp_size", type=int, default=1)
    p.add_argument("--ep-size", "--ep", "--expert-parallel-size", dest="ep_size", type=int, default=1)
    _bool_flag(p, "--enable-dp-attention")
    p.add_argument("--attn-dp-size", type=int, default=None)
    p.add_argument("--attn-cp-size", type=int, default=1)
    _bool_flag(p, "--enable-prefill-cp")
    p.add_argument("--disaggregation-mode", default="null", choices=["null", "prefill", "decode"])
    p.add_argument("--mem-fraction-static", type=float, default=None)
    p.add_argument("--max-running-requests", type=int, default=None)
    p.add_argument("--chunked-prefill-size", type=int, default=None)
    _bool_flag(p, "--enable-mixed-chunk")
    p.add_argument("--context-length", type=int, default=None)
    p.add_argument("--kv-cache-dtype", default="auto")
    p.add_argument("--random-seed", type=int, default=None)
    # frontier's own
    p.add_argument("--hardware", default="h200_sxm")
    # fp4: weights at 0.5 byte a parameter and the catalog's fp4_tflops (frontier.domain.catalog);
    # a finer FP4 model (block scales, mixed-precision layers) is the simulator's to add
    p.add_argument("--precision", default="fp8", choices=list(PRECISIONS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--deployment", default=None, help="simulate a whole deployment label, e.g. SEP4+1xDEP8")
    p.add_argument("--time-scale", type=float, default=1.0, help="run every simulated time F x faster")
    p.add_argument("--model-config", default=None, help="HF config.json of a model not in the catalog")
    p.add_argument(
        "--trace-chunks",
        default=None,
        metavar="PATH",
        help="append one JSON line per streamed request to PATH: when it was received and when each "
        "chunk was written (time.perf_counter and time.time); off by default, responses unchanged",
    )
    F.add_arguments(p)
    return p


def parse_config(argv: list[str]) -> SimConfig:
    """Parse a launch_server command line; FrontierError for what the simulator cannot run."""
    args, unknown = parser().parse_known_args(argv)
    if args.model_config:
        from frontier.domain.catalog.hf_config import register_from_hf_config

        register_from_hf_config(args.model_config, name=args.model_path)
    try:
        model = get_model(args.model_path)
        hw = get_hardware(args.hardware)
    except UnknownName as e:
        raise FrontierError(str(e)) from None
    if args.time_scale <= 0:
        raise FrontierError("--time-scale must be > 0")
    try:
        faults = F.from_args(args, seed=args.seed)
    except ValueError as e:
        raise FrontierError(str(e)) from None
    if args.deployment:
        topo = from_label(args.deployment, model)
    else:
        role = "single" if args.disaggregation_mode == "null" else args.disaggregation_mode
        topo = from_server_flags(
            model,
            tp=args.tp_size,
            dp=args.dp_size,
            ep=args.ep_size,
            dp_attention=args.enable_dp_attention,
            attn_dp=args.attn_dp_size,
            attn_cp=args.attn_cp_size,
            prefill_cp=args.enable_prefill_cp,
            role=role,
        )
        if role != "single":  # one PD side alone: simplified to a server doing the whole request
            topo = Topology(topo.label, tuple(type(g)(g.shape, g.count, "single") for g in topo.groups))
    spec = SimSpec(
        model,
        hw,
        args.precision,
        topo,
        kv_dtype=kv_dtype_of(args.kv_cache_dtype),
        mem_fraction=args.mem_fraction_static,
        max_running=args.max_running_requests,
        chunk=args.chunked_prefill_size,
        mixed_chunk=args.enable_mixed_chunk,
        seed=args.seed if args.random_seed is None else args.random_seed,
    )
    ctx = args.context_length or model.max_context
    counter = count_tokens
    if args.tokenizer_path:
        from frontier.common import hf_tokenizer

        counter = hf_tokenizer.load(args.tokenizer_path).count
    server_args = {k: v for k, v in vars(args).items() if not k.startswith("fault_") and k != "trace_chunks"}
    server_args["served_model_name"] = args.served_model_name or args.model_path
    return SimConfig(
        spec=spec,
        served_model_name=server_args["served_model_name"],
        model_path=args.model_path,
        context_length=ctx,
        host=args.host,
        port=args.port,
        time_scale=args.time_scale,
        server_args=server_args,
        ignored_args=list(unknown),
        deployment=args.deployment,
        faults=faults,
        trace_chunks=args.trace_chunks,
        count_tokens=counter,
    )
