"""Plan-time memory fit: does a label's model shard and one request's KV cache fit each GPU?

``check_fit(label, model, hardware, precision, isl=..., osl=...)`` returns a :class:`FitReport`
or raises :class:`FrontierError` naming the group, the need and the memory, e.g.
``DeepSeek-R1 bf16 does not fit TP8 on h100_sxm: needs ~170.0 GB per GPU, has 80 GB (70.4 GB
static at mem_fraction_static 0.88)``. ``estimate_fit`` returns the same report without raising.

Model per GPU, for one server of ``n`` GPUs (bytes per parameter from the precision):

- weights: non-expert parameters / attention-TP width + routed-expert parameters / expert
  width, both from :data:`frontier.domain.modes.MODES`. Attention-TP width is n for TP/TEP/EP,
  1 for DP and the DP-attention or context-parallel modes (DEP, DPATP, DPAEP, SEP replicate
  attention weights); expert width is n for every mode but DP (a DP replica holds the whole model).
- KV cache for one request: tokens x KV bytes per token / (KV heads split over attention TP,
  at most the model's KV heads; 1 for MLA) / context-parallel width (SEP). Prefill servers
  hold ``isl`` tokens, every other server ``isl + osl``.
- budget: ``hbm_gb x mem_fraction_static`` (SGLang's static pool: weights + KV); the rest is
  left for activations and CUDA graphs, as SGLang does. ``mem_fraction_static`` is one number
  or one per PD role (``{"prefill": 0.84, "decode": 0.83}``: what the recipe profiles launch).

With ``concurrency`` the report also says how many such requests the KV pool holds per server
(``max_requests``) and whether ``concurrency`` fits; that alone never raises, since SGLang
queues requests the pool cannot hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from frontier.domain.catalog import BYTES_PER_PARAM, ModelSpec, get_hardware, get_model
from frontier.domain.labels import Group, LabelError, parse
from frontier.errors import FrontierError

GB = 1e9


@dataclass
class GroupFit:
    role: str
    group: str  # e.g. "DEP8"
    gpus: int  # per server
    weights_gb: float  # per GPU
    kv_gb_one_request: float  # per GPU, the server's most loaded GPU
    needed_gb: float
    budget_gb: float
    hbm_gb: float
    kv_pool_gb: float  # budget left for KV per GPU (may be negative)
    max_requests: int  # requests of this length the server's KV pool holds (0 if none)
    fits: bool

    @property
    def headroom_gb(self) -> float:
        return self.budget_gb - self.needed_gb


@dataclass
class FitReport:
    label: str
    model: str
    hardware: str
    precision: str
    isl: int
    osl: int
    mem_fraction_static: float
    groups: list[GroupFit] = field(default_factory=list)
    concurrency: int | None = None

    @property
    def fits(self) -> bool:
        return all(g.fits for g in self.groups)

    @property
    def concurrency_fits(self) -> bool | None:
        """Whether ``concurrency`` requests fit the decode side's KV pool (None when not asked)."""
        if self.concurrency is None:
            return None
        return self.max_requests >= self.concurrency

    @property
    def max_requests(self) -> int:
        """Requests of isl+osl tokens the deployment's generating servers hold at once."""
        dep = parse(self.label)
        total = 0
        for gf, g in zip(self.groups, dep.groups):
            if g.role != "prefill":
                total += gf.max_requests * g.count
        return total


def _widths(group: Group, spec: ModelSpec) -> tuple[int, int, int]:
    """(attention TP width, expert/MLP shard width, context-parallel width) of one server."""
    n, t = group.gpus, group.traits
    return t.attn_tp(n), t.expert_shard(n), t.cp(n)


