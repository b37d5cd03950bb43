"""Find and load the SQL models of ``sql/`` by name (``staging/points``, ``marts/frontier_points``, ...).

``sql_dir()`` looks, in order, at ``$FRONTIER_SQL_DIR``, a ``frontier/sql`` folder inside the
package, the repository's top-level ``sql/`` (``Path(__file__).parents[2] / "sql"``: a checkout or
an editable install), then ``<prefix>/share/frontier/sql`` (a wheel install: pyproject's
``[tool.setuptools.data-files]`` copies sql/ there).
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

from frontier.errors import FrontierError

LAYERS = ("staging", "intermediate", "marts", "audits")
# Models computed in Python over SQL models (name -> "module:function"); see frontier/analysis/regress.py.
# marts/regressions is SQL (the morning-after check); marts/regression_steps is the step detector.
PYTHON_MODELS = {"marts/regression_steps": "frontier.analysis.regress:regressions"}

_PARAM_RE = re.compile(r"(?<![$\w])\$([A-Za-z_][A-Za-z0-9_]*)")
# string literals and comments in one left-to-right pass, so a "--" inside a literal is not a comment
# and a quote inside a comment does not open a literal
_LITERAL_OR_COMMENT_RE = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)


def sql_dir() -> Path:
    """The folder holding the SQL models (see the module docstring for the search order)."""
    env = os.environ.get("FRONTIER_SQL_DIR")
    if env:
        path = Path(env)
        if not path.is_dir():
            raise FrontierError(
                f"FRONTIER_SQL_DIR={env!r} is not a folder; point it at the repository's sql/ or unset it"
            )
        return path
    here = Path(__file__).resolve()
    candidates = [here.parents[1] / "sql", here.parents[2] / "sql"]
    for prefix in dict.fromkeys((sysconfig.get_path("data"), sys.prefix, sys.base_prefix)):
        candidates.append(Path(prefix) / "share" / "frontier" / "sql")
    for candidate in candidates:
        if (candidate / "marts").is_dir():
            return candidate
    raise FrontierError(
        f"SQL models not found (looked in {', '.join(map(str, candidates))}); "
        f"set FRONTIER_SQL_DIR to the repository's sql/ folder"
    )


def models_in(layer: str) -> list[str]:
    """Model names of one layer, sorted (``staging/points``, ...)."""
    folder = sql_dir() / layer
    names = [f"{layer}/{p.stem}" for p in folder.glob("*.sql")] if folder.is_dir() else []
    if layer == "marts":
        names += [n for n in PYTHON_MODELS if n.startswith("marts/")]
    return sorted(set(names))


def model_names() -> list[str]:
    """Every model: staging, intermediate, marts and audits."""
    return [n for layer in LAYERS for n in models_in(layer)]


def resolve(name: str) -> str:
    """``frontier_points`` -> ``marts/frontier_points``; an unknown name fails listing the marts."""
    if not isinstance(name, str) or not name:
        raise FrontierError("model name is empty: name a model such as marts/frontier_points")
    names = model_names()
    if name in names:
        return name
    bare = name.removesuffix(".sql")
    for layer in ("marts", "audits", "intermediate", "staging"):
        if f"{layer}/{bare}" in names:
            return f"{layer}/{bare}"
    raise FrontierError(
        f"unknown model {name!r}; marts are: {', '.join(n.split('/', 1)[1] for n in models_in('marts'))} "
        f"(`frontier query --list` shows all models)"
    )


def is_model(name: str) -> bool:
    try:
        resolve(name)
        return True
    except FrontierError:
        return False


@lru_cache(maxsize=256)
def _read(path: str, mtime: float) -> str:
    return Path(path).read_text()


def model_sql(name: str) -> str:
    path = sql_dir() / f"{resolve(name)}.sql"
    if not path.exists():
        raise FrontierError(f"model {name!r} has no SQL file at {path}")
    return _read(str(path), path.stat().st_mtime).strip().rstrip(";")


def params_of(sql: str) -> list[str]:
    """Named ``$parameters`` used by a SQL text (comments and string literals ignored)."""
    text = _LITERAL_OR_COMMENT_RE.sub(lambda m: "''" if m.group(0)[0] == "'" else " ", sql)
    return sorted(set(_PARAM_RE.findall(text)))


def with_null_params(sql: str) -> str:
    """``sql`` with every ``$name`` parameter replaced by ``NULL`` (each model's documented default).

    Used to turn a mart into a plain view (``SELECT * FROM frontier_points`` in ad-hoc SQL). Only
    the model files' own text is rewritten (never user input); comments are dropped and string
    literals are left alone.
    """
    out, pos = [], 0
    for m in _LITERAL_OR_COMMENT_RE.finditer(sql):
        out.append(_PARAM_RE.sub("NULL", sql[pos : m.start()]))
        out.append(m.group(0) if m.group(0)[0] == "'" else " ")
        pos = m.end()
    out.append(_PARAM_RE.sub("NULL", sql[pos:]))
    return "".join(out)
