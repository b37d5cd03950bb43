"""Reading a server's log: the one line that says why it failed, and excerpts (secrets masked).

Every target reports a failed launch or a dead server the same way: the last exception line of
its log (``SomethingError: ...``, e.g. SGLang's ``torch.OutOfMemoryError: CUDA out of memory``),
else the last line naming an error, fatal condition or OOM.
"""

from __future__ import annotations

import re

from frontier.common.redact import redact_text

_EXC_LINE = re.compile(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception)\b: ")
_ERR_LINE = re.compile(r"(?i)\b(?:error|fatal|out of memory|exception)\b")
MAX_LINE = 300


def error_line(text: str) -> str | None:
    """The line of a log that says what went wrong, masked and cut to 300 characters."""
    lines = text.splitlines()
    for pat in (_EXC_LINE, _ERR_LINE):
        for line in reversed(lines):
            if pat.search(line):
                s = line.strip()
                return redact_text(s if len(s) <= MAX_LINE else s[: MAX_LINE - 3] + "...")
    return None


def excerpt(text: str, head: int = 10, tail: int = 30) -> str:
    """The first ``head`` and last ``tail`` lines (all of it when short), masked."""
    lines = text.splitlines()
    if len(lines) > head + tail:
        lines = lines[:head] + [f"... ({len(lines) - head - tail} lines) ..."] + lines[-tail:]
    return redact_text("\n".join(lines))