def _group_fit(
    group: Group, spec: ModelSpec, precision: str, hbm_gb: float, isl: int, osl: int, frac: float
) -> GroupFit:
    bpp = spec.weight_bytes(precision) / (spec.params_b * 1e9)  # bytes per parameter
    expert_b = spec.moe.expert_params_b if spec.moe else 0.0
    dense_b = spec.params_b - expert_b
    attn_tp, expert_w, cp = _widths(group, spec)
    if spec.is_moe:
        weights = (dense_b / attn_tp + expert_b / expert_w) * 1e9 * bpp
    else:  # dense: counted with attention's sharding (conservative for DPATP's TP MLP)
        weights = spec.params_b * 1e9 * bpp / attn_tp
    kv_split = (1 if spec.attention == "mla" else min(attn_tp, spec.kv_heads)) * cp
    tokens = isl if group.role == "prefill" else isl + osl
    kv_one = tokens * spec.kv_bytes(precision) / kv_split
    budget = hbm_gb * frac * GB
    need = weights + kv_one
    pool = budget - weights
    # DP-attention / DP servers spread requests over n ranks; TP servers hold each on every GPU
    ranks = group.traits.kv_ranks(group.gpus)
    max_req = max(0, int(pool // kv_one)) * ranks if kv_one > 0 else 0
    return GroupFit(
        role=group.role,
        group=str(group),
        gpus=group.gpus,
        weights_gb=weights / GB,
        kv_gb_one_request=kv_one / GB,
        needed_gb=need / GB,
        budget_gb=budget / GB,
        hbm_gb=hbm_gb,
        kv_pool_gb=pool / GB,
        max_requests=max_req,
        fits=need <= budget,
    )


def estimate_fit(
    label: str,
    model: str,
    hardware: str,
    precision: str,
    *,
    isl: int,
    osl: int,
    concurrency: int | None = None,
    mem_fraction_static: float | Mapping[str, float] = 0.88,
) -> FitReport:
    """The per-group memory picture of ``label``; never raises for a misfit."""
    try:
        dep = parse(label)
        spec = get_model(model)
        hw = get_hardware(hardware)
    except (LabelError, KeyError) as e:
        raise FrontierError(str(e)) from None
    if precision not in BYTES_PER_PARAM:
        raise FrontierError(f"precision {precision!r}: expected one of {', '.join(BYTES_PER_PARAM)}")
    if isl < 1 or osl < 0:
        raise FrontierError(f"isl {isl} / osl {osl}: need isl >= 1 and osl >= 0")
    fracs = (
        dict(mem_fraction_static)
        if isinstance(mem_fraction_static, Mapping)
        else dict.fromkeys(("single", "prefill", "decode"), mem_fraction_static)
    )
    for f in fracs.values():
        if not 0 < f <= 1:
            raise FrontierError(f"mem_fraction_static {f}: must be in (0, 1]")
    mem_fraction_static = min(fracs.get(g.role, 0.88) for g in dep.groups)
    report = FitReport(
        label=str(dep),
        model=spec.name,
        hardware=hw.name,
        precision=precision,
        isl=isl,
        osl=osl,
        mem_fraction_static=mem_fraction_static,
        concurrency=concurrency,
    )
    report.groups = [
        _group_fit(g, spec, precision, hw.hbm_gb, isl, osl, fracs.get(g.role, 0.88)) for g in dep.groups
    ]
    return report


def check_fit(
    label: str,
    model: str,
    hardware: str,
    precision: str,
    *,
    isl: int,
    osl: int,
    concurrency: int | None = None,
    mem_fraction_static: float | Mapping[str, float] = 0.88,
) -> FitReport:
    """:func:`estimate_fit`, raising :class:`FrontierError` when a request cannot fit a GPU."""
    report = estimate_fit(
        label,
        model,
        hardware,
        precision,
        isl=isl,
        osl=osl,
        concurrency=concurrency,
        mem_fraction_static=mem_fraction_static,
    )
    spec = get_model(model)
    if isl + osl > spec.max_context:
        raise FrontierError(
            f"{_short(spec.name)}: isl {isl} + osl {osl} = {isl + osl} tokens exceeds its context of "
            f"{spec.max_context}"
        )
    for g in report.groups:
        if not g.fits:
            side = f" ({g.role} side of {report.label})" if g.role != "single" else ""
            raise FrontierError(
                f"{_short(spec.name)} {precision} does not fit {g.group}{side} on {hardware}: needs "
                f"~{g.needed_gb:.1f} GB per GPU ({g.weights_gb:.1f} weights + {g.kv_gb_one_request:.2f} "
                f"KV for one {isl}+{osl} request), has {g.hbm_gb:g} GB ({g.budget_gb:.1f} static at "
                f"mem_fraction_static {g.budget_gb / g.hbm_gb:.2g}); use more GPUs, fp8/fp4, or more "
                f"expert parallelism"
            )
    return report


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]
