"""Wire formats of the three APIs: request bodies and the parsing of one streamed SSE event.

- ``sglang``: ``POST /generate``; events ``data: {"text": <cumulative>, "meta_info": {...}}`` with
  ``prompt_tokens`` / ``completion_tokens`` / ``finish_reason``, then ``data: [DONE]``.
- ``openai``: ``POST /v1/completions``, ``choices[0].text`` deltas.
- ``openai-chat``: ``POST /v1/chat/completions``, ``choices[0].delta.content`` (+ reasoning) deltas.
``PointConfig.input_ids`` sends token ids instead of text (``input_ids`` on ``/generate``, a list of
ints as ``prompt`` on ``/v1/completions``); with a real tokenizer (``PointConfig.tokenizer``) the
native route always sends the prompt's ids. Both OpenAI routes ask for
``stream_options.include_usage`` so the final usage chunk gives token counts, and carry
``ignore_eos`` only when it is enabled (strict servers reject the unknown field); an ``error``
object in an event fails the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from frontier.loadgen.config import PointConfig
from frontier.loadgen.dataset import Prompt

PATHS = {"sglang": "/generate", "openai": "/v1/completions", "openai-chat": "/v1/chat/completions"}
DONE = b"[DONE]"


@dataclass(slots=True)
class Event:
    """What one SSE event tells the client."""

    content: bool = False  # it carries generated text
    text: str = ""  # sglang: the cumulative text so far (empty on the fast path); OpenAI: the delta
    completion_tokens: int | None = None  # cumulative, when the server reports it
    prompt_tokens: int | None = None
    error: str | None = None
    finish_reason: str | None = None  # set on the event that ends the generation


def url_for(cfg: PointConfig) -> str:
    return cfg.base_url.rstrip("/") + PATHS[cfg.backend]


def payload_for(cfg: PointConfig, prompt: Prompt) -> dict[str, Any]:
    if cfg.backend == "sglang":
        ids = prompt.token_ids if (cfg.input_ids or cfg.tokenizer) else None
        return {
            **({"input_ids": ids} if ids is not None else {"text": prompt.text}),
            "sampling_params": {
                "temperature": 0.0,
                "max_new_tokens": prompt.output_len,
                "ignore_eos": cfg.ignore_eos,
            },
            "stream": True,
        }
    body: dict[str, Any] = {
        "model": cfg.model,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if cfg.ignore_eos:  # a vLLM/SGLang extension: sent only when wanted (load.ignore_eos)
        body["ignore_eos"] = True
    if cfg.backend == "openai":
        body.update(
            prompt=prompt.token_ids if (cfg.input_ids and prompt.token_ids is not None) else prompt.text,
            max_tokens=prompt.output_len,
            best_of=1,
        )
    else:
        body.update(
            messages=[{"role": "user", "content": prompt.text}],
            max_completion_tokens=prompt.output_len,
        )
    return body


def _error_text(err: Any) -> str:
    if isinstance(err, dict):
        return str(err.get("message") or err)
    return str(err)


_TEXT_KEY = b'{"text":'
_META_KEY = b'"meta_info":'
_DECODER = json.JSONDecoder()


def _sglang_fast(raw: bytes) -> Event | None:
    """Parse a native event without decoding its cumulative text (O(text) bytes scan, no big str).

    ``/generate`` events repeat the whole text so far; decoding it each time makes a long output
    quadratic in Python. Applies to compact ``{"text":"...","meta_info":{...}}`` events (SGLang's
    and the simulator's shape); anything else goes the slow, general way.
    """
    if not raw.startswith(_TEXT_KEY):
        return None
    i = raw.rfind(_META_KEY)
    if i < 0:
        return None
    try:
        meta, _ = _DECODER.raw_decode(raw[i + len(_META_KEY) :].decode().lstrip())
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("completion_tokens") is None:
        return None
    rest = raw[len(_TEXT_KEY) : len(_TEXT_KEY) + 4].lstrip()
    return Event(
        content=rest[:1] == b'"' and rest[1:2] != b'"',
        completion_tokens=meta["completion_tokens"],
        prompt_tokens=meta.get("prompt_tokens"),
        finish_reason=_finish(meta.get("finish_reason")),
    )


def _finish(fr: Any) -> str | None:
    """A finish reason: OpenAI's string, or SGLang's ``{"type": "length", ...}`` object."""
    if isinstance(fr, dict):
        return str(fr.get("type") or "stop")
    return str(fr) if fr else None


def parse_event(backend: str, raw: bytes) -> Event:
    """Parse the JSON of one ``data:`` line (without the prefix)."""
    if backend == "sglang" and (fast := _sglang_fast(raw)) is not None:
        return fast
    data = json.loads(raw)
    if not isinstance(data, dict):
        return Event(error=f"unexpected event: {raw[:200]!r}")
    if data.get("error"):
        return Event(error=_error_text(data["error"]))
    if data.get("object") == "error":  # OpenAI-style error object
        return Event(error=str(data.get("message") or data))
    if backend == "sglang":
        meta = data.get("meta_info") or {}
        text = data.get("text") or ""
        return Event(
            content=bool(text),
            text=text,
            completion_tokens=meta.get("completion_tokens"),
            prompt_tokens=meta.get("prompt_tokens"),
            finish_reason=_finish(meta.get("finish_reason")),
        )
    usage = data.get("usage") or {}
    ev = Event(completion_tokens=usage.get("completion_tokens"), prompt_tokens=usage.get("prompt_tokens"))
    choices = data.get("choices") or []
    if choices:
        c = choices[0]
        ev.finish_reason = _finish(c.get("finish_reason"))
        if backend == "openai":
            ev.text = c.get("text") or ""
        else:
            delta = c.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
            ev.text = reasoning + (delta.get("content") or "")
        ev.content = bool(ev.text)
    return ev
