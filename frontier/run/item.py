"""One plan item's run, as a small state machine: launch -> (ready) -> bench -> land.

``launch_item`` -> (``resume_item`` + ``ready_item`` after a deferral) -> ``bench_item`` ->
``stop_item``; :func:`run_item` composes them in one process. Between a deferred launch and its
resumption the item travels as :meth:`ItemRun.to_json` (plain JSON: the start time and the
deployment's handle). The ladder runs through the load generator's ladder runner
(:func:`frontier.loadgen.ladder.iter_ladder`), so a point whose event rate needs it is driven by
several client processes. Every landing is per item (its own Parquet part), so parallel mapped
tasks never clobber each other and a retried item replaces only its own rows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontier.common.redact import redact_text
from frontier.domain.spec import Spec
from frontier.errors import FrontierError
from frontier.launch import Deployment, LaunchError
from frontier.planning.engines import get_engine
from frontier.planning.planner import PlanItem
from frontier.run import rows
from frontier.run.ladders import ladder_order, predict_ladder, record_skips
from frontier.run.records import RunContext, utcnow

log = logging.getLogger("frontier.run")

ITEM_STATUSES = ("success", "partial", "failed")
KILLED = "deployment stopped (task killed or shut down)"


class PlanFailure(FrontierError):
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
    client_processes: dict[int, int] = field(default_factory=dict)  # concurrency -> client processes

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "failures": list(self.failures),
            "client_processes": dict(self.client_processes),
        }


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
    """One item between its launch, its ladder and its landing."""

    item: PlanItem
    spec: Spec
    ctx: RunContext
    started: dt.datetime
    progress: Callable[[str], None] | None = None
    dep: Deployment | None = None  # the deployment once launched (or attached)
    launching: Deployment | None = None  # the deployment as soon as it exists (a launch may still fail)
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
        self.failures.append(rows.failure_row(self.item, stage, reason, log_tail))
        self.say(f"{self.item.name}: {what}: {reason}")

    def deployment(self) -> Deployment | None:
        return self.dep if self.dep is not None else self.launching

    def stop_deployment(self, reason: str) -> None:
        d = self.deployment()
        if d is not None:
            d.stop(reason=reason)

    def healthy(self) -> None:
        assert self.dep is not None and self.outcome is not None
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
    :func:`resume_item` + :func:`ready_item`. An engine that starts nothing attaches at once.
    ``on_started(dep)`` gets the deployment as soon as it exists (for ``on_kill``).
    """
    from frontier.launch import launch

    run = ItemRun(item, spec, ctx, utcnow(), progress)
    engine = get_engine(spec.engine)
    if engine.predicted:  # nothing to launch: bench_item predicts the ladder in virtual time
        from frontier.sim import SIM_VERSION

        assert run.outcome is not None
        run.outcome.engine_version = f"predict {SIM_VERSION}"
        run.say(f"{item.name}: predicting {item.gpus} GPU(s) in virtual time (engine {spec.engine})")
        return run
    wait = wait or not engine.starts_servers

    def started_cb(d: Deployment) -> None:
        run.launching = d
        if on_started:
            on_started(d)

    try:
        if item.fit_error and engine.checks_fit:
            raise PlanFailure(item.fit_error)
        plan = item.launch_plan()
        attempts = max(1, int(launch_attempts)) if wait else 1
        for attempt in range(1, attempts + 1):
            run.say(
                f"{item.name}: launching {spec.engine} deployment on {item.gpus} GPU(s)"
                + (f" on {spec.target}" if spec.target != "local" else "")
                + (f" (attempt {attempt} of {attempts})" if attempts > 1 else "")
            )
            try:
                run.dep = launch(plan, spec, run.workdir, on_started=started_cb, wait=wait)
                break
            except LaunchError as e:
                stopped = run.launching.stopped if run.launching is not None else None
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
        assert run.dep is not None
        if wait:
            run.healthy()
        else:
            run.say(
                f"{item.name}: {len(run.dep.handles)} process(es) started; waiting for "
                f"{', '.join(run.dep.ready_urls())}"
            )
    except PlanFailure as e:
        run.fail("plan", str(e), what="not launched")
    except LaunchError as e:
        run.fail(e.stage, str(e), e.log_tail)
    except FrontierError as e:
        run.fail("launch", str(e), what="FAILED")
    except BaseException:
        run.stop_deployment(KILLED)
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
    from frontier.launch import attach

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
            why = dep.error_line()
            if why:
                reason += f"; log: {why}"
    tail = dep.log_tail()
    dep.stop(reason="deployment stopped after a failed launch")
    run.fail(stage, reason, tail)


