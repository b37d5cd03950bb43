"""The result-to-rows adapter: what one item's benchmark lands in each warehouse table.

Pure functions from a plan item and what happened to it (load generator results, failures,
the deployment) to rows shaped as :mod:`frontier.warehouse.schemas` declares them. Every text
that may carry a secret passes through :mod:`frontier.common.redact`.
"""

from __future__ import annotations

import json
import math
import os
import socket
from typing import TYPE_CHECKING, Any

from frontier.common.redact import redact_obj, redact_text
from frontier.domain import labels
from frontier.errors import FrontierError
from frontier.run.records import utcnow

if TYPE_CHECKING:
    from frontier.domain.spec import Spec
    from frontier.loadgen.result import PointResult
    from frontier.planning.planner import PlanItem

# predictions: the simulator's own figure for every point of the ladder
PREDICT_MAX_CONCURRENCY = 512


def key_cols(item: PlanItem) -> dict[str, Any]:
    return {
        "label": item.label,
        "model": item.model,
        "hardware": item.hardware,
        "precision": item.precision,
        "scenario": item.scenario["name"],
        "speculative": item.speculative,
    }


def failure_row(item: PlanItem, stage: str, reason: str, log_tail: str = "", concurrency=None) -> dict:
    return {
        **key_cols(item),
        "max_concurrency": concurrency,
        "stage": stage,
        "reason": reason,
        "log_tail": log_tail,
        "at": utcnow(),
    }


def audit_failure_row(quarantined: dict[str, str]) -> dict:
    """A ``failures`` row for a corrupt Parquet file moved to quarantine."""
    q = quarantined
    return {
        "label": "-",
        "model": "-",
        "hardware": "-",
        "precision": "-",
        "scenario": "-",
        "max_concurrency": None,
        "stage": "audit",
        "reason": redact_text(
            f"corrupt Parquet file quarantined: {q['file']} ({q['reason']}); moved to {q['quarantined_to']}"
        ),
        "log_tail": "",
        "at": utcnow(),
    }


def point_status(result: PointResult, max_error_rate: float) -> str:
    s = result.summary
    if s.get("status") == "failed":  # e.g. prompt tokens off the intended ones (loadgen.runner.prompt_check)
        return "failed"
    return (
        "ok" if (s.get("completed") or 0) > 0 and (s.get("error_rate") or 0.0) <= max_error_rate else "failed"
    )


def point_row(item: PlanItem, spec: Spec, result: PointResult, status: str) -> dict[str, Any]:
    """The ``points`` row of one ladder point (bench_serving's summary keys, plus where it ran)."""
    return {
        **key_cols(item),
        **result.summary,
        "isl": item.scenario["isl"],
        "osl": item.scenario["osl"],
        "gpus": item.gpus,
        "engine": spec.engine,
        "source": "frontier",
        "status": status,
        "max_concurrency": result.config.max_concurrency,
        "client_processes": result.config.client_processes,
    }


PREDICTED_SOURCE = "predicted"  # points.source of the predict engine's points (not measured)


def predicted_point_row(item: PlanItem, spec: Spec, m: dict[str, Any]) -> dict[str, Any]:
    """The ``points`` row of one point predicted in virtual time (:func:`predict_point`'s metrics):
    the same columns as a measured point, ``source`` ``predicted``, ``engine`` ``predict``."""
    from frontier.warehouse.schemas import POINTS

    keep = set(POINTS.names)
    row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items() if k in keep}
    completed, failed = int(m.get("completed") or 0), int(m.get("failed") or 0)
    row.update(
        {
            **key_cols(item),
            "isl": item.scenario["isl"],
            "osl": item.scenario["osl"],
            "gpus": item.gpus,
            "engine": spec.engine,
            "backend": None,
            "source": PREDICTED_SOURCE,
            "status": "ok" if completed > 0 else "failed",
            "max_concurrency": int(m["max_concurrency"]),
            "request_rate": None,
            "num_prompts": int(m.get("num_prompts") or 0),
            "warmup_requests": int(m.get("warmup_requests") or 0),
            "range_ratio": item.load.range_ratio,
            "ignore_eos": True,  # the simulator generates every drawn output length
            "completed": completed,
            "failed": failed,
            "error_rate": failed / (completed + failed) if completed + failed else 0.0,
            "client_limited": False,
            "client_processes": 0,
        }
    )
    return row


def skipped_row(item: PlanItem, concurrency: int, reason: str) -> dict:
    """A ``failures`` row of stage ``skipped``: an adaptive ladder chose not to measure the point."""
    return failure_row(item, "skipped", reason, "", concurrency)


def request_rows(item: PlanItem, result: PointResult) -> list[dict[str, Any]]:
    c = result.config.max_concurrency
    return [
        {**key_cols(item), "max_concurrency": c, **r, "error": redact_text(r.get("error"))}
        for r in result.requests
    ]


