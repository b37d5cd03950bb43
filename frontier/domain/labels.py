"""The deployment label grammar: ``TP8``, ``DEP8``, ``SEP4+1xDEP8``, ``2xTEP4+1xDEP16``.

    label      := group | disagg
    disagg     := [count "x"] group "+" count "x" group      # prefill side "+" decode side
    group      := mode gpus
    mode       := TP | DP | TEP | DEP | EP | DPAEP | DPATP | SEP

``parse`` returns a :class:`Deployment`; ``str(deployment)`` is the canonical label (the prefill
count is always written). ``parse(format(d)) == d`` for every valid deployment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from frontier.domain import modes as _modes
from frontier.domain.modes import ModeTraits

# the grammar tokens; what each mode means lives in frontier.domain.modes.MODES
Mode = Literal["TP", "DP", "TEP", "DEP", "EP", "DPAEP", "DPATP", "SEP"]
Role = Literal["single", "prefill", "decode"]
if set(get_args(Mode)) != set(_modes.MODES):  # pragma: no cover - a mode added to one side only
    raise ImportError(f"labels.Mode {get_args(Mode)} and modes.MODES {sorted(_modes.MODES)} disagree")
# longest first, so a regex alternation never stops at a prefix (DP before DPAEP)
MODES = tuple(sorted(_modes.MODES, key=lambda m: (-len(m), m)))

# modes whose MoE layers run expert parallel: they need a MoE model
EXPERT_PARALLEL_MODES = frozenset(m for m, t in _modes.MODES.items() if t.expert_parallel)
# modes whose attention runs data parallel (DP-attention)
DP_ATTENTION_MODES = frozenset(m for m, t in _modes.MODES.items() if t.dp_attention)

_MODE_RE = "|".join(MODES)
_GROUP_RE = rf"(?P<mode>{_MODE_RE})(?P<gpus>[1-9][0-9]*)"
_GROUP = re.compile(rf"^{_GROUP_RE}$")
_SIDE = re.compile(r"^(?:(?P<count>[1-9][0-9]*)x)?(?P<group>[A-Z]+[0-9]+)$")

MAX_GPUS = 4096


class LabelError(ValueError):
    """A label that does not follow the grammar; the message names the label and the fix."""


@dataclass(frozen=True)
class Group:
    """``count`` identical servers of one mode, each over ``gpus`` GPUs."""

    mode: Mode
    gpus: int
    count: int = 1
    role: Role = "single"

    @property
    def total_gpus(self) -> int:
        return self.count * self.gpus

    @property
    def traits(self) -> ModeTraits:
        """What this group's mode does (frontier.domain.modes.MODES)."""
        return _modes.MODES[self.mode]

    @property
    def expert_parallel(self) -> bool:
        return self.traits.expert_parallel

    @property
    def dp_attention(self) -> bool:
        return self.traits.dp_attention

    @property
    def needs_moe(self) -> bool:
        return self.traits.needs_moe

    def __str__(self) -> str:
        return f"{self.mode}{self.gpus}"


@dataclass(frozen=True)
class Deployment:
    """One deployment: a single group, or prefill groups + decode groups (PD disaggregation)."""

    groups: tuple[Group, ...]

    @property
    def disaggregated(self) -> bool:
        return len(self.groups) > 1

    @property
    def gpus(self) -> int:
        """Every GPU of the deployment, prefill included: the divisor of every per-GPU figure."""
        return sum(g.total_gpus for g in self.groups)

    @property
    def prefill(self) -> Group | None:
        return next((g for g in self.groups if g.role == "prefill"), None)

    @property
    def decode(self) -> Group:
        return next(g for g in self.groups if g.role in ("decode", "single"))

    @property
    def label(self) -> str:
        return str(self)

    @property
    def needs_moe(self) -> bool:
        return any(g.needs_moe for g in self.groups)

    def __str__(self) -> str:
        if not self.disaggregated:
            return str(self.groups[0])
        p, d = self.groups
        return f"{p.count}x{p}+{d.count}x{d}"


def _parse_group(text: str, label: str) -> tuple[str, int]:
    m = _GROUP.match(text)
    if not m:
        raise LabelError(
            f"label {label!r}: {text!r} is not MODE+GPUS; modes are {', '.join(sorted(MODES))} "
            f"(e.g. TP8, DEP8, SEP4+1xDEP8)"
        )
    gpus = int(m.group("gpus"))
    if gpus > MAX_GPUS:
        raise LabelError(f"label {label!r}: {gpus} GPUs in one group is above the limit of {MAX_GPUS}")
    return m.group("mode"), gpus


def parse(label: str) -> Deployment:
    """Parse a label; raises :class:`LabelError` naming the label and what is wrong."""
    if not isinstance(label, str) or not label.strip():
        raise LabelError("label is empty: write a deployment such as TP8, DEP8 or SEP4+1xDEP8")
    text = label.strip()
    parts = text.split("+")
    if len(parts) == 1:
        if "x" in text:
            raise LabelError(
                f"label {label!r}: a replica count ('Nx') is only for disaggregated labels "
                f"PREFILL+DECODE such as 2xTEP4+1xDEP8; for replicas of one server use DPn"
            )
        mode, gpus = _parse_group(text, label)
        return Deployment((Group(mode, gpus, 1, "single"),))  # type: ignore[arg-type]
    if len(parts) != 2:
        raise LabelError(
            f"label {label!r}: a disaggregated label has exactly one '+' (PREFILL+DECODE, e.g. SEP4+1xDEP8)"
        )
    groups = []
    for side, role in zip(parts, ("prefill", "decode")):
        m = _SIDE.match(side)
        if not m:
            raise LabelError(f"label {label!r}: {side!r} is not [COUNTx]MODE+GPUS (e.g. 2xTEP4)")
        if role == "decode" and m.group("count") is None:
            raise LabelError(
                f"label {label!r}: the decode side needs its server count, e.g. {parts[0]}+1x{side}"
            )
        count = int(m.group("count") or 1)
        if count > MAX_GPUS:
            raise LabelError(f"label {label!r}: {count} servers is above the limit of {MAX_GPUS}")
        mode, gpus = _parse_group(m.group("group"), label)
        groups.append(Group(mode, gpus, count, role))  # type: ignore[arg-type]
    return Deployment(tuple(groups))


def canonical(label: str) -> str:
    """The canonical spelling of a label (prefill count written): ``SEP4+1xDEP8`` -> ``1xSEP4+1xDEP8``."""
    return str(parse(label))


def mode_of(tp: int, ep: int, dp_attention: bool) -> str:
    """The InferenceX convention from (tp, ep, dp-attention) of one server."""
    if ep > 1 and tp == ep:
        return "DEP" if dp_attention else "TEP"
    if ep > 1:
        return "DPAEP" if dp_attention else "EP"
    return "DPATP" if dp_attention else "TP"