def point_config(run: ItemRun):
    """The load generator's settings shared by every point of the item's ladder."""
    from frontier.loadgen import PointConfig

    item, spec, dep = run.item, run.spec, run.dep
    assert dep is not None
    first = item.concurrencies[0]
    served = spec.endpoint.served_model_name if spec.engine == "endpoint" and spec.endpoint else None
    tokenizer = item.load.tokenizer_for(spec.engine, item.model)
    if tokenizer is not None:  # resolve it now (offline): a miss fails the item with how to give one
        from frontier.common import hf_tokenizer

        hf_tokenizer.resolve(tokenizer)
    return PointConfig(
        base_url=dep.base_url,
        backend=dep.backend,
        model=served or item.model,
        tokenizer=tokenizer,
        isl=item.scenario["isl"],
        osl=item.scenario["osl"],
        max_concurrency=first,
        num_prompts=item.num_prompts[first],
        warmup_requests=item.warmup_requests[first],
        seed=spec.seed,
        request_timeout_s=spec.request_timeout_s,
        range_ratio=item.load.range_ratio,
        ignore_eos=item.load.ignore_eos,
        shard_above_events_s=item.load.shard_above_events_s,
        max_client_processes=item.load.max_client_processes,
    )


def bench_item(run: ItemRun, *, health_probe_s: float = 3.0) -> None:
    """Run the item's concurrency ladder against its healthy deployment (nothing when the launch
    failed). Failed points are recorded, never raised. After a point with errors the server's
    ``/health`` is probed (``health_probe_s``); a deployment that died or froze is stopped and the
    rest of its ladder is recorded as failed with the reason, without running."""
    from frontier.loadgen.ladder import iter_ladder

    item, spec, dep, outcome = run.item, run.spec, run.dep, run.outcome
    if get_engine(spec.engine).predicted and run.error is None:
        predict_ladder(run)
        return
    if dep is None or run.error is not None:
        return
    assert outcome is not None
    say = run.say
    todo = list(item.concurrencies)
    order, adaptive = ladder_order(run)
    try:
        gone = dep.dead_reason()
        if not gone:
            ladder = iter_ladder(
                point_config(run),
                order,
                num_prompts_for=lambda c: item.num_prompts.get(c) or item.load.prompts_for(c),
                warmup_for=lambda c: item.warmup_requests.get(c, item.load.warmups_for(c)),
            )
            for result in ladder:
                c = result.config.max_concurrency
                if c in todo:
                    todo.remove(c)
                if adaptive is not None:
                    s_ = result.summary
                    tpot = s_.get("median_tpot_ms") or 0.0
                    ok_ = rows.point_status(result, spec.max_error_rate) == "ok" and tpot > 0
                    adaptive.record(
                        c,
                        (1000.0 / tpot, (s_.get("total_token_throughput") or 0) / item.gpus) if ok_ else None,
                    )
                summary = result.summary
                bad = summary.get("error_rate") or 0.0
                any_error = bad > 0 or any(r.get("error") for r in result.requests)
                status = rows.point_status(result, spec.max_error_rate)
                gone = dep.dead_reason(probe_s=health_probe_s if any_error or status != "ok" else 0.0)
                if gone and status == "ok" and bad > 0:
                    status = "failed"
                run.points.append(rows.point_row(item, spec, result, status))
                run.requests.extend(rows.request_rows(item, result))
                outcome.client_processes[c] = result.config.client_processes
                tps = (summary.get("total_token_throughput") or 0) / item.gpus
                shards = (
                    f"  ({result.config.client_processes} client processes)"
                    if result.config.client_processes > 1
                    else ""
                )
                if status == "ok":
                    outcome.points_ok += 1
                    outcome.best_tok_s_gpu = max(outcome.best_tok_s_gpu or 0.0, tps)
                    say(
                        f"{item.name}: c={c} ok  {tps:,.0f} tok/s/GPU  "
                        f"median TPOT {summary.get('median_tpot_ms') or float('nan'):.1f} ms  "
                        f"errors {bad:.1%}{shards}"
                    )
                else:
                    outcome.points_failed += 1
                    first_err = next(
                        (r.get("error") for r in result.requests if r.get("error")), result.error
                    )
                    reason = rows.point_failure_reason(
                        summary, spec.max_error_rate, gone, first_err, result.error
                    )
                    run.failures.append(
                        rows.failure_row(item, "point", reason, dep.log_tail() if gone else "", c)
                    )
                    say(f"{item.name}: c={c} FAILED: {reason}")
                if gone:
                    ladder.close()
                    break
        if adaptive is not None:
            record_skips(run, adaptive)
            todo = [c for c in todo if c not in {k.c for k in adaptive.skipped}]
        if gone:
            if todo:
                say(f"{item.name}: deployment gone ({gone}); stopping it, the rest of the ladder is not run")
            dep.stop(reason=gone)
            for c in todo:
                outcome.points_failed += 1
                run.failures.append(
                    rows.failure_row(
                        item, "point", f"not run: the deployment is gone ({gone})", dep.log_tail(), c
                    )
                )
                say(f"{item.name}: c={c} not run: {gone}")
    except FrontierError as e:
        run.fail("launch", str(e), what="FAILED")
    except BaseException:
        run.stop_deployment(KILLED)
        raise