def point_failure_reason(
    summary: dict,
    max_error_rate: float,
    gone: str | None,
    first_err: str | None,
    point_error: str | None = None,
) -> str:
    failed, completed = summary.get("failed", 0) or 0, summary.get("completed", 0) or 0
    bad = summary.get("error_rate") or 0.0
    if completed and bad <= max_error_rate and not gone and point_error:
        return point_error  # the point's own verdict (e.g. prompt tokens off the intended ones)
    if completed == 0 and failed == 0:
        reason = "no measured request completed"
    elif bad <= max_error_rate:
        reason = (
            f"{failed} of {failed + completed} requests failed "
            f"({bad:.0%}, within max_error_rate {max_error_rate:.0%}) and the server went away"
        )
    else:
        reason = f"{failed} of {failed + completed} requests failed ({bad:.0%} > max_error_rate {max_error_rate:.0%})"
    if gone:
        reason += f"; {gone}"
    if first_err:
        reason += f"; first error: {first_err}"
    return reason


def deployment_row(
    item: PlanItem,
    spec: Spec,
    *,
    commands: list[list[str]],
    server_info: dict,
    engine_version: str,
    started,
    status: str,
    error: str | None,
) -> dict[str, Any]:
    return {
        **key_cols(item),
        "label_canonical": item.label_canonical,
        "isl": item.scenario["isl"],
        "osl": item.scenario["osl"],
        "gpus": item.gpus,
        "groups_json": json.dumps([g.__dict__ for g in labels.parse(item.label).groups]),
        "engine": spec.engine,
        "engine_version": engine_version,
        "commands_json": json.dumps(redact_obj(commands)),
        "server_info_json": json.dumps(redact_obj(server_info), default=str),
        "started_at": started,
        "ended_at": utcnow(),
        "status": status,
        "error": error,
        "worker": worker_name(),
    }


def worker_name() -> str:
    """Who runs this deployment: ``$FRONTIER_WORKER`` (set per worker of a fleet), else the host name."""
    return os.environ.get("FRONTIER_WORKER") or socket.gethostname()


def _server_flags(item: PlanItem, spec: Spec) -> dict[str, tuple[str, ...]]:
    """role -> the SGLang flags the item's servers run, or would (:func:`frontier.planning.engines.item_server_flags`)."""
    from frontier.planning.engines import item_server_flags

    return item_server_flags(item, spec)


def prediction_rows(item: PlanItem, spec: Spec) -> list[dict[str, Any]]:
    """``predictions`` rows of an item: :func:`frontier.sim.predict.predict_point` in virtual time
    for each concurrency of its ladder (up to ``PREDICT_MAX_CONCURRENCY``), with the item's load
    shape (prompts capped at ``DEFAULT_LOAD``'s 10 x C, min 20). A model that cannot predict a point says why in the
    row's ``error``. On a simulated engine with ``sim.time_scale`` F the figures are scaled as the
    simulated server runs (latencies / F, throughputs x F), so they compare with its measurement.
    """
    from frontier.domain.load import DEFAULT_LOAD
    from frontier.planning.engines import get_engine
    from frontier.sim import SIM_VERSION
    from frontier.sim.predict import predict_item_point

    simulated = get_engine(spec.engine).simulated
    scale = spec.sim.scale if simulated else 1.0
    # the per-role SGLang flags the item's commands carry (a simulated server runs the same recipe)
    server_flags = _server_flags(item, spec)
    rows = []
    for c in item.concurrencies:
        if c > PREDICT_MAX_CONCURRENCY:
            continue
        row: dict[str, Any] = {
            **key_cols(item),
            "isl": item.scenario["isl"],
            "osl": item.scenario["osl"],
            "max_concurrency": c,
            "gpus": item.gpus,
            "model_version": SIM_VERSION,
            "error": None,
        }
        try:
            n = min(item.num_prompts[c], DEFAULT_LOAD.prompts_for(c))
            m = predict_item_point(item, c, seed=spec.seed, num_prompts=n, flags=server_flags)
            row.update(
                gpus=int(m["gpus"]),
                ttft_ms=m.get("median_ttft_ms"),
                tpot_ms=m.get("median_tpot_ms"),
                itl_ms=m.get("median_itl_ms"),
                output_throughput=m.get("output_throughput"),
                total_token_throughput=m.get("total_token_throughput"),
                tok_s_gpu=m.get("tok_s_gpu"),
                tok_s_user=m.get("tok_s_user"),
                model_version=str(m.get("model_version") or SIM_VERSION),
            )
            if scale != 1.0:
                for k in ("ttft_ms", "tpot_ms", "itl_ms"):
                    row[k] = row[k] / scale if row[k] is not None else None
                for k in ("output_throughput", "total_token_throughput", "tok_s_gpu", "tok_s_user"):
                    row[k] = row[k] * scale if row[k] is not None else None
        except FrontierError as e:
            row["error"] = redact_text(str(e))
        except Exception as e:  # noqa: BLE001 - a prediction never fails the benchmark
            row["error"] = redact_text(f"{type(e).__name__}: {e}")
        for k, v in list(row.items()):
            if isinstance(v, float) and math.isnan(v):  # NaN -> null
                row[k] = None
        rows.append(row)
    return rows
