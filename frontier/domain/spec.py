"""Sweep specs: the YAML a user writes, validated by pydantic with errors naming the field.

A spec names what to benchmark (model x hardware x precision x deployment labels), under which
load (scenarios ISL/OSL, a concurrency ladder), with which engine (``sim`` | ``sglang`` |
``endpoint`` | ``predict``) and on which target (``local`` | ``ssh`` | ``kubernetes``). Everything is checked
before any server starts: unknown keys, names, labels, DEP on dense models, context overflow,
GPU inventory, ladder order.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from frontier.domain import catalog, labels
from frontier.domain.cluster import ClusterOptions
from frontier.domain.kinds import EngineKind, TargetKind
from frontier.domain.load import LEGACY_KEYS, LoadShape
from frontier.domain.tuning import MTPSettings, Speculative, Tuning
from frontier.errors import FrontierError

_SCENARIO_NAME = re.compile(r"^(?P<isl>[1-9][0-9]*)(?P<ik>k?)(?P<osl>[1-9][0-9]*)(?P<ok>k)$")


class SpecError(FrontierError):
    """A spec that does not validate; the message names each bad field and the fix."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scenario(Strict):
    """An input/output length pair. ``1k1k`` = ISL 1024, OSL 1024; ``8k1k`` = 8192 / 1024."""

    name: str
    isl: int = Field(gt=0, description="input sequence length, tokens")
    osl: int = Field(gt=0, description="output sequence length, tokens")

    @classmethod
    def from_name(cls, name: str) -> Scenario:
        m = _SCENARIO_NAME.match(name)
        if not m:
            raise ValueError(
                f"scenario {name!r} is not a known name like 1k1k, 1k8k, 8k1k; "
                f"write it as {{name: ..., isl: N, osl: N}}"
            )
        isl = int(m["isl"]) * (1024 if m["ik"] else 1)
        osl = int(m["osl"]) * 1024
        return cls(name=name, isl=isl, osl=osl)


def _scenario(value: Any) -> Any:
    if isinstance(value, str):
        return Scenario.from_name(value)
    return value


def _catalog_name(lookup, name: str) -> str:
    """The catalog's canonical name for a model or hardware kind (aliases resolved)."""
    try:
        return lookup(name).name
    except catalog.UnknownName as e:
        raise ValueError(str(e)) from None


def _check_ladder(values: list[int] | None) -> list[int] | None:
    if values is None:
        return values
    if not values:
        raise ValueError("the concurrency ladder is empty; give at least one value, e.g. [4, 8, 16]")
    if any(v <= 0 for v in values):
        raise ValueError(f"concurrency values must be positive integers, got {values}")
    if len(set(values)) != len(values):
        dup = sorted({v for v in values if values.count(v) > 1})
        raise ValueError(f"concurrency values repeat {dup}; list each once, ascending")
    if values != sorted(values):
        raise ValueError(f"concurrency values must be ascending, got {values}; write {sorted(values)}")
    return values


class Endpoint(Strict):
    """An already running server (engine ``endpoint``)."""

    base_url: str = Field(pattern=r"^https?://")
    backend: Literal["sglang", "openai", "openai-chat"] = "sglang"
    served_model_name: str | None = Field(
        default=None,
        description="the model name the server serves (sent as `model` on the OpenAI routes); default"
        " the matrix's model id",
    )


class Faults(Strict):
    """Faults the simulated server injects for one label (engine ``sim`` only; see frontier/sim/faults.py).

    Written per label: ``matrix[].faults: {TP2: {crash_after: 5}}``. Every key maps to a
    ``--fault-*`` flag of ``frontier.sim.launch_server``.
    """

    crash_after: int | None = Field(default=None, ge=0, description="exit when request N+1 arrives")
    hang_start: bool = Field(default=False, description="accept connections, never answer (/health too)")
    hang_after: int | None = Field(
        default=None, ge=0, description="freeze mid-stream when request N+1 arrives"
    )
    slow_start: float = Field(default=0.0, ge=0, description="seconds before the port opens")
    oom_start: bool = Field(default=False, description="exit at start with SGLang's CUDA OOM text")
    malformed_sse: float = Field(
        default=0.0, ge=0, le=1, description="fraction of streams with a broken event"
    )
    http_error: float = Field(
        default=0.0, ge=0, le=1, description="fraction of requests answered with an HTTP error"
    )
    http_status: Literal[500, 503] = Field(default=500, description="status of those errors")
    cut_stream: float = Field(default=0.0, ge=0, le=1, description="fraction of responses cut mid-stream")
    slow_tokens: float = Field(default=1.0, ge=1, description="every GPU iteration this many times slower")

    def flags(self) -> dict[str, Any]:
        """The settings that differ from the defaults (what becomes ``--fault-*`` flags)."""
        return self.model_dump(exclude_defaults=True)


