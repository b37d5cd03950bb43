"""Engines, registered by kind: each one turns a deployment of a spec into its typed launch plan.

An engine only *plans*; starting, checking and stopping the processes of a plan is the launch
layer's (:mod:`frontier.launch`, through the spec's target). Kinds:

- ``sim``: one simulated-SGLang process for the whole deployment, PD labels included
  (``frontier.sim.launch_server --deployment LABEL``), with each role's SGLang flags of the real
  plan (``--prefill-server-args`` / ``--decode-server-args`` for PD roles), the spec's seed,
  ``sim`` knobs and the label's fault flags. On the local target it binds 127.0.0.1 (or ``cluster.bind_host``)
  on a port picked at start (port 0 in the plan); elsewhere the first server's host and port.
- ``sglang``: the real servers (and router) of :func:`frontier.planning.sglang_args.build_launch_plan`;
  a deployment that cannot fit its GPUs is planned with a fit error and never launched.
- ``endpoint``: an already running server; the plan has no process, only the endpoint URL.
- ``predict``: nothing runs; every ladder point is predicted in virtual time by the simulator's
  scheduler (:func:`frontier.sim.predict.predict_point`) and lands in the same tables, marked
  ``source = predicted`` / ``engine = predict`` (a whole sweep in seconds, no GPU).

Adding an engine is one subclass of :class:`Engine` with ``@register_engine`` and its name in
:data:`frontier.domain.kinds.ENGINE_KINDS`.
"""

from __future__ import annotations

import shlex
import sys
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from frontier.domain.kinds import ENGINE_KINDS
from frontier.domain.labels import canonical, parse
from frontier.domain.tuning import MTPSettings, Tuning
from frontier.errors import FrontierError
from frontier.planning.launch_plan import AUTO_PORT, LaunchPlan, ServerCommand
from frontier.planning.sglang_args import LaunchOptions, build_launch_plan, build_sim_command

if TYPE_CHECKING:
    from frontier.domain.spec import Spec


def launch_options(spec: Spec, extra: list[str] | None = None) -> LaunchOptions:
    """The spec's ``cluster`` launch options, with an item's own ``extra`` args added on every
    server of its plan (once: ``"*"`` is applied once per server)."""
    return spec.cluster.launch_options().with_extra(extra)


class Engine(ABC):
    """How one engine kind plans a deployment."""

    kind: ClassVar[str]
    starts_servers: ClassVar[bool] = True  # False: attach to what runs already (nothing to stop)
    checks_fit: ClassVar[bool] = False  # True: a deployment that cannot fit its GPUs is not launched
    simulated: ClassVar[bool] = False  # True: faults, time scale and seed apply; predictions scale with it
    predicted: ClassVar[bool] = False  # True: nothing is launched, every point is predicted in virtual time

    @abstractmethod
    def launch_plan(
        self,
        spec: Spec,
        label: str,
        model: str,
        hardware: str,
        precision: str,
        extra: list[str] | None = None,
        faults: dict[str, Any] | None = None,
        *,
        tuning: Tuning | None = None,
        speculative: str | None = None,
        mtp: MTPSettings | None = None,
    ) -> LaunchPlan:
        """Every process the deployment runs (raises FrontierError naming what cannot be planned).

        ``tuning`` / ``speculative`` / ``mtp``: the matrix entry's typed SGLang knobs and its
        speculative-decoding setting (None or "mtp"); engines without SGLang servers ignore them."""


_ENGINES: dict[str, Engine] = {}


def register_engine(cls: type[Engine]) -> type[Engine]:
    if cls.kind not in ENGINE_KINDS:
        raise FrontierError(f"engine {cls.kind!r} is not declared in frontier.domain.kinds.ENGINE_KINDS")
    _ENGINES[cls.kind] = cls()
    return cls


def get_engine(kind: str) -> Engine:
    try:
        return _ENGINES[kind]
    except KeyError:
        raise FrontierError(f"engine {kind!r}: expected one of {', '.join(sorted(_ENGINES))}") from None


def engine_kinds() -> list[str]:
    return sorted(_ENGINES)


