"""Which points of a ladder run, and how: adaptive ladders (skip points predicted dominated,
refine where the frontier bends, stop a label that fell off it) and the predict engine's ladder
(every point predicted in virtual time, landed as a point marked predicted).

Called by :func:`frontier.run.item.bench_item`; the decisions are
:class:`frontier.planning.adaptive.AdaptiveLadder`'s, the rows :mod:`frontier.run.rows`'.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from frontier.domain.spec import Spec
from frontier.errors import FrontierError
from frontier.planning.planner import PlanItem
from frontier.run import rows
from frontier.run.records import RunContext

if TYPE_CHECKING:
    from frontier.run.item import ItemRun

log = logging.getLogger("frontier.run")


def group_predictions(item: PlanItem, spec: Spec) -> dict[str, dict[int, tuple[float, float]]]:
    """Predicted (tok/s/user, tok/s/GPU) of every ladder point of every label in ``item``'s group
    (same model, hardware, precision and scenario), as :func:`rows.prediction_rows` figures them."""
    from frontier.planning.planner import plan

    key = (spec.spec_hash(), *(v for k, v in rows.key_cols(item).items() if k != "label"))
    if key in _GROUP_PREDICTIONS:  # one process runs every item of a sweep: predict each group once
        return {k: dict(v) for k, v in _GROUP_PREDICTIONS[key].items()}
    out: dict[str, dict[int, tuple[float, float]]] = {}
    for other in plan(spec):
        if rows.key_cols(other) | {"label": ""} != rows.key_cols(item) | {"label": ""}:
            continue
        pts = out.setdefault(other.label, {})
        for r in rows.prediction_rows(other, spec):
            if r.get("error") is None and r.get("tok_s_user") and r.get("tok_s_gpu"):
                pts[int(r["max_concurrency"])] = (float(r["tok_s_user"]), float(r["tok_s_gpu"]))
    if len(_GROUP_PREDICTIONS) >= 64:
        _GROUP_PREDICTIONS.clear()
    _GROUP_PREDICTIONS[key] = {k: dict(v) for k, v in out.items()}
    return out


_GROUP_PREDICTIONS: dict[tuple, dict[str, dict[int, tuple[float, float]]]] = {}


def measured_so_far(item: PlanItem, ctx: RunContext):
    """The ok points other labels of ``item``'s group landed in this run so far (adaptive refs)."""
    from frontier.planning.adaptive import Ref
    from frontier.warehouse import connect

    k = rows.key_cols(item)
    try:
        con = connect(ctx.warehouse)
        try:
            got = con.execute(
                "select label, max_concurrency, median_tpot_ms, total_token_throughput / gpus "
                "from points where run_id = ? and model = ? and hardware = ? and precision = ? "
                "and scenario = ? and label <> ? and status = 'ok' and median_tpot_ms > 0",
                [ctx.run_id, k["model"], k["hardware"], k["precision"], k["scenario"], k["label"]],
            ).fetchall()
        finally:
            con.close()
    except Exception as e:  # noqa: BLE001 - no points landed yet (or no warehouse): predictions only
        log.debug("adaptive: no measured points yet (%s)", e)
        return []
    return [Ref(str(lab), int(c), 1000.0 / float(t), float(y), True) for lab, c, t, y in got]


def ladder_order(run: ItemRun):
    """(the concurrencies to run, the :class:`AdaptiveLadder` deciding them or None)."""
    item, spec = run.item, run.spec
    if not spec.adaptive:
        return list(item.concurrencies), None
    from frontier.planning.adaptive import AdaptiveLadder

    def predict_one(c: int):
        one = item.model_copy(update={"concurrencies": [c], "num_prompts": {c: item.load.prompts_for(c)},
                                      "warmup_requests": {c: item.load.warmups_for(c)}})  # fmt: skip
        r = rows.prediction_rows(one, spec)
        if r and r[0].get("error") is None and r[0].get("tok_s_user") and r[0].get("tok_s_gpu"):
            return (float(r[0]["tok_s_user"]), float(r[0]["tok_s_gpu"]))
        return None

    ad = AdaptiveLadder(
        label=item.label,
        ladder=list(item.concurrencies),
        predicted=group_predictions(item, spec),
        measured_others=measured_so_far(item, run.ctx),
        margin=spec.adaptive_margin,
        predict=predict_one,
    )
    return ad, ad


def record_skips(run: ItemRun, adaptive) -> None:
    """One ``failures`` row (stage ``skipped``) per concurrency the adaptive ladder did not measure."""
    for k in adaptive.skipped:
        run.failures.append(rows.skipped_row(run.item, k.c, k.reason))
        run.say(f"{run.item.name}: c={k.c} skipped: {k.reason}")
    if adaptive.refined:
        run.say(f"{run.item.name}: adaptive refinement measured c={', '.join(map(str, adaptive.refined))}")


def predict_ladder(run: ItemRun) -> None:
    """The predict engine's ladder: each point by :func:`frontier.sim.predict.predict_point` in
    virtual time (the item's load shape and seed), landed as a ``points`` row marked predicted.
    A point the model cannot predict (e.g. the label does not fit) is a failed point with the reason."""
    from frontier.sim.predict import predict_item_point

    item, spec, outcome = run.item, run.spec, run.outcome
    assert outcome is not None
    order, adaptive = ladder_order(run)
    flags = rows._server_flags(item, spec)  # the recipe engine sglang would run
    for c in order:
        n = item.num_prompts.get(c) or item.load.prompts_for(c)
        w = item.warmup_requests.get(c, item.load.warmups_for(c))
        try:
            m = predict_item_point(item, c, seed=spec.seed, num_prompts=n, flags=flags, warmup=w)
        except FrontierError as e:
            outcome.points_failed += 1
            run.failures.append(rows.failure_row(item, "point", f"predicted: {e}", "", c))
            run.say(f"{item.name}: c={c} cannot be predicted: {e}")
            if adaptive is not None:
                adaptive.record(c, None)
            continue
        row = rows.predicted_point_row(item, spec, {**m, "warmup_requests": w})
        run.points.append(row)
        tps = row.get("total_token_throughput") or 0.0
        tps = tps / item.gpus
        outcome.points_ok += 1
        outcome.best_tok_s_gpu = max(outcome.best_tok_s_gpu or 0.0, tps)
        if adaptive is not None:
            tpot = row.get("median_tpot_ms") or 0.0
            adaptive.record(c, (1000.0 / tpot, tps) if tpot > 0 else None)
        run.say(
            f"{item.name}: c={c} predicted  {tps:,.0f} tok/s/GPU  "
            f"median TPOT {row.get('median_tpot_ms') or float('nan'):.1f} ms"
        )
    if adaptive is not None:
        record_skips(run, adaptive)