class SimOptions(Strict):
    """The simulated engine's knobs (engine ``sim``): each set one becomes a flag of
    ``frontier.sim.launch_server`` (``time_scale: 4`` -> ``--time-scale 4``).

    The server's other flags come from elsewhere: topology from the label, ``--hardware``
    ``--precision`` from the matrix, ``--seed`` from ``seed``, ``--fault-*`` from
    ``matrix[].faults``, SGLang's own knobs (``--mem-fraction-static`` ...) from ``cluster`` and
    ``matrix[].server_args``. (``--model-config`` is not a spec knob: matrix models come from the
    catalog.)
    """

    # int | float keeps the value as written (4 -> "--time-scale 4"), as the old free-form dict did
    time_scale: int | float | None = Field(
        default=None, gt=0, description="every simulated time runs F x faster (default 1)"
    )
    trace_chunks: str | None = Field(
        default=None, description="path on the server: one JSON line of chunk emit times per request"
    )

    @property
    def scale(self) -> float:
        """The time scale in effect (1.0 when not set)."""
        return float(self.time_scale or 1.0)

    def flags(self) -> list[str]:
        """``--key value`` for every knob that is set, in key order."""
        argv: list[str] = []
        for key, value in sorted(self.model_dump(exclude_none=True).items()):
            argv += [f"--{key.replace('_', '-')}", str(value)]
        return argv


class HardwareCost(Strict):
    """Price and power assumptions of one hardware kind for the cost mart (each overrides the
    catalog's figure for this spec's runs; recorded in the run's ``runs.cost_json``)."""

    usd_per_gpu_hour: float | None = Field(default=None, gt=0, description="$ per GPU-hour")
    power_w: float | None = Field(default=None, gt=0, description="watts per GPU (board, or all-in with PUE)")


