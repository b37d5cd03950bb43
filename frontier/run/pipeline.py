"""The benchmark pipeline in plain Python: start a run, benchmark each plan item, finish.

Airflow tasks (operators/) and ``frontier run`` both call these functions, so the DAG and the
CLI produce the same warehouse. Every landing is per item (its own Parquet part), so parallel
mapped tasks never clobber each other and a retried item replaces only its own rows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from frontier.common.redact import redact_obj, redact_text
from frontier.domain import labels
from frontier.domain.spec import Spec
from frontier.errors import FrontierError
from frontier.planning.planner import PlanItem

log = logging.getLogger("frontier.run.pipeline")

ITEM_STATUSES = ("success", "partial", "failed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def code_version() -> str:
    """The git sha of the checkout this code runs from (``unknown`` outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@dataclass
class RunContext:
    run_id: str
    run_date: dt.date
    warehouse: str
    artifacts: str
    trigger: str = "cli"
    triggered_by: str = ""

    def item_dir(self, item: PlanItem) -> Path:
        return Path(self.artifacts) / _safe(self.run_id) / item.key


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)


def _wh(ctx: RunContext):
    from frontier.warehouse import Warehouse

    return Warehouse(ctx.warehouse)


def _runs_row(
    ctx: RunContext, spec: Spec, status: str, started: dt.datetime, ended=None, engine_version: str = ""
) -> dict[str, Any]:
    return {
        "trigger": ctx.trigger,
        "triggered_by": ctx.triggered_by,
        "spec_name": spec.name,
        "spec_hash": spec.spec_hash(),
        "spec_yaml": yaml.safe_dump(redact_obj(spec.model_dump(mode="json")), sort_keys=False),
        "code_version": code_version(),
        "engine": spec.engine,
        "engine_version": engine_version,
        "started_at": started,
        "ended_at": ended,
        "status": status,
    }


def start_run(spec: Spec, ctx: RunContext) -> None:
    """Record the run as running. A rerun of the same run id first removes its old results."""
    wh = _wh(ctx)
    wh.clear_run(ctx.run_id)
    wh.write("runs", [_runs_row(ctx, spec, "running", utcnow())], run_id=ctx.run_id, run_date=ctx.run_date)


def _key_cols(item: PlanItem) -> dict[str, Any]:
    return {
        "label": item.label,
        "model": item.model,
        "hardware": item.hardware,
        "precision": item.precision,
        "scenario": item.scenario["name"],
    }


def _failure(item: PlanItem, stage: str, reason: str, log_tail: str = "", concurrency=None) -> dict:
    return {
        **_key_cols(item),
        "max_concurrency": concurrency,
        "stage": stage,
        "reason": reason,
        "log_tail": log_tail,
        "at": utcnow(),
    }


class _PlanFailure(FrontierError):
    """The item cannot run at all (e.g. it does not fit the GPUs); nothing is launched."""


@dataclass
class ItemOutcome:
    key: str
    label: str
    scenario: str
    status: str
    points_ok: int = 0
    points_failed: int = 0
    best_tok_s_gpu: float | None = None
    engine_version: str = ""
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _point_failure_reason(summary: dict, spec: Spec, gone: str | None, first_err: str | None) -> str:
    failed, completed = summary.get("failed", 0) or 0, summary.get("completed", 0) or 0
    bad = summary.get("error_rate") or 0.0
    if completed == 0 and failed == 0:
        reason = "no measured request completed"
    else:
        reason = (
            f"{failed} of {failed + completed} requests failed "
            f"({bad:.0%} > max_error_rate {spec.max_error_rate:.0%})"
        )
        if bad <= spec.max_error_rate:
            reason = (
                f"{failed} of {failed + completed} requests failed "
                f"({bad:.0%}, within max_error_rate {spec.max_error_rate:.0%}) and the server went away"
            )
    if gone:
        reason += f"; {gone}"
    if first_err:
        reason += f"; first error: {first_err}"
    return reason