def stop_item(run: ItemRun, *, predict: bool = True, stop: bool = True) -> ItemOutcome:
    """Stop the deployment (if still up; ``stop=False`` leaves it to serve its next scenario),
    then land the item: requests, failures, points, predictions (``predict``), deployment (its own
    Parquet part, replacing an earlier try's). The outcome says success / partial / failed.
    Raises only for a broken warehouse."""
    item, spec, ctx, outcome = run.item, run.spec, run.ctx, run.outcome
    assert outcome is not None
    if stop:
        run.stop_deployment("deployment stopped at the end of its ladder")
    for f in run.failures:
        f["reason"] = redact_text(f["reason"])
        f["log_tail"] = redact_text(f["log_tail"])
        outcome.failures.append(f["reason"])
    error = run.error
    if error is not None:  # points that never ran because the deployment failed to come up
        error = redact_text(error)
        outcome.points_failed = len(item.concurrencies)
    if outcome.points_ok and not outcome.points_failed:
        outcome.status = "success"
    elif outcome.points_ok:
        outcome.status = "partial"
    dep = run.dep
    planned = [s["argv"] for s in item.launch.get("servers") or []]
    deployment = rows.deployment_row(
        item,
        spec,
        commands=dep.commands if dep is not None else planned,
        server_info=dep.server_info if dep is not None else {},
        engine_version=outcome.engine_version,
        started=run.started,
        status=outcome.status,
        error=error,
    )
    predictions: list[dict] = []
    predict = predict and not get_engine(spec.engine).predicted  # its points are the predictions
    if predict:
        t0 = time.monotonic()
        predictions = rows.prediction_rows(item, spec)
        if predictions:
            log.info("%s: %d prediction(s) in %.2f s", item.name, len(predictions), time.monotonic() - t0)
    _write_artifact(run.workdir, outcome, run.failures)
    wh = ctx.warehouse_store()
    kw = {"run_id": ctx.run_id, "run_date": ctx.run_date, "part": item.key}
    # requests first, summary tables last: a reader that sees a point also sees its requests
    wh.write("requests", run.requests, **kw)
    wh.write("failures", run.failures, **kw)
    wh.write("points", run.points, **kw)
    if predict:
        wh.write("predictions", predictions, **kw)
    wh.write("deployments", [deployment], **kw)
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
    (:func:`run_deployment` of this one item: :func:`launch_item` -> :func:`bench_item` ->
    :func:`stop_item`, in this process).

    Never raises for a benchmark failure: launch failures and failed points are recorded in
    ``failures`` and reflected in the outcome's status. Raises only for a broken warehouse (or
    when the task itself is interrupted: the deployment is stopped first, nothing is landed).
    A launch that fails is tried ``launch_attempts`` times in all (the CLI retries once; under
    Airflow the task's own retries do it). Failed points are results: never retried.
    """
    (outcome,) = run_deployment(
        [item],
        spec,
        ctx,
        progress=progress,
        on_started=on_started,
        launch_attempts=launch_attempts,
        retry_delay_s=retry_delay_s,
        health_probe_s=health_probe_s,
        predict=predict,
    )
    return outcome


def run_deployment(
    items: list[PlanItem],
    spec: Spec,
    ctx: RunContext,
    *,
    progress: Callable[[str], None] | None = None,
    on_started: Callable[[Any], None] | None = None,
    on_item: Callable[[ItemOutcome], None] | None = None,
    launch_attempts: int = 1,
    retry_delay_s: float = 2.0,
    health_probe_s: float = 3.0,
    predict: bool = True,
    launched: ItemRun | None = None,
) -> list[ItemOutcome]:
    """One launch for every scenario of one deployment (:func:`deployment_groups`): launch once,
    run each item's ladder in turn against the same server, land each item as it ends, stop
    after the last. Nothing in a server depends on ISL/OSL, so a relaunch per scenario would
    only cost load time. A launch that fails fails every item of the deployment with its reason;
    a server that dies fails the rest of its points, and of its later scenarios, with the
    reason (never relaunched). An item that cannot fit its GPUs is a plan failure on its own.
    ``launched``: the run of the item that already launched the deployment (a deferred task
    resumed with :func:`resume_item` + :func:`ready_item`), used instead of a new launch."""
    engine = get_engine(spec.engine)
    outcomes: list[ItemOutcome] = []
    try:
        for i, item in enumerate(items):
            if launched is not None and launched.item.key == item.key:
                run = launched  # the item whose launch this is (resumed after a deferral)
            elif item.fit_error and engine.checks_fit:
                run = ItemRun(item, spec, ctx, utcnow(), progress)
                run.fail("plan", item.fit_error, what="not launched")
            elif launched is None:
                run = launched = launch_item(
                    item,
                    spec,
                    ctx,
                    progress=progress,
                    on_started=on_started,
                    launch_attempts=launch_attempts,
                    retry_delay_s=retry_delay_s,
                )
            else:
                run = ItemRun(item, spec, ctx, utcnow(), progress)
                if launched.error is not None:
                    stage = launched.failures[0]["stage"] if launched.failures else "launch"
                    tail = launched.failures[0]["log_tail"] if launched.failures else ""
                    run.fail(stage, launched.error, tail)
                else:
                    run.dep = run.launching = launched.dep
                    assert run.outcome is not None and launched.outcome is not None
                    run.outcome.engine_version = launched.outcome.engine_version
                    run.say(
                        f"{item.name}: on the running deployment at {run.dep.base_url if run.dep else '-'}"
                    )
            bench_item(run, health_probe_s=health_probe_s)
            out = stop_item(run, predict=predict, stop=i == len(items) - 1)
            outcomes.append(out)
            if on_item:
                on_item(out)
    finally:
        if launched is not None:  # stopped after the last item; also when interrupted
            launched.stop_deployment("deployment stopped at the end of its ladder")
    return outcomes
