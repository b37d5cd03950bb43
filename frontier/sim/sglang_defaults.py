"""SGLang's own derived server settings, per role, from the flags a server command carries.

A real SGLang server that is not told ``--mem-fraction-static``, ``--max-running-requests``,
``--cuda-graph-max-bs-decode``, ``--chunked-prefill-size`` or ``--max-prefill-tokens`` derives
them from the GPU's memory, the parallel layout, the disaggregation role, DP attention, DeepEP
and speculative decoding. The simulator derives them the same way, so a simulated server runs the
recipe the real command runs. :func:`derive` returns a :class:`ServerDerived`; explicit flags
always win over a derivation.

Read from SGLang 0.5.23 (the PyPI wheel ``sglang-0.5.23``, the version of
shared/design/sglang-notes.md), files under ``python/sglang/srt/``:

- ``arg_groups/memory_hook.py`` ``handle_gpu_memory_settings``: chunked_prefill_size and the
  decode CUDA-graph max_bs by GPU memory (nvidia-smi MiB) and TP size; then
  ``mem_fraction_static = round((gpu_mem - reserved_mem) / gpu_mem, 3)`` with ``reserved_mem``
  (MiB) = 512 + 1.5 x activation tokens + tp*pp/8 x 1024 + ``reserve_for_graph_mb``, floored at
  10 GiB on GPUs over 60 GiB, + ``reserve_for_deepep_a2a_mb``.
- ``arg_groups/parallel_hook.py`` ``handle_data_parallelism`` (runs after the memory hook):
  under DP attention ``chunked_prefill_size //= attn_dp_size`` (per attention rank).
- ``arg_groups/speculative_hook.py`` ``_handle_eagle_family`` (runs after the memory hook):
  ``max_running_requests = 48`` when not given; ``_auto_choose_speculative_params``: (steps,
  topk, draft tokens) = (3, 1, 4) for DeepSeek-V3-arch models, (5, 4, 8) for Llama.
- ``arg_groups/fields/schedule.py``: ``max_prefill_tokens`` defaults to 16384.
- ``mem_cache/kv_cache_configurator.py`` ``_profile_available_bytes``: the KV pool is the free
  memory after loading the weights minus ``total * (1 - mem_fraction_static)``, i.e.
  ``mem_fraction_static * total - weights``; ``resolve_max_num_reqs``: per DP worker
  ``min(max(min(pool / context_len * 512, 4096), 2048), pool // 2)``, or, when
  ``--max-running-requests`` is set (or the speculative 48), ``min(max(1, mrr // attn_dp_size),
  pool // 2)``.
- ``model_executor/runner/base_cuda_graph_runner.py``: decode graphs are captured only for batch
  sizes up to ``req_to_token_pool.size`` (the per-worker running-request cap), so the effective
  graph cap is ``min(decode max_bs, max running per worker)``; a prefill-role server disables
  decode graphs (``cuda_graph_hook.apply_cuda_graph_disaggregation_roles``): cap 0.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from frontier.domain.catalog import Hardware, ModelSpec
from frontier.errors import FrontierError
from frontier.sim.specdec import from_flags as _spec_from_flags
from frontier.sim.topology import ServerShape

SGLANG_VERSION_READ = "0.5.23"

# nvidia-smi --query-gpu=memory.total (MiB), what SGLang's get_nvgpu_memory_capacity reads;
# public nvidia-smi outputs (H100 SXM 80 GB, H200 141 GB, B200, GB200 trays); other GPUs:
# the catalog's hbm_gb (GiB) x 1024
NVIDIA_SMI_MIB = {"h100_sxm": 81559, "h200_sxm": 143771, "b200_sxm": 183359, "gb200": 189471}

DEFAULT_MAX_PREFILL_TOKENS = 16384  # arg_groups/fields/schedule.py
SPEC_MAX_RUNNING_REQUESTS = 48  # speculative_hook._handle_eagle_family
MIB = 2**20
GIB = 2**30


def gpu_memory_mib(hw: Hardware) -> float:
    """What SGLang sees as the GPU's memory capacity (MiB)."""
    return float(NVIDIA_SMI_MIB.get(hw.name, hw.hbm_gb * 1024))


