"""Ad-hoc sweeps from a form: the ``frontier_adhoc`` DAG's Params -> a validated :class:`Spec`.

The Airflow form (typed Params, enums from the catalogs) catches most bad input before a run
starts; :func:`spec_from_params` checks everything again with the spec's own validators, so a
trigger through the REST API or ``airflow dags trigger --conf`` gets the same one-line errors,
each naming the form field at fault (``labels: ...``, ``concurrencies: ...``).

Pure: no Airflow import, no I/O. ``form_choices()`` gives the enums the DAG file shows.
"""

from __future__ import annotations

import re
from typing import Any

from frontier.domain import catalog, labels
from frontier.domain.load import DEFAULT_LOAD
from frontier.domain.spec import Scenario, Spec, SpecError, parse_spec

ENGINES = ("sim", "sglang", "endpoint", "predict")
TARGETS = ("local", "ssh", "kubernetes")
PRECISIONS = ("bf16", "fp8")
SCENARIO_NAMES = ("1k1k", "1k8k", "8k1k")
DEFAULTS: dict[str, Any] = {
    "model": "meta-llama/Llama-3.1-8B-Instruct",
    "hardware": "h100_sxm",
    "precision": "fp8",
    "labels": ["TP1", "TP2"],
    "scenarios": ["1k1k"],
    "concurrencies": [1, 4, 16, 64],
    "engine": "sim",
    "target": "local",
    "base_url": None,
    "served_model_name": None,
    "tokenizer": None,
    "num_prompts_multiplier": DEFAULT_LOAD.num_prompts_multiplier,
    "min_prompts": DEFAULT_LOAD.min_prompts,
    "sim_time_scale": 1.0,
    "adaptive": False,
}

# a JSON-schema pattern the form checks while typing; the grammar itself is frontier.domain.labels
_GROUP = "(?:" + "|".join(labels.MODES) + ")[1-9][0-9]*"
LABEL_PATTERN = rf"^(?:(?:[1-9][0-9]*x)?{_GROUP}\+[1-9][0-9]*x{_GROUP}|{_GROUP})$"
# a custom scenario: NAME:ISL:OSL, e.g. short:1024:128
_CUSTOM_SCENARIO = re.compile(r"^(?P<name>[A-Za-z0-9._-]+):(?P<isl>[1-9][0-9]*):(?P<osl>[1-9][0-9]*)$")
SCENARIO_PATTERN = r"^(?:[1-9][0-9]*k?[1-9][0-9]*k|[A-Za-z0-9._-]+:[1-9][0-9]*:[1-9][0-9]*)$"


def form_choices() -> dict[str, list[str]]:
    """The enums of the form, read from the catalogs (YAML data shipped with the package)."""
    return {
        "model": catalog.model_names(),
        "hardware": catalog.hardware_names(),
        "precision": list(PRECISIONS),
        "engine": list(ENGINES),
        "target": list(TARGETS),
    }


def _fail(param: str, message: str) -> SpecError:
    return SpecError(f"{param}: {message}")


def _str_list(params: dict[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str):  # a comma-separated string from a CLI --conf
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, (list, tuple)):
        raise _fail(name, f"expected a list of strings, got {type(value).__name__} {value!r}")
    out = []
    for v in value:
        if not isinstance(v, str):
            raise _fail(name, f"expected strings, got {v!r}")
        if v.strip():
            out.append(v.strip())
    return out


def parse_scenario(text: str) -> dict[str, Any]:
    """``1k1k`` / ``8k1k`` (ISL/OSL by name) or ``NAME:ISL:OSL`` (custom) -> {name, isl, osl}."""
    m = _CUSTOM_SCENARIO.match(text)
    if m:
        return {"name": m["name"], "isl": int(m["isl"]), "osl": int(m["osl"])}
    try:
        return Scenario.from_name(text).model_dump()
    except ValueError:
        raise _fail(
            "scenarios",
            f"{text!r} is neither a scenario name like {', '.join(SCENARIO_NAMES)} nor a custom "
            f"NAME:ISL:OSL such as short:1024:128",
        ) from None


def _choice(params: dict[str, Any], name: str, choices: list[str] | tuple[str, ...]) -> str:
    value = params.get(name, DEFAULTS.get(name))
    if value not in choices:
        raise _fail(name, f"{value!r} is not one of: {', '.join(choices)}")
    return value


def _positive_number(params: dict[str, Any], name: str, integer: bool) -> float | int:
    value = params.get(name, DEFAULTS[name])
    if value is None:
        value = DEFAULTS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and int(value) != value):
        raise _fail(name, f"expected a positive {'integer' if integer else 'number'}, got {value!r}")
    if value <= 0:
        raise _fail(name, f"must be positive, got {value!r}")
    return int(value) if integer else float(value)