class Matrix(Strict):
    """One model on one hardware kind at one precision, with the labels to deploy."""

    model: str
    hardware: str
    precision: Literal["bf16", "fp8", "fp4"] = Field(
        default="fp8", description="fp4: an NVFP4 checkpoint on Blackwell (catalog checkpoints.fp4)"
    )
    labels: list[str] = Field(min_length=1)
    speculative: list[Speculative] = Field(
        default_factory=lambda: ["none"],
        description="speculative decoding settings to run each label with: none, mtp (both: [none, mtp])",
    )
    mtp: MTPSettings = Field(default_factory=MTPSettings, description="draft settings of speculative mtp")
    tuning: Tuning = Field(
        default_factory=Tuning,
        description="typed SGLang knobs over the recipe profile (prefill:/decode: per PD role)",
    )
    scenarios: list[Scenario] | None = None
    concurrencies: list[int] | None = None
    server_args: dict[str, list[str]] = Field(
        default_factory=dict, description="extra launch_server args per label, passed through"
    )
    faults: dict[str, Faults] = Field(
        default_factory=dict,
        description="faults to inject per label (engine sim only), for reliability tests",
    )

    _norm_scenarios = field_validator("scenarios", mode="before")(
        lambda v: [_scenario(x) for x in v] if isinstance(v, list) else v
    )
    _ladder = field_validator("concurrencies")(lambda v: _check_ladder(v))

    _known_model = field_validator("model")(lambda v: _catalog_name(catalog.get_model, v))
    _known_hardware = field_validator("hardware")(lambda v: _catalog_name(catalog.get_hardware, v))

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for text in v:
            try:
                canon = labels.canonical(text)
            except labels.LabelError as e:
                raise ValueError(str(e)) from None
            if canon in seen:
                raise ValueError(f"label {text!r} repeats {seen[canon]!r}; list each deployment once")
            seen[canon] = text
        return v

    @field_validator("speculative")
    @classmethod
    def _speculative(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("speculative is empty; write [none], [mtp] or [none, mtp]")
        if len(set(v)) != len(v):
            raise ValueError(f"speculative repeats a setting: {v}; list each once")
        return v

    @model_validator(mode="after")
    def _labels_fit_model(self) -> Matrix:
        model = catalog.get_model(self.model)
        hw = catalog.get_hardware(self.hardware)
        if self.precision == "fp4" and not hw.supports_fp4:
            fp4_hw = [h for h in catalog.hardware_names() if catalog.get_hardware(h).supports_fp4]
            raise ValueError(
                f"precision fp4 needs FP4 tensor cores (Blackwell), {self.hardware} has none; use fp8 "
                f"or one of {', '.join(fp4_hw)}"
            )
        if "mtp" in self.speculative and not model.mtp_layers:
            raise ValueError(
                f"speculative mtp: {self.model} has no multi-token-prediction layers; use speculative [none]"
            )
        for text in self.labels:
            d = labels.parse(text)
            if d.needs_moe and not model.is_moe:
                modes = sorted({g.mode for g in d.groups if g.needs_moe})
                raise ValueError(
                    f"label {text!r}: {'/'.join(modes)} needs a MoE model (expert parallel), "
                    f"but {self.model} is dense; use TPn or DPn"
                )
        unknown = set(self.server_args) - set(self.labels)
        if unknown:
            raise ValueError(f"server_args names labels not in this entry: {sorted(unknown)}")
        unknown = set(self.faults) - set(self.labels)
        if unknown:
            raise ValueError(
                f"faults names labels not in this entry: {sorted(unknown)}; use labels as listed"
            )
        return self


class Spec(Strict):
    """A whole sweep."""

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    description: str = ""
    engine: EngineKind = "sim"
    target: TargetKind = "local"
    matrix: list[Matrix] = Field(min_length=1)
    scenarios: list[Scenario] = Field(min_length=1)
    concurrencies: list[int]
    load: LoadShape = Field(
        default_factory=LoadShape,
        description="prompts / warm-ups per concurrency and request lengths (frontier.domain.load)",
    )
    backend: Literal["sglang", "openai", "openai-chat"] = "sglang"
    request_timeout_s: float = Field(default=600, gt=0)
    max_error_rate: float = Field(default=0.05, ge=0, le=1, description="a point above it is failed")
    ready_timeout_s: float = Field(default=900, gt=0, description="server start to healthy")
    inventory: dict[str, int] = Field(default_factory=dict, description="GPUs available per hardware kind")
    endpoint: Endpoint | None = None
    cluster: ClusterOptions = Field(
        default_factory=ClusterOptions,
        description="launch options (frontier.planning.sglang_args) + ssh / kubernetes target settings",
    )
    sim: SimOptions = Field(default_factory=SimOptions, description="simulated engine knobs, e.g. time_scale")
    cost: dict[str, HardwareCost] = Field(
        default_factory=dict,
        description="price / power assumptions per hardware kind for $/Mtok and tok/s/MW (default: catalog)",
    )
    seed: int = 0
    adaptive: bool = Field(
        default=False,
        description="choose which concurrencies to measure per label from predictions and measurements "
        "so far (frontier.planning.adaptive); every skipped point is a `failures` row of stage `skipped`",
    )
    adaptive_margin: float = Field(
        default=0.05, ge=0, le=1, description="adaptive: skip a point predicted dominated by more than this"
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy_load_keys(cls, data: Any) -> Any:
        """The old top-level ``num_prompts`` / ``num_prompts_multiplier`` / ``min_prompts`` /
        ``warmup_multiplier`` move into ``load``; both spellings at once is an error."""
        if not isinstance(data, dict):
            return data
        old = [k for k in LEGACY_KEYS if k in data]
        if not old:
            return data
        if "load" in data:
            raise ValueError(
                f"{', '.join(old)} (old top-level key) and a `load` section are both given; "
                f"write {'them' if len(old) > 1 else 'it'} once, inside load: "
                + ", ".join(f"load.{k}" for k in old)
            )
        data = dict(data)
        data["load"] = {k: data.pop(k) for k in old}
        return data

    _norm_scenarios = field_validator("scenarios", mode="before")(
        lambda v: [_scenario(x) for x in v] if isinstance(v, list) else v
    )
    _ladder = field_validator("concurrencies")(lambda v: _check_ladder(v))

    @field_validator("cost")
    @classmethod
    def _cost(cls, v: dict[str, HardwareCost]) -> dict[str, HardwareCost]:
        for hw in v:
            _catalog_name(catalog.get_hardware, hw)
        return v

    @field_validator("inventory")
    @classmethod
    def _inventory(cls, v: dict[str, int]) -> dict[str, int]:
        for hw, n in v.items():
            _catalog_name(catalog.get_hardware, hw)
            if n <= 0:
                raise ValueError(f"{hw}: GPU count must be positive, got {n}")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> Spec:
        if self.engine == "endpoint" and self.endpoint is None:
            raise ValueError("engine 'endpoint' needs an endpoint: {base_url: http://host:port}")
        for i, m in enumerate(self.matrix):
            if self.engine != "sim" and any(f.flags() for f in m.faults.values()):
                raise ValueError(
                    f"matrix[{i}].faults: fault injection needs engine 'sim' (the simulated server), "
                    f"but engine is {self.engine!r}; drop the faults or use engine sim"
                )
            model = catalog.get_model(m.model)
            if (
                m.precision == "fp4"
                and "fp4" not in model.checkpoints
                and model.native_precision != "fp4"
                and not self.cluster.model_path
            ):
                raise ValueError(
                    f"matrix[{i}] precision fp4: {m.model} has no NVFP4 checkpoint in the catalog; set "
                    f"cluster.model_path to a ModelOpt FP4 export or use fp8"
                )
            for sc in m.scenarios or self.scenarios:
                if sc.isl + sc.osl > model.max_context:
                    raise ValueError(
                        f"matrix[{i}] scenario {sc.name!r}: ISL {sc.isl} + OSL {sc.osl} = "
                        f"{sc.isl + sc.osl} exceeds {m.model}'s context of {model.max_context} tokens"
                    )
            if m.hardware in self.inventory:
                have = self.inventory[m.hardware]
                for text in m.labels:
                    need = labels.parse(text).gpus
                    if need > have:
                        raise ValueError(
                            f"matrix[{i}] label {text!r} needs {need} GPUs but inventory has "
                            f"{have} {m.hardware}; raise inventory.{m.hardware} or drop the label"
                        )
        return self

    def spec_hash(self) -> str:
        # a spec without the adaptive keys, or without a cost section, hashes as it did before they existed
        skip = set() if self.adaptive else {"adaptive", "adaptive_margin"}
        if not self.cost:
            skip.add("cost")
        return hashlib.sha256(self.model_dump_json(exclude=skip or None).encode()).hexdigest()[:16]

    def cost_json(self) -> str | None:
        """The cost assumptions as JSON ({hardware: {usd_per_gpu_hour, power_w}}), None when unset."""
        if not self.cost:
            return None
        return json.dumps(
            {hw: c.model_dump(exclude_none=True) for hw, c in self.cost.items()}, sort_keys=True
        )


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-") or part in ("list[...]",):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(err: ValidationError, source: str = "spec") -> str:
    lines = []
    for e in err.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not allowed); check the spelling against the documented keys"
        elif e["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{source}: field `{_loc(e['loc'])}`: {msg}")
    return "\n".join(lines)


def parse_spec(data: Any, source: str = "spec") -> Spec:
    if not isinstance(data, dict):
        raise SpecError(
            f"{source}: a spec is a YAML mapping with keys name, matrix, scenarios, concurrencies"
        )
    try:
        return Spec.model_validate(data)
    except ValidationError as e:
        raise SpecError(format_validation_error(e, source)) from None


def load_spec(path: str | Path) -> Spec:
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"spec file {str(p)!r} not found; pass a YAML file such as sweeps/smoke.yaml")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise SpecError(f"{p}: not valid YAML: {e}".replace("\n", " ")) from None
    return parse_spec(data, source=str(p))