@dataclass(frozen=True)
class ServerDerived:
    """One server's settings as SGLang resolves them (server-wide unless named per rank)."""

    role: str
    gpu_mem_mib: float
    mem_fraction_static: float
    reserved_mem_mib: float | None  # None when --mem-fraction-static was given
    chunked_prefill_size: int  # the server's flag value (SGLang divides it per DP rank)
    chunked_prefill_per_rank: int
    max_prefill_tokens: int
    cuda_graph_max_bs: int  # decode graphs: largest captured batch per attention rank (0: none)
    kv_pool_tokens_per_rank: int  # max_total_num_tokens of one DP worker
    max_running_per_rank: int
    max_running_requests: int  # whole server: per rank x attn_dp
    attn_dp: int
    moe_a2a_backend: str | None = None  # --moe-a2a-backend as given (MoE models; SGLang's default: none)
    # --scheduler-recv-interval (schedule.py, default 1): the scheduler polls for new requests once
    # every that many decode iterations (managers/scheduler_components/recv_skipper.py)
    recv_interval: int = 1
    # prefill iterations of at most this many tokens per attention rank replay a prefill CUDA graph
    # (no eager launch cost); 0: every prefill runs eagerly (see derive)
    prefill_graph_tokens: int = 0
    spec: Any = None  # frontier.sim.specdec.SpecDecode | None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "spec"} | {
            "speculative": None if self.spec is None else repr(self.spec)
        }


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse names the flag: "argument --x: invalid int value"
        raise FrontierError(f"SGLang server flags: {message}")


def _int_ge(lo: int):
    def conv(s: str) -> int:
        v = int(s)
        if v < lo:
            raise ValueError
        return v

    conv.__name__ = f"integer >= {lo}"
    return conv


def _fraction(s: str) -> float:
    v = float(s)
    if not 0.0 < v <= 1.0:
        raise ValueError
    return v


_fraction.__name__ = "fraction in (0, 1]"


def _float_ge1(s: str) -> float:
    v = float(s)
    if v < 1.0:
        raise ValueError
    return v


_float_ge1.__name__ = "number >= 1"


def add_sglang_flags(p: argparse.ArgumentParser, with_topology: bool = True) -> None:
    """The SGLang flags that change a server's derived settings (aliases as SGLang spells them)."""
    if with_topology:
        p.add_argument("--tp-size", "--tp", "--tensor-parallel-size", dest="tp_size", type=int, default=1)
        p.add_argument("--dp-size", "--dp", "--data-parallel-size", dest="dp_size", type=int, default=1)
        p.add_argument("--ep-size", "--ep", "--expert-parallel-size", dest="ep_size", type=int, default=1)
        p.add_argument("--enable-dp-attention", action="store_true", default=False)
        p.add_argument("--attn-dp-size", type=int, default=None)
        p.add_argument("--disaggregation-mode", default="null", choices=["null", "prefill", "decode"])
        p.add_argument("--mem-fraction-static", type=_fraction, default=None)
        p.add_argument("--max-running-requests", type=_int_ge(1), default=None)
        p.add_argument("--chunked-prefill-size", type=_int_ge(-1), default=None)
        p.add_argument("--context-length", type=_int_ge(1), default=None)
        p.add_argument("--kv-cache-dtype", default="auto")
    p.add_argument("--pp-size", type=_int_ge(1), default=1)
    p.add_argument("--max-prefill-tokens", type=_int_ge(1), default=None)
    p.add_argument("--max-total-tokens", type=_int_ge(1), default=None)
    # 0.5.23 rejects plain --cuda-graph-max-bs as ambiguous; older commands carry it (= decode)
    p.add_argument("--cuda-graph-max-bs", type=_int_ge(1), default=None)
    p.add_argument("--cuda-graph-max-bs-decode", type=_int_ge(1), default=None)
    p.add_argument("--cuda-graph-max-bs-prefill", type=_int_ge(1), default=None)
    p.add_argument("--disable-cuda-graph", action="store_true", default=False)
    p.add_argument("--disable-decode-cuda-graph", action="store_true", default=False)
    p.add_argument("--disable-prefill-cuda-graph", action="store_true", default=False)
    p.add_argument("--cuda-graph-backend-prefill", default=None, choices=["full", "breakable", "disabled"])
    p.add_argument("--speculative-algorithm", default=None)
    p.add_argument("--speculative-num-steps", type=_int_ge(1), default=None)
    p.add_argument("--speculative-eagle-topk", type=_int_ge(1), default=None)
    p.add_argument("--speculative-num-draft-tokens", type=_int_ge(1), default=None)
    p.add_argument(
        "--speculative-accept-len",
        type=_float_ge1,
        default=None,
        help="frontier's: mean tokens accepted per verify step (default: the public figure per model)",
    )
    p.add_argument("--moe-a2a-backend", default=None)
    p.add_argument("--deepep-mode", default="auto", choices=["normal", "low_latency", "auto"])
    p.add_argument("--quantization", default=None)
    p.add_argument("--enable-two-batch-overlap", action="store_true", default=False)
    p.add_argument("--scheduler-recv-interval", type=_int_ge(1), default=1)


