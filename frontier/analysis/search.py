"""Configuration search (``frontier search``): every label of the grammar that fits N GPUs,
predicted over a concurrency ladder in virtual time, ranked by the predicted Pareto frontier.

- :func:`enumerate_labels` (pure) lists the candidates for a model on N GPUs: single servers of
  TP, TEP, DEP, DPATP (DP-attention with TP MoE), SEP and DP over 1, 2, 4 ... N GPUs, and PD
  splits ``PxMODEp+DxMODEd`` (prefill TP/TEP/DEP/SEP, decode TP/TEP/DEP/DPATP; for a dense model
  TP/DPATP on both sides) with every prefill and decode worker count that fits N GPUs; expert
  modes only for a MoE model. ``EP`` / ``DPAEP`` are left out (SGLang cannot launch them: the
  label lacks their TP width). MTP on/off is not searched: neither the label grammar nor the
  simulator can express speculative decoding yet (:data:`MTP_NOTE`).
- :func:`search` drops labels whose weights and one request do not fit the GPUs
  (:func:`frontier.planning.memory.estimate_fit`), predicts each remaining label's ladder
  (:func:`frontier.sim.predict.predict_point`), applies the latency / interactivity limits, and
  returns the predicted frontier, the best configuration per interactivity band and the winners.
- :func:`winners_spec` is a sweep spec (a dict; YAML by the CLI) that measures the winners.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from frontier.analysis.pareto import pareto_front
from frontier.domain import catalog, labels, modes
from frontier.errors import FrontierError

SINGLE_MODES = ("TP", "TEP", "DEP", "DPATP", "SEP", "DP")
PREFILL_MODES = ("TP", "TEP", "DEP", "SEP")
DECODE_MODES = ("TP", "TEP", "DEP", "DPATP")
DENSE_PD_MODES = ("TP", "DPATP")
DEFAULT_LADDER = (1, 2, 4, 8, 16, 32, 64, 128, 256)
BANDS = (10.0, 20.0, 50.0, 100.0, 200.0)  # tok/s/user: the best configuration delivering at least this
MTP_NOTE = (
    "MTP on/off is not searched: the label grammar has no MTP axis, so every label is predicted "
    "without it (frontier predict ... --speculative mtp predicts one with it)"
)


@dataclass
class Candidate:
    label: str
    gpus: int
    points: list[dict[str, Any]] = field(default_factory=list)  # predicted points that meet the limits
    error: str | None = None  # why the label was dropped (does not fit, cannot be predicted ...)
    excluded: int = 0  # predicted points dropped by the limits


@dataclass
class SearchResult:
    model: str
    hardware: str
    precision: str
    gpus: int
    isl: int
    osl: int
    concurrencies: list[int]
    candidates: list[Candidate]
    frontier: list[dict[str, Any]]  # points on the overall predicted frontier, by tok/s/user
    bands: list[dict[str, Any]]  # per band: the best point with tok_s_user >= band
    enumerated: int
    limits: dict[str, float | None]
    notes: list[str]

    @property
    def winners(self) -> list[str]:
        """Labels with a point on the predicted frontier or best in a band, best first."""
        order: dict[str, float] = {}
        for p in self.frontier + [b for b in self.bands if b.get("label")]:
            order[p["label"]] = max(order.get(p["label"], 0.0), p["tok_s_gpu"])
        return sorted(order, key=lambda k: -order[k])

    def points(self) -> list[dict[str, Any]]:
        return [p for c in self.candidates for p in c.points]


def _powers_of_two(n: int) -> list[int]:
    out, k = [], 1
    while k <= n:
        out.append(k)
        k *= 2
    return out


def enumerate_labels(model: str, gpus: int, *, max_workers: int = 8) -> list[str]:
    """Every label of the grammar (canonical spelling) that uses at most ``gpus`` GPUs for
    ``model`` (expert-parallel modes only for a MoE model). Pure: no fit check, no prediction."""
    if not isinstance(gpus, int) or gpus < 1:
        raise FrontierError(f"--gpus must be a positive integer, got {gpus!r}")
    moe = catalog.get_model(model).is_moe
    ok = lambda mode: moe or not modes.MODES[mode].needs_moe
    sizes = _powers_of_two(gpus)
    out: list[str] = []
    for mode in SINGLE_MODES:
        if not ok(mode) or (mode == "SEP" and not moe):
            continue
        out += [f"{mode}{n}" for n in sizes if not (mode != "TP" and mode != "DP" and n == 1)]
    pre = PREFILL_MODES if moe else DENSE_PD_MODES
    dec = DECODE_MODES if moe else DENSE_PD_MODES
    for pm in pre:
        for pn in sizes:
            if pm != "TP" and pn == 1:
                continue
            for dm in dec:
                for dn in sizes:
                    if dm != "TP" and dn == 1:
                        continue
                    for pc in range(1, max_workers + 1):
                        for dc in range(1, max_workers + 1):
                            if pc * pn + dc * dn <= gpus:
                                out.append(f"{pc}x{pm}{pn}+{dc}x{dm}{dn}")
    return list(dict.fromkeys(labels.canonical(x) for x in out))


def fits(label: str, model: str, hardware: str, precision: str, isl: int, osl: int) -> str | None:
    """None when the label's weights and one request fit each GPU, else why not."""
    from frontier.planning.memory import check_fit

    try:
        check_fit(label, model, hardware, precision, isl=isl, osl=osl)
    except FrontierError as e:
        return str(e)
    return None


