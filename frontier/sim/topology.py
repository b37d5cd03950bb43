"""How a deployment label (or a set of SGLang flags) lays a model out on GPUs.

A :class:`ServerShape` is one SGLang server as the performance model sees it: how attention is
split (tensor parallel ``attn_tp`` inside each of ``attn_dp`` data-parallel attention ranks, or
context parallel for prefill), how MoE experts are split (``ep``), and how dense weights are
sharded. A :class:`Topology` is the whole deployment: ``count`` copies of a single server, or
prefill servers + decode servers (PD disaggregation, router implicit).
"""

from __future__ import annotations

from dataclasses import dataclass

from frontier.domain import labels
from frontier.domain.catalog import ModelSpec
from frontier.domain.modes import MODES
from frontier.errors import FrontierError


@dataclass(frozen=True)
class ServerShape:
    mode: str
    gpus: int
    attn_tp: int  # tensor-parallel degree of attention inside one attention rank
    attn_dp: int  # data-parallel attention ranks (DP-attention); each owns its batch and KV
    ep: int  # expert-parallel degree of MoE layers (1: experts sharded by TP instead)
    dense_shard: int  # how many ways dense (non-expert) weights are split
    cp: int = 1  # context-parallel degree of prefill (SEP)

    def kv_shard(self, model: ModelSpec) -> int:
        """How many GPUs share one token's KV inside an attention rank."""
        if model.attention == "mla":
            return self.cp  # one latent head: TP ranks replicate it
        return max(1, min(self.attn_tp, model.kv_heads)) * self.cp


@dataclass(frozen=True)
class ServerGroup:
    shape: ServerShape
    count: int
    role: str  # single | prefill | decode


@dataclass(frozen=True)
class Topology:
    label: str
    groups: tuple[ServerGroup, ...]

    @property
    def gpus(self) -> int:
        return sum(g.count * g.shape.gpus for g in self.groups)

    @property
    def disaggregated(self) -> bool:
        return any(g.role == "prefill" for g in self.groups)


def shape_of(mode: str, n: int, model: ModelSpec, label: str) -> ServerShape:
    """The server shape of one label group, from :data:`frontier.domain.modes.MODES`.

    ``n`` is the label's GPUs per server; for a replica mode (DPn) the shape is one replica of
    :meth:`ModeTraits.sim_servers` GPUs and the label's n becomes the server count.
    """
    t = MODES.get(mode)
    if t is None:
        raise FrontierError(f"label {label!r}: unknown mode {mode!r}")
    moe = model.is_moe
    if t.needs_moe and not moe and not t.sim_dense_ok:
        raise FrontierError(
            f"label {label!r}: {mode}{n} needs a MoE model (expert parallel) but {model.name} is dense; "
            f"use TP{n} or DP{n}"
        )
    gpus, _ = t.sim_servers(n)
    return ServerShape(
        mode,
        gpus,
        attn_tp=t.attn_tp(gpus),
        attn_dp=t.attn_dp(gpus),
        ep=t.ep(gpus, moe),
        dense_shard=t.dense_shard(gpus),
        cp=t.cp(gpus),
    )


def from_label(label: str, model: ModelSpec) -> Topology:
    """The topology of a deployment label; raises FrontierError with a one-line reason."""
    try:
        dep = labels.parse(label)
    except labels.LabelError as e:
        raise FrontierError(str(e)) from None
    groups = []
    for g in dep.groups:
        shape = shape_of(g.mode, g.gpus, model, label)
        count = g.count * g.traits.sim_servers(g.gpus)[1]
        groups.append(ServerGroup(shape, count, g.role))
    return Topology(str(dep), tuple(groups))


def from_server_flags(
    model: ModelSpec,
    tp: int = 1,
    dp: int = 1,
    ep: int = 1,
    dp_attention: bool = False,
    attn_dp: int | None = None,
    attn_cp: int = 1,
    prefill_cp: bool = False,
    role: str = "single",
) -> Topology:
    """The topology of one SGLang server from its flags (``--tp-size``, ``--ep-size``, ...)."""
    tp, dp, ep = max(1, tp), max(1, dp), max(1, ep)
    if attn_dp and attn_dp > 1:
        dp_attention, dp = True, attn_dp
    if prefill_cp and attn_cp > 1:
        mode = "SEP"
    elif dp_attention:
        mode = labels.mode_of(tp, ep, True)
    elif dp > 1 and tp == 1 and ep <= 1:
        mode = "DP"
    else:
        mode = labels.mode_of(tp, ep, False)
    t = MODES[mode]
    if not model.is_moe and t.needs_moe and not t.sim_dense_ok:  # experts flags on a dense model
        mode = "DPATP" if dp_attention else "TP"
        t = MODES[mode]
    n = dp if t.replicas else tp
    label = f"{mode}{n}"
    shape = shape_of(mode, n, model, label)
    if not t.dp_attention and dp > 1:  # dp replicas (DP) or dp replicas of a TP server
        return Topology(label, (ServerGroup(shape, dp, role),))
    return Topology(label, (ServerGroup(shape, 1, role),))