def narrow(
    spec: Spec,
    *,
    labels_subset: list[str] | None = None,
    scenarios_subset: list[str] | None = None,
    concurrencies: list[int] | None = None,
    engine: str | None = None,
) -> Spec:
    """A copy of a spec restricted to some labels / scenarios, with another ladder or engine.

    Used by manual triggers; each subset value must exist in the spec (clear error otherwise).
    """
    data = spec.model_dump(mode="json")
    if labels_subset:
        known = {labels.canonical(t) for m in spec.matrix for t in m.labels}
        want = set()
        for t in labels_subset:
            try:
                c = labels.canonical(t)
            except labels.LabelError as e:
                raise SpecError(f"labels: {e}") from None
            if c not in known:
                raise SpecError(f"labels: {t!r} is not in spec {spec.name!r}; choose from {sorted(known)}")
            want.add(c)
        new = []
        for m in data["matrix"]:
            m["labels"] = [t for t in m["labels"] if labels.canonical(t) in want]
            m["server_args"] = {k: v for k, v in m["server_args"].items() if k in m["labels"]}
            m["faults"] = {k: v for k, v in (m.get("faults") or {}).items() if k in m["labels"]}
            if m["labels"]:
                new.append(m)
        data["matrix"] = new
    if scenarios_subset:
        names = {s.name for s in spec.scenarios} | {s.name for m in spec.matrix for s in (m.scenarios or [])}
        bad = [s for s in scenarios_subset if s not in names]
        if bad:
            raise SpecError(f"scenarios: {bad} not in spec {spec.name!r}; choose from {sorted(names)}")
        data["scenarios"] = [s for s in data["scenarios"] if s["name"] in scenarios_subset] or data[
            "scenarios"
        ]
        for m in data["matrix"]:
            if m.get("scenarios"):
                m["scenarios"] = [s for s in m["scenarios"] if s["name"] in scenarios_subset]
    if concurrencies:
        data["concurrencies"] = concurrencies
        for m in data["matrix"]:
            m["concurrencies"] = None
    if engine:
        data["engine"] = engine
    return parse_spec(data, source=f"spec {spec.name!r} (narrowed)")