def sim_flags(spec: Spec, faults: dict[str, Any] | None = None) -> list[str]:
    """The simulated server's flags that come from the spec, not the label: ``--seed``, the
    ``sim`` knobs (time scale ...), ``--tokenizer-path`` when ``load.tokenizer`` names a real
    tokenizer (the simulator then counts prompts with it, as the client does) and the item's
    ``--fault-*`` flags."""
    from frontier.domain.load import WORDS
    from frontier.sim.faults import to_argv

    tok = spec.load.tokenizer
    tok_flags = ["--tokenizer-path", tok] if tok and tok != WORDS else []
    return ["--seed", str(spec.seed), *spec.sim.flags(), *tok_flags, *to_argv(faults)]


# flags of one server process, not of its recipe: where it runs and what it loads (with a value)
_PROCESS_FLAGS = frozenset(
    {
        "--model-path",
        "--model",
        "--host",
        "--port",
        "--base-gpu-id",
        "--nnodes",
        "--node-rank",
        "--dist-init-addr",
        "--disaggregation-bootstrap-port",
        "--disaggregation-ib-device",
        "--disaggregation-transfer-backend",
    }
)


def recipe_argv(argv: list[str]) -> list[str]:
    """A server command's SGLang flags without the interpreter, module and process flags
    (host, port, model path, node placement): what fixes how the server behaves."""
    from frontier.sim.config import strip_flags

    a = list(argv)
    if len(a) >= 3 and a[1] == "-m":
        a = a[3:]
    return strip_flags(a, _PROCESS_FLAGS)


def role_server_flags(plan: LaunchPlan | dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each role's SGLang flags (its first server's :func:`recipe_argv`) of a launch plan, or of
    its JSON; a simulated plan gives the flags each role of its ``--deployment`` runs with
    (:func:`frontier.sim.predict.launch_server_flags`)."""
    from frontier.sim.predict import launch_server_flags

    return launch_server_flags(plan.to_json() if isinstance(plan, LaunchPlan) else plan, clean=recipe_argv)


def with_accept_len(roles: dict[str, tuple[str, ...]], mtp: MTPSettings | None) -> dict[str, tuple[str, ...]]:
    """``roles`` with the simulator's ``--speculative-accept-len`` on every role that decodes
    speculatively, when the spec's ``mtp.accept_len`` sets one (real SGLang never sees it)."""
    if mtp is None or mtp.accept_len is None:
        return roles
    extra = ("--speculative-accept-len", repr(mtp.accept_len))
    return {r: f + extra if "--speculative-algorithm" in f else f for r, f in roles.items()}


def sglang_server_flags(
    label: str,
    model: str,
    hardware: str,
    precision: str,
    *,
    options: LaunchOptions | None = None,
    tuning: Tuning | None = None,
    speculative: str | None = None,
    mtp: MTPSettings | None = None,
) -> dict[str, tuple[str, ...]]:
    """Each role's SGLang flags engine ``sglang`` would run for a label (recipe profile, tuning,
    speculative / MTP): what a prediction standing in for that deployment runs with; none for a
    label SGLang cannot express (the simulator then derives everything itself)."""
    from frontier.planning.sglang_args import UnsupportedLabel

    try:
        plan = build_launch_plan(
            label,
            model=model,
            hardware=hardware,
            precision=precision,
            options=options,
            tuning=tuning,
            speculative=speculative,
            mtp=mtp,
        )
    except UnsupportedLabel:
        return {}
    return with_accept_len(role_server_flags(plan), mtp if speculative else None)


def item_server_flags(item: Any, spec: Spec) -> dict[str, tuple[str, ...]]:
    """Each role's SGLang flags for predicting a plan item: its launch plan's servers; for an
    engine that starts none but stands in for SGLang (``predict``), the flags engine ``sglang``
    would give the same matrix entry (:func:`sglang_server_flags` with its tuning, MTP settings and
    the cluster options); none for an endpoint."""
    if (item.launch or {}).get("servers"):
        return role_server_flags(item.launch)
    if not get_engine(item.engine).predicted:
        return {}
    entry = next(
        (
            m
            for m in spec.matrix
            if item.label in m.labels
            and (m.model, m.hardware, m.precision) == (item.model, item.hardware, item.precision)
        ),
        None,
    )
    return sglang_server_flags(
        item.label,
        item.model,
        item.hardware,
        item.precision,
        options=launch_options(spec, entry.server_args.get(item.label, []) if entry else None),
        tuning=entry.tuning if entry else None,
        speculative=item.speculative,
        mtp=entry.mtp if entry else None,
    )