def flag_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="SGLang server flags", add_help=False, allow_abbrev=False)
    add_sglang_flags(p)
    return p


def parse_flags(flags: Sequence[str] | str | Mapping[str, Any] | None) -> dict[str, Any]:
    """argparse-style keys from an argv list (or a shlex string); a mapping passes through on
    top of the defaults. Flags this module does not read are ignored; a bad value of one it
    reads raises FrontierError naming the flag."""
    p = flag_parser()
    if isinstance(flags, Mapping):
        return {**vars(p.parse_known_args([])[0]), **dict(flags)}
    argv = shlex.split(flags) if isinstance(flags, str) else list(flags or ())
    ns, _unknown = p.parse_known_args(argv)
    return vars(ns)


def split_server_args(text: str | None, flag: str) -> tuple[str, ...]:
    """``--prefill-server-args "..."``: a shlex string of SGLang flags, checked here."""
    if not text:
        return ()
    try:
        argv = tuple(shlex.split(text))
    except ValueError as e:
        raise FrontierError(f"{flag}: cannot split {text!r} ({e}); quote it as a shell would") from None
    try:
        parse_flags(argv)
    except FrontierError as e:
        raise FrontierError(f"{flag}: {e}") from None
    return argv


def _auto_spec_params(model: ModelSpec) -> tuple[int, int, int]:
    """speculative_hook._auto_choose_speculative_params: (steps, topk, draft tokens)."""
    if model.attention == "mla":  # DeepseekV3ForCausalLM (and V2/V32)
        return 3, 1, 4
    if "llama" in model.name.lower():  # LlamaForCausalLM
        return 5, 4, 8
    return 3, 1, 4


def _spec(d: dict, model: ModelSpec):
    algo = d.get("speculative_algorithm")
    if not algo or str(algo).upper() in ("NONE", "NULL"):
        return None, None
    steps, topk = d.get("speculative_num_steps"), d.get("speculative_eagle_topk")
    draft = d.get("speculative_num_draft_tokens")
    if steps is None:  # SGLang picks all three together
        steps, topk, draft = _auto_spec_params(model)
    topk = topk or 1
    if draft is None:
        draft = steps + 1
    keys = {
        "speculative_algorithm": "EAGLE" if str(algo).upper() == "NEXTN" else str(algo).upper(),
        "speculative_num_steps": steps,
        "speculative_eagle_topk": topk,
        "speculative_num_draft_tokens": draft,
        "speculative_accept_len": d.get("speculative_accept_len"),
    }
    return _spec_from_flags(keys), keys


def _prefill_graph_sizes(max_bs: int) -> int:
    """How many prefill graphs are captured: cuda_graph_hook.generate_prefill_cuda_graph_batch_sizes."""
    sizes = (
        list(range(4, 33, 4))
        + list(range(48, 257, 16))
        + list(range(288, 513, 32))
        + list(range(576, 1024 + 1, 64))
        + list(range(1280, 4096 + 1, 256))
        + list(range(4608, max_bs + 1, 512))
    )
    return len([s for s in sizes if s <= max_bs])


