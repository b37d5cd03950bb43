"""Planning: a validated spec -> the list of deployment x scenario items to run.

Each :class:`PlanItem` says what runs (label, model, hardware, precision, GPUs), under which
load (scenario, concurrency ladder, prompts per point) and the exact commands that launch it.
Items are small and JSON-serialisable: they travel through Airflow XCom as they are. The
commands an item shows (``servers``, ``router``) have secret flag values masked
(:mod:`frontier.common.redact`); the engines rebuild the real commands from the spec at launch.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from frontier.common.redact import redact_argv, redact_obj
from frontier.domain import labels
from frontier.domain.cluster import TargetOptions
from frontier.domain.load import LoadShape
from frontier.domain.spec import Spec
from frontier.errors import FrontierError
from frontier.planning.memory import check_fit
from frontier.planning.sglang_args import LaunchOptions, LaunchPlan, build_launch_plan


class PlanItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str  # unique within a run; the warehouse part name of this item
    label: str  # as written in the spec (the chart legend shows it verbatim)
    label_canonical: str
    model: str
    hardware: str
    precision: str
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

    @property
    def name(self) -> str:
        """What the Airflow UI shows for this item: ``DEP8 / 8k1k``."""
        return f"{self.label} / {self.scenario['name']}"

    def public(self) -> dict[str, Any]:
        """The documented `frontier plan --json` shape."""
        return {
            "label": self.label,
            "model": self.model,
            "hardware": self.hardware,
            "precision": self.precision,
            "gpus": self.gpus,
            "scenario": self.scenario,
            "concurrencies": self.concurrencies,
            "servers": self.servers,
            "router": self.router,
            "fits": self.fit_error is None,
            "fit_error": self.fit_error,
        }


def item_key(model: str, hardware: str, precision: str, label: str, scenario: str) -> str:
    raw = f"{model}__{hardware}__{precision}__{label}__{scenario}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)


def launch_options(spec: Spec, environ: dict[str, str] | None = None) -> tuple[LaunchOptions, TargetOptions]:
    """The spec's ``cluster`` as (:class:`LaunchOptions`, :class:`TargetOptions`): the commands'
    settings and the ssh / kubernetes target settings, with the worker's ``FRONTIER_SSH_*`` /
    ``FRONTIER_K8S_*`` overrides (``environ``, default ``os.environ``) applied now."""
    return spec.cluster.resolve(environ)


def plan_launch(
    spec: Spec, item_label: str, model: str, hardware: str, precision: str, extra: list[str] | None = None
) -> LaunchPlan:
    opts = spec.cluster.launch_options().with_extra(extra)  # the item's own args, on every server
    engine = "sglang" if spec.engine in ("sglang", "endpoint") else "sim"
    return build_launch_plan(
        item_label, model=model, hardware=hardware, precision=precision, options=opts, engine=engine
    )


def sim_argv(
    spec: Spec,
    label: str,
    model: str,
    hardware: str,
    precision: str,
    extra: list[str] | None = None,
    port: int | None = None,
    faults: dict[str, Any] | None = None,
) -> list[str]:
    """The one process that simulates a whole deployment (PD included) on the simulated engine.

    It binds ``cluster.bind_host`` when the spec sets one, else 127.0.0.1 (loopback only).
    """
    opts = spec.cluster.launch_options()
    argv = [
        sys.executable,
        "-m",
        "frontier.sim.launch_server",
        "--deployment",
        label,
        "--model-path",
        model,
        "--hardware",
        hardware,
        "--precision",
        precision,
        "--host",
        opts.bind_host or "127.0.0.1",
        "--port",
        str(port if port is not None else opts.base_port),
        "--seed",
        str(spec.seed),
    ]
    return argv + sim_flags(spec, faults, seed=False) + list(extra or [])


def sim_flags(spec: Spec, faults: dict[str, Any] | None = None, *, seed: bool = True) -> list[str]:
    """The simulated server's flags that come from the spec, not the label: ``--seed``, the
    ``sim`` knobs (time scale ...) and the item's ``--fault-*`` flags."""
    from frontier.sim.faults import to_argv

    argv = ["--seed", str(spec.seed)] if seed else []
    return argv + spec.sim.flags() + to_argv(faults)


def extra_args(spec: Spec, item: PlanItem) -> list[str]:
    """The real extra launch args of an item, from the spec (the item's copy has secrets masked)."""
    for m in spec.matrix:
        if (m.model, m.hardware, m.precision) == (
            item.model,
            item.hardware,
            item.precision,
        ) and item.label in m.labels:
            return list(m.server_args.get(item.label, []))
    return list(item.server_args)


def _redacted(js: dict[str, Any]) -> dict[str, Any]:
    """Commands for display / XCom: secret flag values and env values masked."""
    return redact_obj(js)


def plan(spec: Spec) -> list[PlanItem]:
    """Every deployment x scenario of a spec, in spec order.

    Raises FrontierError naming the label that cannot be launched (a mode the pinned SGLang
    cannot express). A deployment that cannot fit its GPUs is planned with ``fit_error`` set:
    the pipeline records it as a plan-stage failure without launching, and the night goes on.
    """
    items: list[PlanItem] = []
    for m in spec.matrix:
        ladder = m.concurrencies or spec.concurrencies
        for label in m.labels:
            dep = labels.parse(label)
            extra = m.server_args.get(label, [])
            faults = m.faults[label].flags() if label in m.faults else {}
            if spec.engine == "endpoint":
                js = {"servers": [], "router": None}
            elif spec.engine == "sim":
                js = {
                    "servers": [
                        {
                            "role": "single",
                            "node_rank": 0,
                            "argv": sim_argv(
                                spec, label, m.model, m.hardware, m.precision, extra, faults=faults
                            ),
                        }
                    ],
                    "router": None,
                }
            else:
                js = plan_launch(spec, label, m.model, m.hardware, m.precision, extra).to_json()
            js = _redacted(js)
            for sc in m.scenarios or spec.scenarios:
                fit_error = None
                if spec.engine == "sglang":
                    mem = spec.cluster.mem_fraction_static or 0.88
                    try:
                        check_fit(
                            label,
                            m.model,
                            m.hardware,
                            m.precision,
                            isl=sc.isl,
                            osl=sc.osl,
                            mem_fraction_static=mem,
                        )
                    except FrontierError as e:
                        fit_error = str(e)
                items.append(
                    PlanItem(
                        key=item_key(m.model, m.hardware, m.precision, label, sc.name),
                        label=label,
                        label_canonical=str(dep),
                        model=m.model,
                        hardware=m.hardware,
                        precision=m.precision,
                        gpus=dep.gpus,
                        scenario={"name": sc.name, "isl": sc.isl, "osl": sc.osl},
                        concurrencies=list(ladder),
                        num_prompts=spec.load.prompts(ladder),
                        warmup_requests=spec.load.warmups(ladder),
                        load=spec.load,
                        engine=spec.engine,
                        servers=js["servers"],
                        router=js["router"],
                        server_args=redact_argv(list(extra)),
                        fit_error=fit_error,
                        faults=faults,
                    )
                )
    return items