def _x(m: dict) -> float | None:
    v = m.get("tok_s_user")
    return float(v) if v is not None and math.isfinite(v) and v > 0 else None


def search(
    model: str,
    hardware: str,
    gpus: int,
    isl: int,
    osl: int,
    *,
    precision: str = "fp8",
    concurrencies: list[int] | tuple[int, ...] = DEFAULT_LADDER,
    max_ttft_p99_ms: float | None = None,
    min_tok_s_user: float | None = None,
    max_workers: int = 8,
    seed: int = 0,
    progress=None,
) -> SearchResult:
    """Predict every label that fits ``gpus`` GPUs of ``hardware`` over ``concurrencies``."""
    from frontier.domain.load import DEFAULT_LOAD
    from frontier.planning.engines import sglang_server_flags
    from frontier.sim.predict import predict_point

    try:
        spec = catalog.get_model(model)
        hw = catalog.get_hardware(hardware)
    except catalog.UnknownName as e:
        raise FrontierError(str(e)) from None
    for name, v in (("--isl", isl), ("--osl", osl)):
        if not isinstance(v, int) or v < 1:
            raise FrontierError(f"{name} must be a positive integer, got {v!r}")
    if isl + osl > spec.max_context:
        raise FrontierError(f"--isl {isl} + --osl {osl} exceeds {spec.name}'s context of {spec.max_context}")
    ladder = sorted({int(c) for c in concurrencies})
    if not ladder or ladder[0] < 1:
        raise FrontierError(f"--concurrencies must be positive integers, got {list(concurrencies)}")
    names = enumerate_labels(spec.name, gpus, max_workers=max_workers)
    cands: list[Candidate] = []
    for i, label in enumerate(names):
        d = labels.parse(label)
        cand = Candidate(label, d.gpus)
        cands.append(cand)
        cand.error = fits(label, spec.name, hw.name, precision, isl, osl)
        if cand.error:
            continue
        if progress:
            progress(f"[{i + 1}/{len(names)}] predicting {label}")
        # the flags the written spec's engine sglang would run (recipe), the spec's default load
        flags = sglang_server_flags(label, spec.name, hw.name, precision)
        for c in ladder:
            try:
                m = predict_point(
                    spec.name, hw.name, precision, label, isl, osl, c,
                    num_prompts=DEFAULT_LOAD.prompts_for(c), warmup=DEFAULT_LOAD.warmups_for(c), seed=seed,
                    range_ratio=DEFAULT_LOAD.range_ratio, server_flags=flags or None,
                )  # fmt: skip
            except FrontierError as e:
                if not cand.points:
                    cand.error = str(e)
                break
            x = _x(m)
            if x is None:
                continue
            p = {
                "label": label,
                "max_concurrency": c,
                "gpus": int(m["gpus"]),
                "tok_s_user": x,
                "tok_s_gpu": float(m["tok_s_gpu"]),
                "tok_s_gpu_output": float(m["tok_s_gpu_output"]),
                "median_ttft_ms": float(m.get("median_ttft_ms") or math.nan),
                "p99_ttft_ms": float(m.get("p99_ttft_ms") or math.nan),
                "median_tpot_ms": float(m.get("median_tpot_ms") or math.nan),
                "p99_tpot_ms": float(m.get("p99_tpot_ms") or math.nan),
                "duration": float(m.get("duration") or 0.0),
            }
            if (max_ttft_p99_ms is not None and not p["p99_ttft_ms"] <= max_ttft_p99_ms) or (
                min_tok_s_user is not None and x < min_tok_s_user
            ):
                cand.excluded += 1
                continue
            cand.points.append(p)
    allp = [p for c in cands for p in c.points]
    front_idx = pareto_front([(p["tok_s_user"], p["tok_s_gpu"]) for p in allp])
    frontier = [allp[i] for i in front_idx]
    for i, p in enumerate(allp):
        p["on_overall_frontier"] = i in set(front_idx)
    bands = []
    for b in BANDS:
        ok = [p for p in allp if p["tok_s_user"] >= b]
        best = max(ok, key=lambda p: p["tok_s_gpu"], default=None)
        bands.append({"band_tok_s_user": b, **(best or {})})
    notes = [
        MTP_NOTE,
        "EP and DPAEP are not searched: SGLang cannot launch them (their TP width is not in the label)",
    ]
    return SearchResult(
        model=spec.name,
        hardware=hw.name,
        precision=precision,
        gpus=gpus,
        isl=isl,
        osl=osl,
        concurrencies=ladder,
        candidates=cands,
        frontier=frontier,
        bands=bands,
        enumerated=len(names),
        limits={"max_ttft_p99_ms": max_ttft_p99_ms, "min_tok_s_user": min_tok_s_user},
        notes=notes,
    )


