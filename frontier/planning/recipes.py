"""Recipe profiles: the SGLang settings public DeepSeek-R1 / dense-model recipes run, per model x
hardware x mode x PD role (x precision, x speculative), each entry citing its source.

:func:`resolve` folds every matching :data:`RECIPES` entry in table order (general first, then
more specific) into one :class:`~frontier.domain.tuning.ServerTuning` per server, plus the PD
transfer backend, the first bootstrap port and environment variables. The spec overrides any of
it with typed fields (``cluster.tuning`` then ``matrix[].tuning``, see
:mod:`frontier.domain.tuning`); ``cluster.recipes: false`` starts from nothing.

Sources (read 2026-12, the public repositories as stored by the search tools):

- ``IX-H200``: SemiAnalysisAI/InferenceX ``benchmarks/dsr1_fp8_h200.sh`` (DeepSeek-R1 FP8, H200,
  SGLang, aggregated): ``--trust-remote-code --disable-radix-cache --max-running-requests 512
  --cuda-graph-max-bs 512 --chunked-prefill-size 32768 --max-prefill-tokens 32768
  --mem-fraction-static 0.82`` (1k1k; 256/256 at 8k1k).
- ``IX-B200``: InferenceX ``benchmarks/dsr1_fp4_b200.sh`` (nvidia/DeepSeek-R1 FP4, B200):
  ``--cuda-graph-max-bs 256 --max-running-requests 256 --mem-fraction-static 0.85
  --kv-cache-dtype fp8_e4m3 --chunked-prefill-size 16384 --quantization modelopt_fp4
  --scheduler-recv-interval $SCHEDULER_RECV_INTERVAL`` (30 when CONC >= 16, else 10; likewise in
  ``dsr1_fp8_b200.sh`` / ``dsr1_fp8_b300.sh`` / ``dsr1_fp4_b300.sh``).
- ``IX-B200-MTP``: InferenceX ``benchmarks/dsr1_fp4_b200_mtp.sh``: as IX-B200 with 512 running
  requests / CUDA-graph batch, ``--max-prefill-tokens 16384`` and ``--speculative-algorithm EAGLE
  --speculative-num-steps 2 --speculative-num-draft-tokens 3 --speculative-eagle-topk 1``.
- ``IX-GB200-PD``: InferenceX ``.github/configs/srt-recipes/recipes/gb200-fp4/1k1k/pp8.yaml``
  (DeepSeek-R1 FP4 on GB200 NVL72, SGLang PD): prefill ``mem-fraction-static 0.84,
  chunked-prefill-size 65536, max-prefill-tokens 32768``; decode ``mem-fraction-static 0.83,
  moe-a2a-backend deepep, deepep-mode low_latency, ep-num-redundant-experts 64`` (64 ranks);
  both ``disaggregation-transfer-backend nixl, disaggregation-bootstrap-port 30001``,
  ``NCCL_MNNVL_ENABLE=1 NCCL_CUMEM_ENABLE=1 MC_FORCE_MNNVL=1``.
- ``SGL-PD``: sgl-project/sglang ``docs/advanced_features/pd_disaggregation.md`` "DeepSeek
  Multi-Node": ``--trust-remote-code --moe-a2a-backend deepep`` with DP attention on prefill and
  decode, ``--mem-fraction-static 0.8``, mooncake with ``--disaggregation-ib-device``.
- ``SGL-LSEP``: LMSYS "Deploying DeepSeek with PD Disaggregation and Large-scale Expert
  Parallelism" (SGLang large-scale EP recipe): DeepEP ``normal`` kernels on prefill,
  ``low_latency`` on decode (``auto`` picks per batch when one server does both), EPLB.

Deviations, on purpose: one setting per server for all scenarios (a server serves 1k1k and 8k1k
alike, so IX-H200's 512 is kept rather than its 8k1k value 256, and IX-B200's scheduler receive
interval is its value from concurrency 16 up, 30); ``--cuda-graph-max-bs`` is
written ``--cuda-graph-max-bs-decode`` (0.5.23 rejects the plain form as ambiguous); IX-GB200-PD's
64 redundant experts over 64 ranks become one per expert-parallel rank; kernel-backend choices
(``--attention-backend``, ``--moe-runner-backend``) are left to SGLang's defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from frontier.domain.labels import Group
from frontier.domain.tuning import ServerTuning

DEFAULT_TRANSFER_BACKEND = "mooncake"
DEFAULT_BOOTSTRAP_PORT = 8998

DEEPSEEK = ("deepseek-ai/DeepSeek-R1",)
HOPPER = ("h100_sxm", "h200_sxm")
BLACKWELL_HGX = ("b200_sxm", "b300_sxm")
NVL72 = ("gb200", "gb300")
BLACKWELL = BLACKWELL_HGX + NVL72


def _dep(g: Group) -> bool:
    """DP attention with expert-parallel MoE (DEPn): the DeepEP shape of SGL-PD / SGL-LSEP."""
    return g.traits.dp_attention and g.traits.expert_parallel


def _ep(g: Group) -> bool:
    return g.traits.expert_parallel


@dataclass(frozen=True)
class Recipe:
    """One profile entry: settings for the servers it matches (``None`` = any)."""

    source: str
    tuning: ServerTuning = field(default_factory=ServerTuning)
    models: tuple[str, ...] | None = None
    hardware: tuple[str, ...] | None = None
    precisions: tuple[str, ...] | None = None
    roles: tuple[str, ...] | None = None
    group: Callable[[Group], bool] | None = None
    speculative: bool | None = None  # match only with (True) / without (False) speculative decoding
    disaggregated: bool | None = None  # match only PD (True) / aggregated (False) deployments
    transfer_backend: str | None = None
    bootstrap_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    def matches(self, *, model, hardware, precision, role, group, speculative, disaggregated) -> bool:
        return (
            (self.models is None or model in self.models)
            and (self.hardware is None or hardware in self.hardware)
            and (self.precisions is None or precision in self.precisions)
            and (self.roles is None or role in self.roles)
            and (self.group is None or self.group(group))
            and (self.speculative is None or self.speculative == speculative)
            and (self.disaggregated is None or self.disaggregated == disaggregated)
        )


RECIPES: tuple[Recipe, ...] = (
    # every InferenceX SGLang script: random prompts share no prefix, so the radix cache only costs
    Recipe("IX-H200, IX-B200, SGL-PD", ServerTuning(trust_remote_code=True, disable_radix_cache=True)),
    # ---------------------------------------------------------------- DeepSeek-R1, aggregated
    Recipe(
        "IX-H200",
        ServerTuning(
            mem_fraction_static=0.82,
            chunked_prefill_size=32768,
            max_prefill_tokens=32768,
            max_running_requests=512,
            cuda_graph_max_bs=512,
        ),
        models=DEEPSEEK,
        hardware=HOPPER,
        disaggregated=False,
    ),
    Recipe(
        "IX-B200",
        ServerTuning(
            mem_fraction_static=0.85,
            chunked_prefill_size=16384,
            max_prefill_tokens=16384,
            max_running_requests=256,
            cuda_graph_max_bs=256,
            scheduler_recv_interval=30,
        ),
        models=DEEPSEEK,
        hardware=BLACKWELL,
        disaggregated=False,
    ),
    Recipe(
        "IX-B200-MTP",
        ServerTuning(max_running_requests=512, cuda_graph_max_bs=512),
        models=DEEPSEEK,
        hardware=BLACKWELL,
        disaggregated=False,
        speculative=True,
    ),
    # DEP in one server does prefill and decode: DeepEP picks its kernels per batch (SGL-LSEP)
    Recipe(
        "SGL-PD, SGL-LSEP",
        ServerTuning(moe_a2a_backend="deepep", deepep_mode="auto"),
        models=DEEPSEEK,
        roles=("single",),
        group=_dep,
    ),
    # ---------------------------------------------------------------- DeepSeek-R1, PD disaggregated
    Recipe(
        "SGL-PD",
        ServerTuning(mem_fraction_static=0.8),
        models=DEEPSEEK,
        disaggregated=True,
        transfer_backend="mooncake",
        bootstrap_port=DEFAULT_BOOTSTRAP_PORT,
    ),
    Recipe(
        "IX-H200 (prefill chunking)",
        ServerTuning(chunked_prefill_size=32768, max_prefill_tokens=32768),
        models=DEEPSEEK,
        hardware=HOPPER,
        roles=("prefill",),
    ),
    Recipe(
        "IX-H200 (decode batch caps)",
        ServerTuning(max_running_requests=512, cuda_graph_max_bs=256),
        models=DEEPSEEK,
        hardware=HOPPER,
        roles=("decode",),
    ),
    Recipe(
        "SGL-PD, SGL-LSEP (prefill: DeepEP normal kernels)",
        ServerTuning(moe_a2a_backend="deepep", deepep_mode="normal"),
        models=DEEPSEEK,
        roles=("prefill",),
        group=_dep,
    ),
    Recipe(
        "SGL-PD, SGL-LSEP (decode: DeepEP low-latency kernels)",
        ServerTuning(moe_a2a_backend="deepep", deepep_mode="low_latency"),
        models=DEEPSEEK,
        roles=("decode",),
        group=_dep,
    ),
    Recipe(
        "IX-B200 (Blackwell HGX PD: IX-B200's chunking and caps per role)",
        ServerTuning(chunked_prefill_size=16384, max_prefill_tokens=16384),
        models=DEEPSEEK,
        hardware=BLACKWELL_HGX,
        roles=("prefill",),
    ),
    Recipe(
        "IX-B200 (decode caps)",
        ServerTuning(max_running_requests=512, cuda_graph_max_bs=256),
        models=DEEPSEEK,
        hardware=BLACKWELL,
        roles=("decode",),
    ),
    Recipe(
        "IX-GB200-PD (prefill)",
        ServerTuning(mem_fraction_static=0.84, chunked_prefill_size=65536, max_prefill_tokens=32768),
        models=DEEPSEEK,
        hardware=NVL72,
        roles=("prefill",),
        transfer_backend="nixl",
        bootstrap_port=30001,
        env={"NCCL_MNNVL_ENABLE": "1", "NCCL_CUMEM_ENABLE": "1", "MC_FORCE_MNNVL": "1"},
    ),
    Recipe(
        "IX-GB200-PD (decode)",
        ServerTuning(mem_fraction_static=0.83),
        models=DEEPSEEK,
        hardware=NVL72,
        roles=("decode",),
        transfer_backend="nixl",
        bootstrap_port=30001,
        env={"NCCL_MNNVL_ENABLE": "1", "NCCL_CUMEM_ENABLE": "1", "MC_FORCE_MNNVL": "1"},
    ),
)

# IX-GB200-PD's decode EPLB (ep-num-redundant-experts 64 over 64 ranks): one redundant expert per
# expert-parallel rank, with --enable-eplb to place them (SGL-LSEP); applied in resolve()
EPLB_DECODE_HARDWARE = NVL72


@dataclass
class Resolved:
    """What the recipes give one server."""

    tuning: ServerTuning
    sources: list[str]
    transfer_backend: str | None
    bootstrap_port: int | None
    env: dict[str, str]


def resolve(
    *,
    model: str,
    hardware: str,
    precision: str,
    role: str,
    group: Group,
    speculative: bool,
    disaggregated: bool,
) -> Resolved:
    """Every matching entry of :data:`RECIPES`, folded in table order."""
    out = Resolved(ServerTuning(), [], None, None, {})
    for r in RECIPES:
        if not r.matches(
            model=model,
            hardware=hardware,
            precision=precision,
            role=role,
            group=group,
            speculative=speculative,
            disaggregated=disaggregated,
        ):
            continue
        out.tuning = out.tuning.merged(r.tuning)
        out.sources.append(r.source)
        out.transfer_backend = r.transfer_backend or out.transfer_backend
        out.bootstrap_port = r.bootstrap_port or out.bootstrap_port
        out.env.update(r.env)
    if model in DEEPSEEK and hardware in EPLB_DECODE_HARDWARE and role == "decode" and _dep(group):
        out.tuning = out.tuning.merged(ServerTuning(enable_eplb=True, ep_num_redundant_experts=group.gpus))
        out.sources.append("IX-GB200-PD (decode EPLB, one redundant expert per rank)")
    return out
