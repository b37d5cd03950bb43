"""The frontier form's free-text fields, checked by Airflow before a run is created.

Airflow 3.3 validates a trigger's conf against each Param's JSON schema (``jsonschema.validate``
with a fresh ``FormatChecker()``) in the API server, before it creates the DAG run; a failure is
an HTTP 400 whose detail the UI shows: ``Invalid input for param labels: <message>``. A schema
cannot call Python, and a ``pattern`` failure reads as a long regex plus a schema dump. So the
frontier Params carry a ``format`` (``frontier-labels``, ``frontier-scenarios``,
``frontier-ladder``, ``frontier-ladder-or-empty``) and this module registers a checker for each
on jsonschema's ``FormatChecker``: it runs the grammar's own parser (``frontier.domain.adhoc``)
and raises ``ParamValidationError`` with one line per bad value, so the 400 reads e.g.::

    Invalid input for param labels: label 'TP0': GPU count must be at least 1 ...

The checker raises instead of returning False on purpose: jsonschema turns a False into
``'TP0' is not a 'frontier-labels'`` plus the schema dump; an exception it was not told to catch
leaves ``validate`` as is and Airflow puts its text in the one line above.

Import it where Params are validated: ``$AIRFLOW_HOME/config/airflow_local_settings.py`` (the API
server, scheduler, workers) and the DAG files (``dag.test()``). Where it is not imported, an
unknown ``format`` is ignored by jsonschema and the ``plan`` task rejects the same values with the
same lines (one red task, the report names the cause): never a silent default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import FormatChecker


def _checker(parser: str, field: str, required: bool) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        from frontier.domain import adhoc  # on first use: DAG files importing this stay light
        from frontier.domain.spec import SpecError

        try:
            getattr(adhoc, parser)(value, required=required)
        except SpecError as e:
            from airflow.sdk.exceptions import ParamValidationError

            raise ParamValidationError(
                "\n".join(line.removeprefix(f"{field}: ") for line in str(e).splitlines())
            ) from None
        return True

    return check


FORMATS: dict[str, Callable[[Any], bool]] = {
    "frontier-labels": _checker("parse_labels", "labels", True),
    "frontier-labels-or-empty": _checker("parse_labels", "labels", False),
    "frontier-scenarios": _checker("parse_scenarios", "scenarios", True),
    "frontier-scenarios-or-empty": _checker("parse_scenarios", "scenarios", False),
    "frontier-ladder": _checker("parse_ladder", "concurrencies", True),
    "frontier-ladder-or-empty": _checker("parse_ladder", "concurrencies", False),
}


def register() -> None:
    """Add the frontier formats to every ``FormatChecker()`` made from now on (idempotent)."""
    for name, func in FORMATS.items():
        # what FormatChecker.checks does on an instance, on the class's table that Airflow's fresh
        # FormatChecker() copies; raises=() so the checker's ParamValidationError is not swallowed
        FormatChecker.checkers[name] = (func, ())


register()