def _weights_per_gpu(model: ModelSpec, hw: Hardware, precision: str, shape: ServerShape, spec) -> float:
    """Weight bytes on one GPU as the simulator's StepModel lays them out (with the draft model's
    and NVFP4 scales where the perf model counts them: SGLang charges both to the static budget)."""
    from frontier.sim.perf_model import StepModel

    return StepModel(model, hw, precision, shape, spec=spec).weights_per_gpu


def derive(
    role: str,
    flags: Sequence[str] | str | Mapping[str, Any] | None,
    model: ModelSpec,
    hw: Hardware,
    shape: ServerShape,
    precision: str,
    kv_dtype: str = "bf16",
) -> ServerDerived:
    """SGLang's resolved settings of one ``role`` (single | prefill | decode) server of ``shape``.

    ``flags``: that server's SGLang argv (or argparse-style dict); its explicit values win. The
    parallel layout comes from ``shape`` (SGLang's tp_size = the server's GPUs, attn_dp_size =
    its DP-attention ranks), not from the flags.
    """
    if role not in ("single", "prefill", "decode"):
        raise FrontierError(f"role {role!r}: expected single, prefill or decode")
    d = parse_flags(flags)
    mode = role if role != "single" else (d.get("disaggregation_mode") or "null")
    if mode == "single":
        mode = "null"
    tp, pp, attn_dp = shape.gpus, d.get("pp_size") or 1, shape.attn_dp
    gpu_mem = gpu_memory_mib(hw)
    spec, spec_keys = _spec(d, model)

    # ---- memory_hook.handle_gpu_memory_settings: capacity defaults by GPU memory (MiB)
    if gpu_mem < 20 * 1024:
        chunk_default, bs_default = 2048, 8
    elif gpu_mem < 35 * 1024:
        chunk_default, bs_default = 4096, 48 if tp < 4 else 160
    elif gpu_mem < 60 * 1024:
        chunk_default, bs_default = 4096, 32 if tp < 4 else 160
    elif gpu_mem < 160 * 1024:  # H100, H200 (both: 8k, 256 / 512)
        chunk_default, bs_default = 8192, 256 if tp < 4 else 512
    else:  # B200, GB200, B300, MI300
        chunk_default, bs_default = 16384, 512
    chunk = d.get("chunked_prefill_size")
    chunk = chunk_default if chunk is None else chunk
    max_prefill = d.get("max_prefill_tokens") or DEFAULT_MAX_PREFILL_TOKENS
    explicit_bs = d.get("cuda_graph_max_bs_decode") or d.get("cuda_graph_max_bs")
    decode_bs = explicit_bs or bs_default
    mrr_flag = d.get("max_running_requests")
    if explicit_bs is None and mrr_flag is not None and decode_bs > mrr_flag:
        decode_bs = mrr_flag
    decode_graphs = (
        not (d.get("disable_cuda_graph") or d.get("disable_decode_cuda_graph")) and mode != "prefill"
    )
    a2a = (d.get("moe_a2a_backend") or "none") if model.is_moe else "none"
    # prefill breakable graphs are on by default on CUDA; cuda_graph_hook turns them off for
    # two-batch overlap and a2a backends other than none/deepep/megamoe/flashinfer, and for a
    # decode-role server (apply_cuda_graph_disaggregation_roles)
    prefill_graphs = (
        not (d.get("disable_cuda_graph") or d.get("disable_prefill_cuda_graph"))
        and d.get("cuda_graph_backend_prefill") != "disabled"
        and mode != "decode"
        and not d.get("enable_two_batch_overlap")
        and a2a in ("none", "deepep", "megamoe", "flashinfer")
    )
    mla = model.attention == "mla"

    mem_frac = d.get("mem_fraction_static")
    reserved = None
    if mem_frac is None:
        if mode == "decode":
            running = mrr_flag or decode_bs or 1
            draft = d.get("speculative_num_draft_tokens") or 1  # the flag's (auto-chosen later)
            activation_tokens = max(running * draft, 2048)
        elif chunk > 0:
            activation_tokens = max(chunk, 2048)
        else:
            activation_tokens = max(max_prefill, 2048)
        reserved = 512 + activation_tokens * 1.5 + tp * pp / 8 * 1024
        # reserve_for_graph_mb
        graph = 0.0
        if decode_graphs:
            graph += decode_bs * 2
        if attn_dp > 1 and mode != "prefill":
            graph += decode_bs * attn_dp * 3
            if decode_bs > 300:
                graph += decode_bs * attn_dp * 1.5
        if prefill_graphs:
            if not mla:
                prefill_max_bs = d.get("cuda_graph_max_bs_prefill") or (chunk if chunk > 0 else max_prefill)
                graph += _prefill_graph_sizes(prefill_max_bs) * 8
            else:
                graph += 1.5 * 1024
            if a2a == "deepep":
                graph += 1024
        reserved += graph
        if gpu_mem > 60 * 1024:
            reserved = max(reserved, 10 * 1024)
        if decode_graphs and a2a == "deepep":  # reserve_for_deepep_a2a_mb
            reserved += 2 * 1024
        mem_frac = round((gpu_mem - reserved) / gpu_mem, 3)

    # ---- parallel_hook.handle_data_parallelism: per-rank chunk
    per_rank_chunk = chunk // attn_dp if attn_dp > 1 and chunk > 0 else chunk

    # ---- speculative_hook._handle_eagle_family: 48 running requests unless given
    mrr = mrr_flag if mrr_flag is not None else (SPEC_MAX_RUNNING_REQUESTS if spec_keys else None)

    # ---- kv_cache_configurator: pool of one DP worker, then resolve_max_num_reqs
    kv_layers = model.layers + (model.mtp_layers if spec_keys else 0)  # the draft's KV cells too
    kv_tok = model.kv_bytes(kv_dtype) * kv_layers / model.layers
    kv_shard = shape.kv_shard(model)
    pool_bytes = mem_frac * gpu_mem * MIB - _weights_per_gpu(model, hw, precision, shape, spec)
    pool = int(max(0.0, pool_bytes) * kv_shard / kv_tok)
    if d.get("max_total_tokens"):
        pool = min(pool, d["max_total_tokens"])
    context = d.get("context_length") or model.max_context
    if mrr is not None:
        per_rank = min(max(1, mrr // attn_dp), pool // 2)
    else:
        est = max(min(int(pool / context * 512), 4096), 2048)
        per_rank = min(est, pool // 2)
    per_rank = max(per_rank, 0)
    graph_cap = min(decode_bs, per_rank) if decode_graphs else 0
    # The step model's prefill runs eagerly unless the flags ask for prefill graphs
    # (--cuda-graph-backend-prefill breakable|full): SGLang 0.5.23 turns breakable prefill graphs on
    # by default on CUDA (model_executor/cuda_graph_config.py default_prefill_backend), but every
    # public measurement the simulator is checked against (SGLang 0.5.3-0.5.12; DeepSeek on
    # trtllm_mla, which 0.5.23 also keeps eager) ran prefill eagerly, so eager stays the default
    # here; the memory they reserve is counted above either way. Up to --cuda-graph-max-bs-prefill
    # tokens (2048, cuda_graph_hook's documented prefill default).
    asked = d.get("cuda_graph_backend_prefill") in ("breakable", "full")
    prefill_graph_tokens = (d.get("cuda_graph_max_bs_prefill") or 2048) if asked and prefill_graphs else 0
    return ServerDerived(
        role=role,
        gpu_mem_mib=gpu_mem,
        mem_fraction_static=mem_frac,
        reserved_mem_mib=reserved,
        chunked_prefill_size=chunk,
        chunked_prefill_per_rank=per_rank_chunk,
        max_prefill_tokens=max_prefill,
        cuda_graph_max_bs=graph_cap,
        kv_pool_tokens_per_rank=pool,
        max_running_per_rank=per_rank,
        max_running_requests=per_rank * attn_dp,
        attn_dp=attn_dp,
        moe_a2a_backend=d.get("moe_a2a_backend") if model.is_moe else None,
        recv_interval=int(d.get("scheduler_recv_interval") or 1),
        prefill_graph_tokens=prefill_graph_tokens,
        spec=spec,
    )


__all__ = [
    "SGLANG_VERSION_READ",
    "ServerDerived",
    "add_sglang_flags",
    "derive",
    "flag_parser",
    "gpu_memory_mib",
    "parse_flags",
    "split_server_args",
]
