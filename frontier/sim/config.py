"""The simulated server's configuration, parsed from an SGLang ``launch_server`` command line.

The flags that change behaviour are parsed (topology, memory, batching, context length, served
name, host/port); every other flag is accepted and reported under ``ignored_args`` so a real
SGLang command can be pointed at the simulator unchanged. frontier's own flags:
``--hardware``, ``--precision``, ``--seed``, ``--deployment LABEL`` (simulate a whole deployment,
PD labels included, in one process) and ``--time-scale F`` (every simulated time, including the
timings the server reports, runs F times faster), ``--model-config PATH`` (an HF config.json),
the ``--fault-*`` flags of :mod:`frontier.sim.faults` (crashes, hangs, HTTP errors, ...), and
``--trace-chunks PATH`` (opt-in server-side emit times of every streamed chunk, for measuring what a
client adds; see `frontier.sim.server.ChunkTracer`), and ``--prefill-server-args "..."`` /
``--decode-server-args "..."`` (with ``--deployment``: one shell-quoted string of SGLang flags for
that role's servers, after the common ones, so they win; a single flag without a space is given as
``--decode-server-args=--disable-cuda-graph``).

The SGLang flags of each role (the command's own, which apply to a single server or to every role
of ``--deployment``, plus that role's string) become ``SimSpec.server_flags``: from them the
simulator derives what SGLang would (``mem_fraction_static``, ``max_running_requests``, the decode
CUDA-graph cap, chunk sizes, speculative decoding; :mod:`frontier.sim.sglang_defaults`), explicit
flags winning. Those values are reported under ``server_args["sglang_derived"]``. SGLang's ``--tokenizer-path`` makes the server
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
from frontier.sim.sglang_defaults import _fraction, _int_ge, add_sglang_flags, split_server_args
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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # "argument --x: invalid ... value: 'v'" names the flag
        raise FrontierError(f"{message} (see frontier sim-server -h)")


ROLE_ARGS = {"--prefill-server-args": "prefill", "--decode-server-args": "decode"}


def strip_flags(argv: list[str], names) -> list[str]:
    """``argv`` without ``NAME VALUE`` / ``NAME=VALUE`` of each of ``names``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in names:
            skip = True
        elif not any(a.startswith(n + "=") for n in names):
            out.append(a)
    return out


def _role_values(argv: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, a in enumerate(argv):
        for flag, role in ROLE_ARGS.items():
            if a == flag and i + 1 < len(argv):
                out[role] = argv[i + 1]
            elif a.startswith(flag + "="):
                out[role] = a[len(flag) + 1 :]
    return out


def deployment_role_flags(argv: list[str], roles) -> dict[str, tuple[str, ...]]:
    """role -> the SGLang flags its servers run with: the command's own flags (for every role),
    then that role's ``--prefill-server-args`` / ``--decode-server-args`` string (which wins)."""
    common = tuple(strip_flags(list(argv), ROLE_ARGS))
    values = _role_values(list(argv))
    flag_of = {role: flag for flag, role in ROLE_ARGS.items()}
    out: dict[str, tuple[str, ...]] = {}
    for role in roles:
        own = split_server_args(values.get(role), flag_of[role]) if role in flag_of else ()
        out[role] = common + own
    return out


def parser() -> argparse.ArgumentParser:
    p = _Parser(
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
    p.add_argument("--mem-fraction-static", type=_fraction, default=None)
    p.add_argument("--max-running-requests", type=_int_ge(1), default=None)
    p.add_argument("--chunked-prefill-size", type=_int_ge(-1), default=None)
    _bool_flag(p, "--enable-mixed-chunk")
    p.add_argument("--context-length", type=_int_ge(1), default=None)
    # the rest of the flags SGLang derives its settings from (frontier.sim.sglang_defaults)
    add_sglang_flags(p, with_topology=False)
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
    for flag, role in ROLE_ARGS.items():
        p.add_argument(
            flag,
            default=None,
            metavar="'FLAGS'",
            help=f"with --deployment: SGLang flags of the {role} servers, one shell-quoted string",
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
        for flag in ROLE_ARGS:
            if getattr(args, flag[2:].replace("-", "_")):
                raise FrontierError(
                    f"{flag} needs --deployment LABEL (a single server takes its flags directly)"
                )
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
    role_flags = deployment_role_flags(argv, [g.role for g in topo.groups])
    kv = args.kv_cache_dtype
    if kv == "auto":  # a PD deployment's KV dtype may come with its roles' flags
        kv = next(
            (f[f.index("--kv-cache-dtype") + 1] for f in role_flags.values() if "--kv-cache-dtype" in f[:-1]),
            kv,
        )
    spec = SimSpec(
        model,
        hw,
        args.precision,
        topo,
        kv_dtype=kv_dtype_of(kv),
        mixed_chunk=args.enable_mixed_chunk,
        seed=args.seed if args.random_seed is None else args.random_seed,
        # --mem-fraction-static, --max-running-requests, --chunked-prefill-size ... travel as each
        # role's flags (a role's own string wins over the common flags), not as SimSpec fields
        server_flags=role_flags,
    )
    ctx = args.context_length or model.max_context
    counter = count_tokens
    if args.tokenizer_path:
        from frontier.common import hf_tokenizer

        counter = hf_tokenizer.load(args.tokenizer_path).count
    server_args = {k: v for k, v in vars(args).items() if not k.startswith("fault_") and k != "trace_chunks"}
    server_args["served_model_name"] = args.served_model_name or args.model_path
    derived = {}
    for g in topo.groups:
        derived.setdefault(g.role, spec.derived(g.role, g.shape).as_dict())
    server_args["sglang_derived"] = derived
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