def spec_from_params(params: dict[str, Any], *, name: str = "adhoc") -> Spec:
    """The form's values -> a validated one-entry Spec; SpecError names the field at fault."""
    params = dict(params or {})
    model = params.get("model", DEFAULTS["model"])
    try:
        model = catalog.get_model(str(model)).name
    except catalog.UnknownName as e:
        raise _fail("model", str(e)) from None
    hardware = _choice(params, "hardware", catalog.hardware_names())
    precision = _choice(params, "precision", PRECISIONS)
    engine = _choice(params, "engine", ENGINES)
    target = _choice(params, "target", TARGETS)

    label_list = _str_list(params, "labels") if "labels" in params else list(DEFAULTS["labels"])
    if not label_list:
        raise _fail("labels", "pick at least one deployment label, e.g. TP8, DEP8, SEP4+1xDEP8")
    seen: dict[str, str] = {}
    for text in label_list:
        try:
            canon = labels.canonical(text)
        except labels.LabelError as e:
            raise _fail("labels", str(e)) from None
        if canon in seen:
            raise _fail("labels", f"{text!r} repeats {seen[canon]!r}; list each deployment once")
        seen[canon] = text

    scen_list = _str_list(params, "scenarios") if "scenarios" in params else list(DEFAULTS["scenarios"])
    if not scen_list:
        raise _fail("scenarios", "pick at least one scenario, e.g. 1k1k or short:1024:128")
    scenarios = [parse_scenario(s) for s in scen_list]
    names = [s["name"] for s in scenarios]
    if len(set(names)) != len(names):
        raise _fail("scenarios", f"scenario names repeat in {names}; list each once")

    ladder = params.get("concurrencies", DEFAULTS["concurrencies"])
    if ladder is None or ladder == []:
        raise _fail("concurrencies", "give at least one concurrency, ascending, e.g. [1, 4, 16, 64]")
    if isinstance(ladder, str):
        ladder = [x.strip() for x in ladder.split(",") if x.strip()]
    if not isinstance(ladder, (list, tuple)):
        raise _fail("concurrencies", f"expected a list of integers, got {ladder!r}")
    conc: list[int] = []
    for v in ladder:
        try:
            iv = int(v)
        except (TypeError, ValueError):
            raise _fail("concurrencies", f"{v!r} is not an integer") from None
        if isinstance(v, bool) or (isinstance(v, float) and v != iv):
            raise _fail("concurrencies", f"{v!r} is not an integer")
        conc.append(iv)
    if any(c <= 0 for c in conc):
        raise _fail("concurrencies", f"values must be positive integers, got {conc}")
    if len(set(conc)) != len(conc) or conc != sorted(conc):
        raise _fail(
            "concurrencies",
            f"values must be ascending without repeats, got {conc}; write {sorted(set(conc))}",
        )

    base_url = params.get("base_url") or None
    if engine == "endpoint" and not base_url:
        raise _fail("base_url", "engine 'endpoint' needs the server's base URL, e.g. http://10.0.0.5:30000")
    if base_url is not None and (not isinstance(base_url, str) or not re.match(r"^https?://\S+$", base_url)):
        raise _fail("base_url", f"{base_url!r} is not an http(s) URL such as http://10.0.0.5:30000")
    if base_url and engine != "endpoint":
        raise _fail("base_url", f"only used with engine 'endpoint' (engine is {engine!r}); clear it")

    data: dict[str, Any] = {
        "name": name,
        "description": f"ad-hoc: {model} on {hardware} ({precision}), {', '.join(label_list)}",
        "engine": engine,
        "target": target,
        "scenarios": scenarios,
        "concurrencies": conc,
        "load": {
            "num_prompts_multiplier": _positive_number(params, "num_prompts_multiplier", integer=True),
            "min_prompts": _positive_number(params, "min_prompts", integer=True),
        },
        "matrix": [{"model": model, "hardware": hardware, "precision": precision, "labels": label_list}],
    }
    adaptive = params.get("adaptive", DEFAULTS["adaptive"])
    if not isinstance(adaptive, bool):
        raise _fail("adaptive", f"expected true or false, got {adaptive!r}")
    if adaptive:
        data["adaptive"] = True
    if engine == "sim":
        data["sim"] = {"time_scale": _positive_number(params, "sim_time_scale", integer=False)}
    served = params.get("served_model_name") or None
    if served is not None and engine != "endpoint":
        raise _fail("served_model_name", f"only used with engine 'endpoint' (engine is {engine!r}); clear it")
    if base_url:
        data["endpoint"] = {"base_url": base_url.rstrip("/"), "served_model_name": served}
    tokenizer = params.get("tokenizer") or None
    if tokenizer is not None:
        if not isinstance(tokenizer, str):
            raise _fail("tokenizer", f"expected a path, a model id or `words`, got {tokenizer!r}")
        data["load"]["tokenizer"] = tokenizer.strip()
    try:
        return parse_spec(data, source="form")
    except SpecError as e:
        raise SpecError("\n".join(_form_field(line) for line in str(e).splitlines())) from None


# spec fields -> the form field a user can change
_FIELD_TO_PARAM = (
    ("matrix[0].model", "model"),
    ("matrix[0].hardware", "hardware"),
    ("matrix[0].labels", "labels"),
    ("matrix[0].precision", "precision"),
    ("matrix[0]", "labels"),
    ("endpoint.served_model_name", "served_model_name"),
    ("endpoint", "base_url"),
    ("load.tokenizer", "tokenizer"),
    ("concurrencies", "concurrencies"),
    ("scenarios", "scenarios"),
    ("sim", "sim_time_scale"),
    ("load.num_prompts_multiplier", "num_prompts_multiplier"),
    ("load.min_prompts", "min_prompts"),
)


def _form_field(line: str) -> str:
    m = re.match(r"^form: field `(?P<field>[^`]*)`: (?P<msg>.*)$", line)
    if not m:
        return line
    field, msg = m["field"], m["msg"]
    if field == "(top level)":
        return f"{'scenarios' if 'scenario' in msg else 'form'}: {msg}"
    for prefix, param in _FIELD_TO_PARAM:
        if field == prefix or field.startswith((prefix + ".", prefix + "[")):
            return f"{param}: {msg}"
    return f"{field}: {msg}"
