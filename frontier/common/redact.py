"""Redaction of secrets from anything frontier lands, logs or publishes.

Secrets (HF tokens, API keys, SSH keys, passwords) reach servers only through the environment
or Airflow Connections. They must never show up in the warehouse (``commands_json``,
``server_info_json``, failure reasons, log tails, request errors), the site, task logs or the
rendered commands. Everything free-text passes through :func:`redact_text` (or
:func:`redact_argv` / :func:`redact_obj`) before it leaves the process:

- the values of environment variables whose name contains TOKEN, SECRET, PASSWORD, PASSWD, KEY
  or CREDENTIAL (values of 8+ characters, so ``TOKENIZERS_PARALLELISM=false`` redacts nothing);
- the value after a secret flag (``--api-key X``, ``--api-key=X``, ``--hf-token``,
  ``--admin-api-key``, ``--ssl-keyfile-password``: any flag with a ``key``, ``token``, ``secret``,
  ``password`` word), in argv lists and in text;
- ``NAME=value`` / ``"name": "value"`` assignments of such names in text;
- known token shapes: Hugging Face ``hf_...``, OpenAI-style ``sk-...``, GitHub ``ghp_...``,
  AWS access key ids, ``Authorization: Bearer ...``, PEM private key blocks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
_SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "credential",
    "credentials",
    "apikey",
    "auth",
)
_ENV_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL", re.IGNORECASE)
_MIN_ENV_VALUE = 8

_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL),
    re.compile(r"\bhf_[A-Za-z0-9]{16,}\b"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"(?i)(?<=\bBearer )[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(?<=\bBasic )[A-Za-z0-9+/=]{8,}"),
]


def is_secret_name(name: str) -> bool:
    """A flag or key name that holds a secret: one of its words is key / token / secret / password ..."""
    words = [w for w in re.split(r"[-_.\s]+", name.lower().lstrip("-")) if w]
    return any(w in _SECRET_WORDS for w in words)


# --api-key X, --hf-token=X, "api_key": "X", HF_TOKEN=X, api_key: X
_FLAG_VALUE = re.compile(
    r"(?P<flag>--[A-Za-z0-9][A-Za-z0-9_-]*)(?P<sep>(?:=|\s+|',\s*|\",\s*)['\"]?)(?P<value>[^\s'\",\]]+)"
)
_ASSIGN = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"',;}&]+)"
)


def _env_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    vals = {
        v
        for k, v in env.items()
        if _ENV_NAME.search(k)
        and v
        and len(v) >= _MIN_ENV_VALUE
        and not v.isdigit()
        and v.lower() not in ("true", "false", "none", "null")
    }
    return sorted(vals, key=len, reverse=True)  # longest first: a value containing another


def redact_text(text: Any, env: Mapping[str, str] | None = None) -> Any:
    """``text`` with every secret replaced by ``***`` (non-strings are returned unchanged)."""
    if not isinstance(text, str) or not text:
        return text
    out = text
    for v in _env_secrets(env):
        if v in out:
            out = out.replace(v, MASK)
    for pat in _PATTERNS:
        out = pat.sub(MASK, out)

    def flag(m: re.Match) -> str:
        if is_secret_name(m["flag"]) and m["value"] != MASK:
            return f"{m['flag']}{m['sep']}{MASK}"
        return m.group(0)

    def assign(m: re.Match) -> str:
        if (
            is_secret_name(m["name"])
            and m["value"] != MASK
            and m["value"].lower() not in ("null", "none", "true", "false", "")
        ):
            return f"{m['name']}{m['sep']}{MASK}"
        return m.group(0)

    out = _FLAG_VALUE.sub(flag, out)
    out = _ASSIGN.sub(assign, out)
    return out


def redact_argv(argv: list[Any], env: Mapping[str, str] | None = None) -> list[Any]:
    """A command line with the value after each secret flag (and any secret text) masked."""
    out: list[Any] = []
    hide_next = False
    for a in argv:
        s = str(a)
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if s.startswith("--") and is_secret_name(s.split("=", 1)[0]):
            if "=" in s:
                out.append(s.split("=", 1)[0] + "=" + MASK)
            else:
                out.append(s)
                hide_next = True
            continue
        out.append(redact_text(a, env) if isinstance(a, str) else a)
    return out


def redact_obj(obj: Any, env: Mapping[str, str] | None = None) -> Any:
    """A JSON-like value with secrets masked: secret-named keys' values, argv lists, every string."""
    if isinstance(obj, Mapping):
        return {
            k: (
                MASK
                if isinstance(k, str) and is_secret_name(k) and v not in (None, "", False)
                else redact_obj(v, env)
            )
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        if any(isinstance(a, str) and a.startswith("--") for a in obj):
            return redact_argv(list(obj), env)
        return [redact_obj(v, env) for v in obj]
    if isinstance(obj, str):
        return redact_text(obj, env)
    return obj
