"""One table of what each parallelism mode means (shared/design/labels.md, Modes).

Every reader of a mode asks this table instead of testing ``mode == ...``: the label grammar
(:mod:`frontier.domain.labels`), the SGLang flags (:func:`frontier.planning.sglang_args.parallel_args`),
the plan-time memory fit (:mod:`frontier.planning.memory`) and the simulator's server shapes
(:mod:`frontier.sim.topology`). Adding a mode is one :data:`MODES` entry plus its grammar token
(the ``Mode`` literal in ``labels``).

For one server of mode ``m`` over ``n`` GPUs:

=======  =========  ========  ===========  ========  ========  ===============================
mode     attention  attn TP   attn ranks   experts   dense     SGLang 0.5.23
=======  =========  ========  ===========  ========  ========  ===============================
TP       tp         n         1            TP n      n         ``--tp-size n``
DP       replicas   1         n (servers)  whole     1         ``--dp-size n`` (one node)
TEP      tp         n         1            EP n      n         ``--tp-size n --ep-size n``
DEP      dp         1         n            EP n      1         ``--tp-size n --attn-dp-size n --ep-size n``
EP       tp         n         1            EP n      n         none (TP width not in the label)
DPAEP    dp         1         n            EP n      1         none (TP width not in the label)
DPATP    dp         1         n            TP n      n         ``--tp-size n --attn-dp-size n``
SEP      cp         1         1 (CP n)     EP n      n         ``--tp-size n --attn-cp-size n ...``
=======  =========  ========  ===========  ========  ========  ===============================

"attn TP" is the tensor-parallel width of attention inside one attention rank (attention
weights and KV heads split that many ways); "attn ranks" the independent attention ranks of one
server, each with its own batch and KV pool; "dense" how many ways the simulator splits the
non-expert weights (the memory fit conservatively splits them by attention TP only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Attention = Literal["tp", "dp", "cp", "replicas"]

N = "{n}"  # placeholder in a flag template: the group's GPUs per server


@dataclass(frozen=True)
class ModeTraits:
    """What one parallelism mode does with attention, MoE experts, memory and SGLang flags."""

    name: str
    # tp: attention tensor parallel n; dp: n DP-attention ranks (attention TP 1 each);
    # cp: context-parallel prefill over n (attention TP 1); replicas: n whole-model TP1 replicas
    attention: Attention
    expert_parallel: bool  # MoE experts split over the group (EP width n)
    needs_moe: bool  # a dense model is rejected (by the spec and SGLang)
    dense_alternative: tuple[str, ...]  # modes to suggest for a dense model ("TP", "DP")
    dense_sharded: bool  # the simulator splits dense (non-expert) weights n ways
    sglang: tuple[str, ...] | None  # SGLang flag template, "{n}" = GPUs per server; None: inexpressible
    sglang_unsupported: str = ""  # why SGLang cannot express it ({mode}, {n}, {version} filled in)
    one_node_only: str = ""  # non-empty: why one server of this mode cannot span nodes
    prefill_cp: bool = False  # context-parallel prefill (SGLang --enable-prefill-cp)
    sim_dense_ok: bool = False  # the simulator models it on a dense model (no experts to split)

    def __post_init__(self) -> None:
        if (self.sglang is None) != bool(self.sglang_unsupported):
            raise ValueError(f"mode {self.name}: give sglang flags or sglang_unsupported, exactly one")
        if self.needs_moe and not self.expert_parallel:
            raise ValueError(f"mode {self.name}: needs_moe without expert_parallel")
        if self.sim_dense_ok and not self.needs_moe:
            raise ValueError(f"mode {self.name}: sim_dense_ok only qualifies a mode that needs MoE")

    # ------------------------------------------------------------------ widths of one server of n GPUs

    @property
    def dp_attention(self) -> bool:
        """Attention runs data parallel (DP-attention): each rank owns its batch and KV."""
        return self.attention == "dp"

    @property
    def replicas(self) -> bool:
        """``n`` whole-model replicas of one GPU each (the simulator runs them as n servers)."""
        return self.attention == "replicas"

    def attn_tp(self, n: int) -> int:
        """Tensor-parallel width of attention inside one attention rank."""
        return n if self.attention == "tp" else 1

    def attn_dp(self, n: int) -> int:
        """DP-attention ranks inside one server."""
        return n if self.dp_attention else 1

    def kv_ranks(self, n: int) -> int:
        """Independent KV pools of one server: DP-attention ranks or replicas (1 for TP and CP)."""
        return n if self.attention in ("dp", "replicas") else 1

    def cp(self, n: int) -> int:
        """Context-parallel width of prefill (one token's KV is spread over it)."""
        return n if self.prefill_cp else 1

    def expert_shard(self, n: int) -> int:
        """How many ways routed-expert weights split (by EP or by MoE TP); a replica holds them all."""
        return 1 if self.replicas else n

    def ep(self, n: int, moe: bool) -> int:
        """Expert-parallel width (1: experts sharded by TP, or a dense model)."""
        return n if self.expert_parallel and moe else 1

    def dense_shard(self, n: int) -> int:
        """How many ways the simulator splits dense (non-expert) weights."""
        return n if self.dense_sharded else 1

    def sim_servers(self, n: int) -> tuple[int, int]:
        """(GPUs per simulated server, servers per label server): DPn runs as n TP1 servers."""
        return (1, n) if self.replicas else (n, 1)

    # ------------------------------------------------------------------ SGLang

    def sglang_flags(self, n: int) -> list[str] | None:
        """The SGLang parallelism flags of one server of ``n`` GPUs; None when SGLang cannot express it."""
        if self.sglang is None:
            return None
        return [a.replace(N, str(n)) for a in self.sglang]

    def unsupported_reason(self, n: int, version: str) -> str:
        """Why SGLang ``version`` cannot launch this mode over ``n`` GPUs (empty when it can)."""
        return self.sglang_unsupported.format(mode=self.name, n=n, version=version)


_EP_TP_MISSING = (
    "{mode}n means expert parallel n with a different TP width that the label does not give; "
    "SGLang {version} needs both. Use TEP{n} or DEP{n} (the simulated engine still models {mode})"
)

CP_STRATEGY = "zigzag"  # SGLang 0.5.23 rejects prefill CP without --cp-strategy at launch


def _table(*entries: ModeTraits) -> dict[str, ModeTraits]:
    return {t.name: t for t in entries}


MODES: dict[str, ModeTraits] = _table(
    ModeTraits(
        "TP",
        attention="tp",
        expert_parallel=False,
        needs_moe=False,
        dense_alternative=("TP",),
        dense_sharded=True,
        sglang=("--tp-size", N),
    ),
    ModeTraits(
        "DP",
        attention="replicas",
        expert_parallel=False,
        needs_moe=False,
        dense_alternative=("DP",),
        dense_sharded=False,
        sglang=("--dp-size", N),
        one_node_only="--dp-size replicas run inside one server on one node",
    ),
    ModeTraits(
        "TEP",
        attention="tp",
        expert_parallel=True,
        needs_moe=True,
        dense_alternative=("TP",),
        dense_sharded=True,
        sglang=("--tp-size", N, "--ep-size", N),
    ),
    ModeTraits(
        "DEP",
        attention="dp",
        expert_parallel=True,
        needs_moe=True,
        dense_alternative=("TP", "DP"),
        dense_sharded=False,
        sglang=("--tp-size", N, "--attn-dp-size", N, "--ep-size", N),
    ),
    ModeTraits(
        "EP",
        attention="tp",
        expert_parallel=True,
        needs_moe=True,
        dense_alternative=("TP",),
        dense_sharded=True,
        sglang=None,
        sglang_unsupported=_EP_TP_MISSING,
    ),
    ModeTraits(
        "DPAEP",
        attention="dp",
        expert_parallel=True,
        needs_moe=True,
        dense_alternative=("TP",),
        dense_sharded=False,
        sglang=None,
        sglang_unsupported=_EP_TP_MISSING,
    ),
    ModeTraits(
        "DPATP",
        attention="dp",
        expert_parallel=False,
        needs_moe=False,
        dense_alternative=("DPATP",),
        dense_sharded=True,
        sglang=("--tp-size", N, "--attn-dp-size", N),
    ),
    ModeTraits(
        "SEP",
        attention="cp",
        expert_parallel=True,
        needs_moe=True,
        dense_alternative=("TP",),
        dense_sharded=True,
        sglang=("--tp-size", N, "--attn-cp-size", N, "--enable-prefill-cp", "--cp-strategy", CP_STRATEGY)
        + ("--ep-size", N),
        prefill_cp=True,
        sim_dense_ok=True,
    ),
)


def traits(mode: str) -> ModeTraits:
    """The traits of ``mode``; KeyError naming the known modes."""
    try:
        return MODES[mode]
    except KeyError:
        raise KeyError(f"unknown parallelism mode {mode!r}; known: {', '.join(sorted(MODES))}") from None
