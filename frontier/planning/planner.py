"""Planning: a validated spec -> the list of deployment x scenario items to run.

Each :class:`PlanItem` says what runs (label, model, hardware, precision, GPUs), under which
load (scenario, concurrency ladder, prompts per point) and the exact commands that launch it.
Items are small and JSON-serialisable. An item carries the launch plan its engine made
(``launch``, :mod:`frontier.planning.engines`): that plan is what the launch layer starts.
``servers`` / ``router`` are its display form (``frontier plan --json``), secrets masked. What
crosses into Airflow's XCom is :meth:`PlanItem.redacted` (no secret in the UI); the task that
benchmarks it finds the real item again with :func:`find_item` on the run's resolved spec.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from frontier.common.redact import redact_argv, redact_obj
from frontier.domain import labels
from frontier.domain.load import LoadShape
from frontier.domain.spec import Spec
from frontier.domain.tuning import display_label, speculative_tag
from frontier.errors import FrontierError
from frontier.planning.engines import get_engine
from frontier.planning.launch_plan import LaunchPlan, plan_from_json
from frontier.planning.memory import check_fit


class PlanItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str  # unique within a run; the warehouse part name of this item
    label: str  # as written in the spec (the chart legend shows it, with " MTP" when speculative)
    label_canonical: str
    model: str
    hardware: str
    precision: str
    speculative: str | None = None  # None: no speculative decoding; "mtp": DeepSeek MTP (EAGLE)
    gpus: int
    scenario: dict[str, Any]  # {name, isl, osl}
    concurrencies: list[int]
    num_prompts: dict[int, int]
    warmup_requests: dict[int, int]
    load: LoadShape = Field(default_factory=LoadShape)  # the spec's load shape (lengths, ignore_eos ...)
    engine: str
    servers: list[dict[str, Any]]  # [{role, node_rank, argv}]
    router: dict[str, Any] | None  # {argv} | None
    server_args: list[str] = []
    fit_error: str | None = None  # set when the deployment cannot fit the GPUs (engine sglang)
    faults: dict[str, Any] = {}  # fault injection of the simulated server (spec matrix[].faults)
    launch: dict[str, Any] = {}  # the engine's LaunchPlan (JSON): what launch starts

    def launch_plan(self) -> LaunchPlan:
        if not self.launch:
            raise FrontierError(
                f"{self.name}: plan item has no launch plan (plan it with frontier.planning.plan)"
            )
        return plan_from_json(self.launch)

    def redacted(self) -> PlanItem:
        """This item with secret flag values and env values masked (for XCom and logs)."""
        return self.model_copy(update={"launch": redact_obj(self.launch)})

    @property
    def display_label(self) -> str:
        """The label as charts and reports show it: ``DEP8`` or ``DEP8 MTP``."""
        return display_label(self.label, self.speculative)

    @property
    def name(self) -> str:
        """What the Airflow UI shows for this item: ``DEP8 / 8k1k``, ``DEP8 MTP / 8k1k``."""
        return f"{self.display_label} / {self.scenario['name']}"

    def public(self) -> dict[str, Any]:
        """The documented `frontier plan --json` shape."""
        return {
            "label": self.label,
            "model": self.model,
            "hardware": self.hardware,
            "precision": self.precision,
            "speculative": self.speculative,
            "gpus": self.gpus,
            "scenario": self.scenario,
            "concurrencies": self.concurrencies,
            "servers": self.servers,
            "router": self.router,
            "fits": self.fit_error is None,
            "fit_error": self.fit_error,
        }


def item_key(
    model: str, hardware: str, precision: str, label: str, scenario: str, speculative: str | None = None
) -> str:
    """Unique per item; without speculative decoding the same key as before the axis existed."""
    tag = speculative_tag(speculative)
    raw = f"{model}__{hardware}__{precision}__{label}{'__' + tag if tag else ''}__{scenario}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)


def _mem_fractions(lp: LaunchPlan) -> dict[str, float]:
    """Each PD role's ``--mem-fraction-static`` as the plan launches it (first server of the role)."""
    out: dict[str, float] = {}
    for s in lp.servers:
        if "--mem-fraction-static" in s.argv and s.role not in out:
            out[s.role] = float(s.argv[s.argv.index("--mem-fraction-static") + 1])
    return out


def _role_fractions(spec: Spec, planned: dict[str, float]) -> dict[str, float]:
    """``--mem-fraction-static`` per server role: what the plan's servers launch with, else the
    spec's ``cluster.mem_fraction_static``, else SGLang's usual 0.88."""
    default = spec.cluster.mem_fraction_static or 0.88
    return {**dict.fromkeys(("single", "prefill", "decode"), default), **planned}