def scenario_name(isl: int, osl: int) -> str:
    """``1k1k`` style when both lengths are whole K tokens, else ``isl1000-osl64``."""
    if isl % 1024 == 0 and osl % 1024 == 0:
        return f"{isl // 1024}k{osl // 1024}k"
    return f"isl{isl}-osl{osl}"


def winners_spec(result: SearchResult, *, engine: str = "sglang", max_labels: int = 6) -> dict[str, Any]:
    """A sweep spec measuring the predicted winners (best first, at most ``max_labels``), over the
    concurrencies where they are on the frontier or best in a band, plus one step either side,
    with an adaptive ladder; ``frontier validate`` accepts it."""
    win = result.winners[:max_labels]
    if not win:
        raise FrontierError(
            "no label is predicted to meet the limits; relax --max-ttft-p99-ms / --min-tok-s-user or add GPUs"
        )
    ladder = result.concurrencies
    chosen: set[int] = set()
    for p in result.frontier + [b for b in result.bands if b.get("label")]:
        if p["label"] in win:
            i = ladder.index(p["max_concurrency"])
            chosen.update(ladder[max(0, i - 1) : i + 2])
    short = result.model.rsplit("/", 1)[-1]
    return {
        "name": f"search-{short}-{result.hardware}-{result.gpus}gpu-{scenario_name(result.isl, result.osl)}".replace(
            "/", "-"
        ),
        "description": (
            f"Winners of `frontier search` (predicted in virtual time) for {result.model} on {result.gpus} "
            f"x {result.hardware}, ISL {result.isl} / OSL {result.osl}: measure them"
        ),
        "engine": engine,
        "target": "local",
        "adaptive": True,
        "inventory": {result.hardware: result.gpus},
        "scenarios": [{"name": scenario_name(result.isl, result.osl), "isl": result.isl, "osl": result.osl}],
        "concurrencies": sorted(chosen),
        "matrix": [
            {"model": result.model, "hardware": result.hardware, "precision": result.precision, "labels": win}
        ],
    }