@register_engine
class SimEngine(Engine):
    kind = "sim"
    simulated = True

    def launch_plan(
        self,
        spec,
        label,
        model,
        hardware,
        precision,
        extra=None,
        faults=None,
        *,
        tuning=None,
        speculative=None,
        mtp=None,
    ) -> LaunchPlan:
        # the simulated server runs the real recipe: each role's SGLang flags of the real launch
        # plan (tuning, speculative / MTP, recipes; minus host, port, model path), so SGLang's
        # derived settings and an MTP item's speculative decoding differ from its non-MTP twin
        opts = launch_options(spec)
        try:
            real = build_launch_plan(
                label,
                model=model,
                hardware=hardware,
                precision=precision,
                options=opts,
                tuning=tuning,
                speculative=speculative,
                mtp=mtp,
            )
        except FrontierError:  # a mode SGLang cannot express (EPn ...): the simulator still runs it
            if spec.target != "local":
                raise
            real = None
        roles = role_server_flags(real) if real is not None else {}
        roles = with_accept_len(roles, mtp if speculative else None)
        recipe: list[str] = list(roles.get("single", ()))
        for role in ("prefill", "decode"):
            if role in roles:
                recipe.append(f"--{role}-server-args={shlex.join(roles[role])}")
        flags = recipe + sim_flags(spec, faults) + list(extra or [])
        if spec.target == "local":
            host, port = "127.0.0.1", AUTO_PORT
            bind = opts.bind_host or "127.0.0.1"
            # this worker's own interpreter, unless the spec names one
            python = opts.python or sys.executable
        else:  # where the real deployment's first server would run
            head = real.servers[0]
            host, port = head.host, head.port
            bind = head.argv[head.argv.index("--host") + 1]
            python = opts.python or "python3"
        argv = (
            build_sim_command(label, model, hardware, precision, host=bind, port=port, python=python) + flags
        )
        url = f"http://{host}:{port}"
        one = ServerCommand(
            role="single",
            group_index=0,
            replica=0,
            node_rank=0,
            nnodes=1,
            host=host,
            port=port,
            gpus=parse(label).gpus,
            argv=argv,
            url=url,
            env=dict(opts.env),
        )
        return LaunchPlan(
            label=str(parse(label)), engine=self.kind, servers=[one], router=None, endpoint_url=url
        )


@register_engine
class SGLangEngine(Engine):
    kind = "sglang"
    checks_fit = True

    def launch_plan(
        self,
        spec,
        label,
        model,
        hardware,
        precision,
        extra=None,
        faults=None,
        *,
        tuning=None,
        speculative=None,
        mtp=None,
    ) -> LaunchPlan:
        opts = launch_options(spec, extra)
        return build_launch_plan(
            label,
            model=model,
            hardware=hardware,
            precision=precision,
            options=opts,
            tuning=tuning,
            speculative=speculative,
            mtp=mtp,
        )


@register_engine
class EndpointEngine(Engine):
    kind = "endpoint"
    starts_servers = False

    def launch_plan(
        self, spec, label, model, hardware, precision, extra=None, faults=None, **_kw
    ) -> LaunchPlan:
        if spec.endpoint is None:
            raise FrontierError("engine endpoint needs spec field `endpoint.base_url`")
        url = spec.endpoint.base_url.rstrip("/")
        return LaunchPlan(label=canonical(label), engine=self.kind, servers=[], router=None, endpoint_url=url)


PREDICT_URL = "predict://virtual-time"


@register_engine
class PredictEngine(Engine):
    """No process, no HTTP: :mod:`frontier.run.item` predicts each ladder point in virtual time."""

    kind = "predict"
    starts_servers = False
    predicted = True

    def launch_plan(
        self, spec, label, model, hardware, precision, extra=None, faults=None, **_kw
    ) -> LaunchPlan:
        return LaunchPlan(
            label=canonical(label), engine=self.kind, servers=[], router=None, endpoint_url=PREDICT_URL
        )