def _write_artifact(workdir: Path, outcome: ItemOutcome, failures: list[dict]) -> None:
    """``<artifacts>/<run>/<item>/outcome.json`` beside the server logs (best effort)."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        body = {
            **outcome.to_dict(),
            "failure_rows": [
                {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in f.items()}
                for f in failures
            ],
        }
        (workdir / "outcome.json").write_text(json.dumps(body, indent=2, default=str))
    except OSError as e:  # artifacts are a convenience: never fail the item for them
        log.warning("cannot write %s/outcome.json: %s", workdir, e)


@dataclass
class ItemRun:
    """One item between its launch, its ladder and its landing.

    ``launch_item`` -> (``resume_item`` + ``ready_item`` after a deferral) -> ``bench_item`` ->
    ``stop_item``; :func:`run_item` composes them in one process. Between a deferred launch and
    its resumption the item travels as :meth:`to_json` (plain JSON: the start time and the
    deployment's handle: target, plan, process ids / pods, log paths).
    """

    item: PlanItem
    spec: Spec
    ctx: RunContext
    started: dt.datetime
    progress: Callable[[str], None] | None = None
    dep: Any = None  # the deployment once launched (or attached)
    launching: Any = None  # the deployment as soon as it has processes (a launch may still fail)
    points: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    error: str | None = None  # why the deployment never ran its ladder
    outcome: ItemOutcome | None = None

    def __post_init__(self) -> None:
        if self.outcome is None:
            self.outcome = ItemOutcome(self.item.key, self.item.label, self.item.scenario["name"], "failed")

    @property
    def workdir(self) -> Path:
        return self.ctx.item_dir(self.item)

    def say(self, msg: str) -> None:
        (self.progress or (lambda m: log.info("%s", m)))(redact_text(msg))

    def fail(self, stage: str, reason: str, log_tail: str = "", *, what: str = "launch FAILED") -> None:
        """The deployment cannot run its ladder: one failure row, the item's error."""
        self.error = reason
        self.failures.append(_failure(self.item, stage, reason, log_tail))
        self.say(f"{self.item.name}: {what}: {reason}")

    def deployment(self) -> Any:
        return self.dep if self.dep is not None else self.launching

    def stop_deployment(self, reason: str) -> None:
        d = self.deployment()
        if d is not None:
            d.stop(reason=reason)

    def healthy(self) -> None:
        self.outcome.engine_version = self.dep.engine_version
        self.say(
            f"{self.item.name}: healthy at {self.dep.base_url} (engine version {self.dep.engine_version})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "item_key": self.item.key,
            "started": self.started.isoformat(),
            "deployment": self.dep.to_handle() if self.dep is not None else None,
        }


def launch_item(
    item: PlanItem,
    spec: Spec,
    ctx: RunContext,
    *,
    progress: Callable[[str], None] | None = None,
    on_started: Callable[[Any], None] | None = None,
    launch_attempts: int = 1,
    retry_delay_s: float = 2.0,
    wait: bool = True,
) -> ItemRun:
    """Launch one item's deployment. Never raises for a launch failure: it is recorded in the
    returned run (``run.error``), whose :func:`stop_item` lands it.

    ``wait=True``: until healthy (``spec.ready_timeout_s``), retried ``launch_attempts`` times in
    all. ``wait=False``: every process is started and the call returns at once (the deferrable
    path): poll ``run.dep.ready_urls()`` elsewhere, keep ``run.to_json()``, and continue with
    :func:`resume_item` + :func:`ready_item`. Engine ``endpoint`` always attaches at once.
    ``on_started(dep)`` gets the deployment as soon as its processes exist (for ``on_kill``).
    """
    from frontier.launch.engines import LaunchError, launch, start

    run = ItemRun(item, spec, ctx, utcnow(), progress)

    def started_cb(d) -> None:
        run.launching = d
        if on_started:
            on_started(d)

    try:
        if item.fit_error and spec.engine == "sglang":
            raise _PlanFailure(item.fit_error)
        attempts = 1 if not wait else max(1, int(launch_attempts))
        for attempt in range(1, attempts + 1):
            run.say(
                f"{item.name}: launching {spec.engine} deployment on {item.gpus} GPU(s)"
                + (f" on {spec.target}" if spec.target != "local" else "")
                + (f" (attempt {attempt} of {attempts})" if attempts > 1 else "")
            )
            try:
                if wait or spec.engine == "endpoint":
                    run.dep = launch(item, spec, run.workdir, on_started=started_cb)
                else:
                    run.dep = start(item, spec, run.workdir, on_started=started_cb)
                break
            except LaunchError as e:
                stopped = getattr(run.launching, "stopped", None)
                if stopped:
                    raise LaunchError(f"{e}; {stopped}", e.log_tail, e.stage) from None
                if attempt == attempts:
                    if attempts > 1:
                        raise LaunchError(
                            f"{e} (failed {attempts} launch attempts)", e.log_tail, e.stage
                        ) from None
                    raise
                run.say(f"{item.name}: launch attempt {attempt} failed, retrying in {retry_delay_s:g} s: {e}")
                time.sleep(retry_delay_s)
        if wait or spec.engine == "endpoint":
            run.healthy()
        else:
            run.say(
                f"{item.name}: {len(run.dep.processes)} process(es) started; waiting for "
                f"{', '.join(run.dep.ready_urls())}"
            )
    except _PlanFailure as e:
        run.fail("plan", str(e), what="not launched")
    except LaunchError as e:
        run.fail(e.stage, str(e), e.log_tail)
    except FrontierError as e:
        run.fail("launch", str(e), what="FAILED")
    except BaseException:
        run.stop_deployment("deployment stopped (task killed or shut down)")
        raise
    if run.error is not None and run.launching is not None:
        run.launching.stop(reason="deployment stopped after a failed launch")
    return run


def resume_item(
    item: PlanItem,
    spec: Spec,
    ctx: RunContext,
    state: dict[str, Any],
    *,
    progress: Callable[[str], None] | None = None,
    on_started: Callable[[Any], None] | None = None,
) -> ItemRun:
    """The run of ``ItemRun.to_json()`` in a resumed task: its deployment attached by handle."""
    from frontier.launch.engines import attach

    if state.get("item_key") not in (None, item.key):
        raise FrontierError(f"resumed state is for {state.get('item_key')!r}, not {item.key!r}")
    run = ItemRun(item, spec, ctx, dt.datetime.fromisoformat(state["started"]), progress)
    if state.get("deployment"):
        run.dep = run.launching = attach(state["deployment"])
        if on_started:
            on_started(run.dep)
    return run


def ready_item(run: ItemRun, event: dict[str, Any] | None) -> None:
    """Act on the readiness trigger's event: ready -> healthy (engine version); timeout or error
    -> a launch failure (stage ``readiness`` / ``launch``) with the servers' log tails, and the
    deployment is stopped. A process that died meanwhile is a launch failure too."""
    ev = event or {}
    dep = run.dep
    if dep is None:
        return
    from frontier.launch.engines import LaunchError

    status = ev.get("status")
    gone = dep.dead_reason()
    if status == "ready" and not gone:
        try:
            dep.after_ready(run.workdir, run.spec.ready_timeout_s)
        except LaunchError as e:  # the held-back router did not come up
            tail = e.log_tail or dep.log_tail()
            dep.stop(reason="deployment stopped after a failed launch")
            run.fail(e.stage, f"{run.item.label}: {e}", tail)
            return
        run.healthy()
        return
    if status == "ready":
        reason, stage = f"{run.item.label}: {gone} right after becoming healthy", "launch"
    else:
        msg = ev.get("message") or f"readiness check ended with {status or 'no event'}"
        stage = "readiness" if status == "timeout" else "launch"
        reason = f"{run.item.label}: {msg}"
        if gone:
            reason += f"; {gone}"
        else:
            why = next((p.error_line() for p in dep.processes if p.error_line()), None)
            if why:
                reason += f"; log: {why}"
    tail = dep.log_tail()
    dep.stop(reason="deployment stopped after a failed launch")
    run.fail(stage, reason, tail)


def bench_item(run: ItemRun, *, health_probe_s: float = 3.0) -> None:
    """Run the item's concurrency ladder against its healthy deployment (nothing when the launch
    failed). Failed points are recorded, never raised. After a point with errors the server's
    ``/health`` is probed (``health_probe_s``); a deployment that died or froze is stopped and the
    rest of its ladder is recorded as failed with the reason, without running."""
    from frontier.loadgen import PointConfig, run_point_sync

    item, spec, dep, outcome = run.item, run.spec, run.dep, run.outcome
    if dep is None or run.error is not None:
        return
    say = run.say
    try:
        gone = None
        for c in item.concurrencies:
            if gone is None:
                gone = dep.dead_reason()
            if gone:
                outcome.points_failed += 1
                run.failures.append(
                    _failure(item, "point", f"not run: the deployment is gone ({gone})", dep.log_tail(), c)
                )
                say(f"{item.name}: c={c} not run: {gone}")
                continue
            cfg = PointConfig(
                base_url=dep.base_url,
                backend=dep.backend,
                model=item.model,
                isl=item.scenario["isl"],
                osl=item.scenario["osl"],
                max_concurrency=c,
                num_prompts=item.num_prompts[c],
                warmup_requests=item.warmup_requests[c],
                range_ratio=item.load.range_ratio,
                ignore_eos=item.load.ignore_eos,
                seed=spec.seed,
                request_timeout_s=spec.request_timeout_s,
            )
            result = run_point_sync(cfg)
            summary = dict(result.summary)
            bad = summary.get("error_rate") or 0.0
            any_error = bad > 0 or any(r.get("error") for r in result.requests)
            status = "ok" if summary.get("completed", 0) > 0 and bad <= spec.max_error_rate else "failed"
            gone = dep.dead_reason(probe_s=health_probe_s if any_error or status != "ok" else 0.0)
            if gone and status == "ok" and bad > 0:
                status = "failed"
            run.points.append(
                {
                    **_key_cols(item),
                    **summary,
                    "isl": item.scenario["isl"],
                    "osl": item.scenario["osl"],
                    "gpus": item.gpus,
                    "engine": spec.engine,
                    "source": "frontier",
                    "status": status,
                    "max_concurrency": c,
                }
            )
            run.requests.extend(
                {**_key_cols(item), "max_concurrency": c, **r, "error": redact_text(r.get("error"))}
                for r in result.requests
            )
            tps = (summary.get("total_token_throughput") or 0) / item.gpus
            if status == "ok":
                outcome.points_ok += 1
                outcome.best_tok_s_gpu = max(outcome.best_tok_s_gpu or 0.0, tps)
                say(
                    f"{item.name}: c={c} ok  {tps:,.0f} tok/s/GPU  "
                    f"median TPOT {summary.get('median_tpot_ms') or float('nan'):.1f} ms  "
                    f"errors {bad:.1%}"
                )
            else:
                outcome.points_failed += 1
                first_err = next((r.get("error") for r in result.requests if r.get("error")), None)
                reason = _point_failure_reason(summary, spec, gone, first_err)
                run.failures.append(_failure(item, "point", reason, dep.log_tail() if gone else "", c))
                say(f"{item.name}: c={c} FAILED: {reason}")
            if gone:
                say(f"{item.name}: deployment gone ({gone}); stopping it, the rest of the ladder is not run")
                dep.stop(reason=gone)
    except FrontierError as e:
        run.fail("launch", str(e), what="FAILED")
    except BaseException:
        run.stop_deployment("deployment stopped (task killed or shut down)")
        raise


# predictions: the simulator's own figure for every point of the ladder (issue 4 + 8)
PREDICT_MAX_CONCURRENCY = 512


def _kv_dtype(item: PlanItem) -> str:
    from frontier.sim.perf_model import kv_dtype_of

    for s in item.servers:
        argv = list(s.get("argv") or [])
        if "--kv-cache-dtype" in argv[:-1]:
            return kv_dtype_of(argv[argv.index("--kv-cache-dtype") + 1])
    return kv_dtype_of(None)


def predict_item(item: PlanItem, spec: Spec) -> list[dict[str, Any]]:
    """``predictions`` rows of an item: :func:`frontier.sim.predict.predict_point` in virtual time
    for each concurrency of its ladder (up to ``PREDICT_MAX_CONCURRENCY``), with the item's load
    shape (prompts capped at ``DEFAULT_LOAD``'s 10 x C, min 20). A model that cannot predict a point
    says why in the row's ``error``. On engine sim with ``sim.time_scale`` F the figures are scaled as the
    simulated server runs (latencies / F, throughputs x F), so they compare with its measurement.
    """
    from frontier.domain.load import DEFAULT_LOAD
    from frontier.sim import SIM_VERSION
    from frontier.sim.predict import predict_point

    scale = spec.sim.scale if spec.engine == "sim" else 1.0
    kv = _kv_dtype(item) if spec.engine != "sim" else "bf16"
    rows = []
    for c in item.concurrencies:
        if c > PREDICT_MAX_CONCURRENCY:
            continue
        row: dict[str, Any] = {
            **_key_cols(item),
            "isl": item.scenario["isl"],
            "osl": item.scenario["osl"],
            "max_concurrency": c,
            "gpus": item.gpus,
            "model_version": SIM_VERSION,
            "error": None,
        }
        try:
            n = min(item.num_prompts[c], DEFAULT_LOAD.prompts_for(c))
            m = predict_point(
                item.model,
                item.hardware,
                item.precision,
                item.label,
                item.scenario["isl"],
                item.scenario["osl"],
                c,
                num_prompts=n,
                warmup=item.warmup_requests[c],
                range_ratio=item.load.range_ratio,
                seed=spec.seed,
                kv_dtype=kv,
            )
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


def stop_item(run: ItemRun, *, predict: bool = True) -> ItemOutcome:
    """Stop the deployment (if still up), then land the item: requests, failures, points,
    predictions (``predict``), deployment (its own Parquet part, replacing an earlier try's).
    The outcome says success / partial / failed. Raises only for a broken warehouse."""
    item, spec, ctx, outcome = run.item, run.spec, run.ctx, run.outcome
    run.stop_deployment("deployment stopped at the end of its ladder")
    for f in run.failures:
        f["reason"] = redact_text(f["reason"])
        f["log_tail"] = redact_text(f["log_tail"])
        outcome.failures.append(f["reason"])
    error = run.error
    # points that never ran because the deployment failed to come up
    if error is not None:
        error = redact_text(error)
        outcome.points_failed = len(item.concurrencies)
    if outcome.points_ok and not outcome.points_failed:
        outcome.status = "success"
    elif outcome.points_ok:
        outcome.status = "partial"
    dep = run.dep
    deployment_row = {
        **_key_cols(item),
        "label_canonical": item.label_canonical,
        "isl": item.scenario["isl"],
        "osl": item.scenario["osl"],
        "gpus": item.gpus,
        "groups_json": json.dumps([g.__dict__ for g in labels.parse(item.label).groups]),
        "engine": spec.engine,
        "engine_version": outcome.engine_version,
        "commands_json": json.dumps(redact_obj(dep.commands if dep else [s["argv"] for s in item.servers])),
        "server_info_json": json.dumps(redact_obj(dep.server_info if dep else {}), default=str),
        "started_at": run.started,
        "ended_at": utcnow(),
        "status": outcome.status,
        "error": error,
    }
    predictions: list[dict] = []
    if predict:
        t0 = time.monotonic()
        predictions = predict_item(item, spec)
        if predictions:
            log.info("%s: %d prediction(s) in %.2f s", item.name, len(predictions), time.monotonic() - t0)
    _write_artifact(run.workdir, outcome, run.failures)
    wh = _wh(ctx)
    kw = {"run_id": ctx.run_id, "run_date": ctx.run_date, "part": item.key}
    # requests first, summary tables last: a reader that sees a point also sees its requests
    wh.write("requests", run.requests, **kw)
    wh.write("failures", run.failures, **kw)
    wh.write("points", run.points, **kw)
    if predict:
        wh.write("predictions", predictions, **kw)
    wh.write("deployments", [deployment_row], **kw)
    return outcome


def run_item(
    item: PlanItem,
    spec: Spec,
    ctx: RunContext,
    *,
    progress: Callable[[str], None] | None = None,
    on_started: Callable[[Any], None] | None = None,
    launch_attempts: int = 1,
    retry_delay_s: float = 2.0,
    health_probe_s: float = 3.0,
    predict: bool = True,
) -> ItemOutcome:
    """Launch one deployment, run its concurrency ladder, land its rows, stop it
    (:func:`launch_item` -> :func:`bench_item` -> :func:`stop_item`, in this process).

    Never raises for a benchmark failure: launch failures and failed points are recorded in
    ``failures`` and reflected in the outcome's status. Raises only for a broken warehouse (or
    when the task itself is interrupted: the deployment is stopped first, nothing is landed).

    - ``on_started(dep)`` gets the deployment as soon as its processes exist (for ``on_kill``).
    - A launch that fails is tried ``launch_attempts`` times in all (the CLI retries once; under
      Airflow the task's own retries do it). Failed points are results: never retried.
    - After a point with errors the server's ``/health`` is probed (``health_probe_s``); a
      deployment that died or froze is stopped and the rest of its ladder is recorded as failed
      with the reason, without running.
    - The simulator's prediction of every point lands in ``predictions`` (``predict``).
    - Everything landed or logged passes through :mod:`frontier.common.redact` (no secrets).
    """
    run = launch_item(
        item,
        spec,
        ctx,
        progress=progress,
        on_started=on_started,
        launch_attempts=launch_attempts,
        retry_delay_s=retry_delay_s,
    )
    bench_item(run, health_probe_s=health_probe_s)
    return stop_item(run, predict=predict)


def item_statuses(ctx: RunContext) -> list[dict]:
    """Status and engine version of every deployment item this run landed (from the warehouse)."""
    from frontier.warehouse import connect

    con = connect(ctx.warehouse)
    try:
        rows = con.execute(
            "select status, engine_version from deployments where run_id = ?", [ctx.run_id]
        ).fetchall()
    finally:
        con.close()
    return [{"status": s, "engine_version": v} for s, v in rows]


def run_started_at(ctx: RunContext) -> dt.datetime | None:
    from frontier.warehouse import connect

    con = connect(ctx.warehouse)
    try:
        row = con.execute("select min(started_at) from runs where run_id = ?", [ctx.run_id]).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def finish_run(spec: Spec, ctx: RunContext, expected_items: int, started: dt.datetime | None = None) -> str:
    """Mark the run success / partial / failed from what its items landed.

    An item that landed nothing (its task died) counts as failed.
    """
    outcomes = item_statuses(ctx)
    statuses = [o["status"] for o in outcomes] + ["failed"] * max(0, expected_items - len(outcomes))
    if statuses and all(s == "success" for s in statuses):
        status = "success"
    elif any(s in ("success", "partial") for s in statuses):
        status = "partial"
    else:
        status = "failed"
    version = next((o["engine_version"] for o in outcomes if o.get("engine_version")), "")
    wh = _wh(ctx)
    row = _runs_row(ctx, spec, status, started or run_started_at(ctx) or utcnow(), utcnow(), version)
    wh.write("runs", [row], run_id=ctx.run_id, run_date=ctx.run_date)
    return status


def check_warehouse(ctx: RunContext) -> list[dict[str, str]]:
    """Quarantine unreadable Parquet files (Warehouse.check) and record each one as a failure row.

    Corrupt files are never skipped silently: each becomes a ``failures`` row of this run (stage
    ``audit``, part ``warehouse-check``) naming the file and why, and a warning in the log.
    """
    wh = _wh(ctx)
    report = wh.check()
    out = []
    for path, dest, why in report.quarantined:
        rel = str(Path(path).relative_to(wh.root)) if Path(path).is_relative_to(wh.root) else str(path)
        out.append({"file": rel, "quarantined_to": str(dest), "reason": why})
        log.warning("corrupt Parquet file quarantined: %s -> %s (%s)", path, dest, why)
    if out:
        rows = [
            {
                "label": "-",
                "model": "-",
                "hardware": "-",
                "precision": "-",
                "scenario": "-",
                "max_concurrency": None,
                "stage": "audit",
                "reason": redact_text(
                    f"corrupt Parquet file quarantined: {q['file']} ({q['reason']}); "
                    f"moved to {q['quarantined_to']}"
                ),
                "log_tail": "",
                "at": utcnow(),
            }
            for q in out
        ]
        wh.write("failures", rows, run_id=ctx.run_id, run_date=ctx.run_date, part="warehouse-check")
    return out


def build_marts(ctx: RunContext) -> dict[str, Any]:
    """Check the warehouse (quarantine + report corrupt files), then run every audit for this run.

    Raises with the offending rows when an audit fails. The result lists the quarantined files.
    """
    from frontier.warehouse import connect, run_audits

    quarantined = check_warehouse(ctx)
    con = connect(ctx.warehouse)
    try:
        results = run_audits(con, run_id=ctx.run_id)
    finally:
        con.close()
    bad = {name: df for name, df in results.items() if len(df)}
    if bad:
        lines = [
            f"audit {name}: {len(df)} offending row(s)\n{df.head(20).to_string()}" for name, df in bad.items()
        ]
        raise FrontierError("audits failed:\n" + "\n".join(lines))
    return {"audits": sorted(results), "failed": [], "quarantined": quarantined}


def label_summary(warehouse: str, run_id: str | None = None):
    from frontier.warehouse import connect, run_model

    con = connect(warehouse)
    try:
        return run_model(con, "label_summary", run_id=run_id)
    finally:
        con.close()


def default_run_id(now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    return "cli__" + now.strftime("%Y-%m-%dT%H:%M:%S")


def run_sweep(
    spec: Spec,
    ctx: RunContext,
    *,
    progress: Callable[[str], None] | None = None,
    on_item: Callable[[int, int, ItemOutcome], None] | None = None,
    on_started: Callable[[Any], None] | None = None,
    launch_attempts: int = 2,
    retry_delay_s: float = 2.0,
) -> tuple[str, list[dict]]:
    """The whole sweep without Airflow: plan, every item in turn, finish, audits.

    Returns (run status, item outcomes). Audit failures raise after the run is recorded. A
    failed launch is retried once (``launch_attempts``), as the DAG's task retries would.
    """
    from frontier.planning.planner import plan

    items = plan(spec)
    started = utcnow()
    start_run(spec, ctx)
    outcomes = []
    for i, item in enumerate(items):
        out = run_item(
            item,
            spec,
            ctx,
            progress=progress,
            on_started=on_started,
            launch_attempts=launch_attempts,
            retry_delay_s=retry_delay_s,
        )
        outcomes.append(out.to_dict())
        if on_item:
            on_item(i + 1, len(items), out)
    status = finish_run(spec, ctx, len(items), started)
    build_marts(ctx)
    return status, outcomes