def _fit_error(m: Any, label: str, sc: Any, mem: dict[str, float]) -> str | None:
    """Why ``label`` of matrix entry ``m`` cannot fit its GPUs at scenario ``sc`` (None: it fits)."""
    try:
        check_fit(label, m.model, m.hardware, m.precision, isl=sc.isl, osl=sc.osl, mem_fraction_static=mem)
    except FrontierError as e:
        return str(e)
    return None


def _display(servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documented display form of each server: ``{role, node_rank, argv}``."""
    return [{"role": s["role"], "node_rank": s["node_rank"], "argv": s["argv"]} for s in servers]


def find_item(spec: Spec, key: str) -> PlanItem:
    """The item ``key`` of a spec's plan (the benchmark task's real item, secrets included)."""
    for it in plan(spec):
        if it.key == key:
            return it
    raise FrontierError(f"plan item {key!r} is not in spec {spec.name!r} any more; re-run the plan task")


def _redacted(js: dict[str, Any]) -> dict[str, Any]:
    """Commands for display / XCom: secret flag values and env values masked."""
    return redact_obj(js)


def plan(spec: Spec) -> list[PlanItem]:
    """Every deployment x scenario of a spec, in spec order.

    Raises FrontierError naming the label that cannot be launched (a mode the pinned SGLang
    cannot express). A deployment that cannot fit its GPUs is planned with ``fit_error`` set:
    the pipeline records it as a plan-stage failure without launching, and the night goes on.
    """
    engine = get_engine(spec.engine)
    items: list[PlanItem] = []
    for m in spec.matrix:
        ladder = m.concurrencies or spec.concurrencies
        for label in m.labels:
            dep = labels.parse(label)
            extra = m.server_args.get(label, [])
            faults = m.faults[label].flags() if label in m.faults else {}
            for speculative in m.speculative:
                tag = speculative_tag(speculative)
                lp = engine.launch_plan(
                    spec,
                    label,
                    m.model,
                    m.hardware,
                    m.precision,
                    extra,
                    faults,
                    tuning=m.tuning,
                    speculative=tag,
                    mtp=m.mtp,
                )
                js = lp.to_json()
                shown = _redacted({"servers": _display(js["servers"]), "router": js["router"]})
                mem = _role_fractions(spec, _mem_fractions(lp))
                for sc in m.scenarios or spec.scenarios:
                    fit_error = _fit_error(m, label, sc, mem) if engine.checks_fit else None
                    items.append(
                        PlanItem(
                            key=item_key(m.model, m.hardware, m.precision, label, sc.name, tag),
                            label=label,
                            label_canonical=str(dep),
                            model=m.model,
                            hardware=m.hardware,
                            precision=m.precision,
                            speculative=tag,
                            gpus=dep.gpus,
                            scenario={"name": sc.name, "isl": sc.isl, "osl": sc.osl},
                            concurrencies=list(ladder),
                            num_prompts=spec.load.prompts(ladder),
                            warmup_requests=spec.load.warmups(ladder),
                            load=spec.load,
                            engine=spec.engine,
                            servers=shown["servers"],
                            router=shown["router"],
                            server_args=redact_argv(list(extra)),
                            fit_error=fit_error,
                            faults=faults,
                            launch=js,
                        )
                    )
    return items


def fit_warnings(spec: Spec) -> list[str]:
    """One line per matrix label x scenario whose model cannot fit its GPUs (any engine: the
    simulator refuses such a server too), at the memory fraction its servers launch with."""
    from frontier.planning.sglang_args import build_launch_plan

    out: list[str] = []
    opts = spec.cluster.launch_options()
    for m in spec.matrix:
        for label in m.labels:
            try:
                lp = build_launch_plan(
                    label,
                    model=m.model,
                    hardware=m.hardware,
                    precision=m.precision,
                    options=opts,
                    tuning=m.tuning,
                )
                mem = _mem_fractions(lp)
            except FrontierError:
                mem = {}
            mem = _role_fractions(spec, mem)
            for sc in m.scenarios or spec.scenarios:
                why = _fit_error(m, label, sc, mem)
                if why:
                    out.append(f"{m.hardware} {label} / {sc.name}: {why}")
    return out


def deployment_groups(items: list[PlanItem]) -> list[list[PlanItem]]:
    """The plan's items grouped by the deployment that serves them: consecutive items with the
    same model, hardware, precision, label and launch plan (its scenarios), in plan order."""
    groups: list[tuple[str, list[PlanItem]]] = []
    for it in items:
        key = json.dumps([it.model, it.hardware, it.precision, it.label, it.launch], sort_keys=True)
        if groups and groups[-1][0] == key:
            groups[-1][1].append(it)
        else:
            groups.append((key, [it]))
    return [g for _, g in groups]
