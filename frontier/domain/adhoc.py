"""Ad-hoc sweeps from a form: the ``frontier_adhoc`` DAG's Params -> a validated :class:`Spec`.

The form takes what the grammar takes: labels, scenarios and the concurrency ladder are free text
(a list, or one comma- or newline-separated string such as ``TP16, 2xTEP4+1xDEP8`` or
``1, 4, 16, 64``) with the catalog's suggestions, not enums. :func:`parse_labels`,
:func:`parse_scenarios` and :func:`parse_ladder` check one field each and answer with one line
per bad value, naming the field (``labels: label 'TP0': ...``); the Airflow side registers them
as JSON-schema formats (``operators.form_checks``) so a trigger is refused before a run exists,
and :func:`spec_from_params` checks everything again with the spec's own validators (cross-field
rules such as DEP8 on a dense model), so a trigger through the REST API or ``airflow dags
trigger --conf`` gets the same one-line errors. Nothing falls back to a default silently: an
empty or unreadable value is an error naming the field.

Pure: no Airflow import, no I/O. ``form_choices()`` gives the enums and suggestions the DAG file shows.
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
    "labels": "TP1, TP2",
    "scenarios": "1k1k",
    "concurrencies": "1, 4, 16, 64",
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

# a custom scenario: NAME:ISL:OSL, e.g. short:1024:128
_CUSTOM_SCENARIO = re.compile(r"^(?P<name>[A-Za-z0-9._-]+):(?P<isl>[1-9][0-9]*):(?P<osl>[1-9][0-9]*)$")

# suggestions shown under the free-text fields (a browser datalist); any value the grammar takes works
LABEL_SUGGESTIONS = [
    "TP1",
    "TP2",
    "TP4",
    "TP8",
    "TP16",
    "DP8",
    "TEP8",
    "DEP8",
    "SEP4+1xDEP8",
    "2xTEP4+1xDEP8",
]
SCENARIO_SUGGESTIONS = [*SCENARIO_NAMES, "short:1024:128", "1k1k, 8k1k, 1k8k"]
LADDER_SUGGESTIONS = ["1, 4, 16, 64", "1, 2, 4, 8, 16, 32, 64, 128, 256", "4, 16, 64"]


def form_choices() -> dict[str, list[str]]:
    """The enums and suggestions of the form, from the catalogs (YAML data shipped with the package)."""
    return {
        "model": catalog.model_names(),
        "hardware": catalog.hardware_names(),
        "precision": list(PRECISIONS),
        "engine": list(ENGINES),
        "target": list(TARGETS),
        "labels": list(LABEL_SUGGESTIONS),
        "scenarios": list(SCENARIO_SUGGESTIONS),
        "concurrencies": list(LADDER_SUGGESTIONS),
    }


def _fail(param: str, message: str) -> SpecError:
    return SpecError(f"{param}: {message}")


def split_values(value: Any, name: str) -> list[Any]:
    """A list as given, or a string split on commas / new lines; blanks dropped; None -> []."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in re.split(r"[,\n]", value) if v.strip()]
    if not isinstance(value, (list, tuple)):
        raise _fail(
            name, f"expected a list or a comma-separated string, got {type(value).__name__} {value!r}"
        )
    return [
        v.strip() if isinstance(v, str) else v for v in value if not (isinstance(v, str) and not v.strip())
    ]


def _raise_all(name: str, errors: list[str]) -> None:
    if errors:
        raise SpecError("\n".join(f"{name}: {e}" for e in errors))


def parse_labels(value: Any, *, required: bool = True) -> list[str]:
    """Deployment labels (a list or ``"TP8, DEP8"``) -> the labels as written; SpecError with one
    ``labels: ...`` line per bad or repeated value."""
    texts = split_values(value, "labels")
    if not texts:
        if required:
            raise _fail("labels", "give at least one deployment label, e.g. TP8, DEP8, SEP4+1xDEP8")
        return []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for text in texts:
        if not isinstance(text, str):
            errors.append(f"{text!r} is not a label; write e.g. TP8, DEP8, SEP4+1xDEP8")
            continue
        try:
            canon = labels.canonical(text)
        except labels.LabelError as e:
            errors.append(str(e))
            continue
        if canon in seen:
            errors.append(f"{text!r} repeats {seen[canon]!r}; list each deployment once")
        seen[canon] = text
    _raise_all("labels", errors)
    return texts


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


def parse_scenarios(value: Any, *, required: bool = True) -> list[dict[str, Any]]:
    """Scenarios (a list or ``"1k1k, short:1024:128"``) -> [{name, isl, osl}]; SpecError with one
    ``scenarios: ...`` line per bad or repeated value."""
    texts = split_values(value, "scenarios")
    if not texts:
        if required:
            raise _fail("scenarios", "give at least one scenario, e.g. 1k1k or short:1024:128")
        return []
    errors: list[str] = []
    out: list[dict[str, Any]] = []
    for text in texts:
        try:
            sc = parse_scenario(str(text))
        except SpecError as e:
            errors.append(str(e).removeprefix("scenarios: "))
            continue
        if any(o["name"] == sc["name"] for o in out):
            errors.append(f"{text!r}: the scenario name {sc['name']!r} repeats; list each once")
        out.append(sc)
    _raise_all("scenarios", errors)
    return out


def parse_ladder(value: Any, *, required: bool = True) -> list[int]:
    """The concurrency ladder (a list of integers or ``"1, 4, 16, 64"``) -> [int], ascending without
    repeats; SpecError with one ``concurrencies: ...`` line per bad value."""
    items = split_values(value, "concurrencies")
    if not items:
        if required:
            raise _fail("concurrencies", "give at least one concurrency, ascending, e.g. 1, 4, 16, 64")
        return []
    errors: list[str] = []
    conc: list[int] = []
    for v in items:
        iv: int | None = None
        if isinstance(v, int) and not isinstance(v, bool):
            iv = v
        elif (
            isinstance(v, float) and v.is_integer() or isinstance(v, str) and re.fullmatch(r"[+-]?[0-9]+", v)
        ):
            iv = int(v)
        if iv is None:
            errors.append(f"{v!r} is not an integer; write the ladder like 1, 4, 16, 64")
        elif iv <= 0:
            errors.append(f"{v!r} is not a positive integer (max concurrent requests, at least 1)")
        else:
            conc.append(iv)
    _raise_all("concurrencies", errors)
    if len(set(conc)) != len(conc) or conc != sorted(conc):
        fixed = ", ".join(str(c) for c in sorted(set(conc)))
        raise _fail("concurrencies", f"values must be ascending without repeats, got {conc}; write {fixed}")
    return conc


def _choice(params: dict[str, Any], name: str, choices: list[str] | tuple[str, ...]) -> str:
    value = params.get(name, DEFAULTS.get(name))
    if value not in choices:
        raise _fail(name, f"{value!r} is not one of: {', '.join(choices)}")
    return value


def _positive_number(params: dict[str, Any], name: str, integer: bool) -> float | int:
    value = params.get(name, DEFAULTS[name])
    if value is None:  # an emptied field: say so, never run with the default instead
        raise _fail(name, f"is empty; give a positive {'integer' if integer else 'number'}")
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

    label_list = parse_labels(params.get("labels", DEFAULTS["labels"]))
    scenarios = parse_scenarios(params.get("scenarios", DEFAULTS["scenarios"]))
    conc = parse_ladder(params.get("concurrencies", DEFAULTS["concurrencies"]))

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
