"""Wire shapes of SGLang's HTTP API as the simulator speaks them (bodies, SSE chunks, errors).

Native ``/generate`` streams ``data: {"text": <cumulative text>, "meta_info": {...}}`` lines
then ``data: [DONE]``; OpenAI endpoints stream ``chat.completion.chunk`` / ``text_completion``
objects, a final usage chunk when ``stream_options.include_usage`` is set, then ``data: [DONE]``.
Errors: native ``{"error": {"message": ...}}``, OpenAI ``{"object": "error", "message": ...,
"type": "BadRequestError", "param": null, "code": 400}`` (SGLang's own shapes).

Generated tokens come from the fake tokenizer (frontier/common/tokenizer.py): output token i of a
request is id ``(rid * 7919 + i * 104729) % VOCAB`` rendered ``w<id>`` plus a space.
"""

from __future__ import annotations

import json

from frontier.common.tokenizer import VOCAB_SIZE

DONE = b"data: [DONE]\n\n"


def token_id(rid: int, i: int) -> int:
    return (rid * 7919 + i * 104729) % VOCAB_SIZE


def token_piece(rid: int, i: int) -> str:
    return f"w{token_id(rid, i)} "


def dumps(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def sse(obj: dict) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


def openai_error(message: str, code: int = 400, err_type: str = "BadRequestError") -> dict:
    return {"object": "error", "message": message, "type": err_type, "param": None, "code": code}


def native_error(message: str) -> dict:
    return {"error": {"message": message}}


def finish_reason(done: bool, n: int) -> dict | None:
    return {"type": "length", "length": n} if done else None


def meta_info(rid: str, prompt: int, completion: int, done: bool, e2e: float) -> dict:
    return {
        "id": rid,
        "finish_reason": finish_reason(done, completion),
        "prompt_tokens": prompt,
        "weight_version": "default",
        "completion_tokens": completion,
        "cached_tokens": 0,
        "e2e_latency": e2e,
    }


def meta_bytes(rid: str, prompt: int, completion: int, done: bool, e2e: float) -> bytes:
    """``dumps(meta_info(...))`` without building the dict (``rid`` is JSON-safe: hex)."""
    fin = b'{"type":"length","length":%d}' % completion if done else b"null"
    return (
        b'{"id":"%s","finish_reason":%s,"prompt_tokens":%d,"weight_version":"default",'
        b'"completion_tokens":%d,"cached_tokens":0,"e2e_latency":%s}'
        % (rid.encode(), fin, prompt, completion, json.dumps(e2e).encode())
    )


_MARK = "\x00"  # stands in for the text when a chunk is pre-encoded; JSON writes it \u0000
_MARK_JSON = b"\\u0000"


class SseTemplate:
    """One stream's SSE chunk pre-encoded around its text: ``event(text, done)`` returns the same
    bytes as ``sse(chunk)`` (the text is the fake tokenizer's ASCII, JSON-safe as is), so a step
    costs two concatenations instead of a dict and a JSON encoding per token."""

    __slots__ = ("head", "tail", "tail_done")

    def __init__(self, build) -> None:
        """``build(text, finish)`` -> the chunk dict (completion_chunk / chat_chunk partial)."""
        a, b = sse(build(_MARK, None)), sse(build(_MARK, "length"))
        i, j = a.rfind(_MARK_JSON), b.rfind(_MARK_JSON)  # the text follows every user string
        self.head, self.tail, self.tail_done = a[:i], a[i + len(_MARK_JSON) :], b[j + len(_MARK_JSON) :]
        if b[:j] != self.head:
            raise ValueError("chunk template: heads differ")

    def event(self, text: bytes, done: bool) -> bytes:
        return self.head + text + (self.tail_done if done else self.tail)


def usage(prompt: int, completion: int) -> dict:
    return {
        "prompt_tokens": prompt,
        "total_tokens": prompt + completion,
        "completion_tokens": completion,
        "prompt_tokens_details": None,
        "reasoning_tokens": 0,
    }


def completion_chunk(cid: str, created: int, model: str, text: str, finish: str | None) -> dict:
    return {
        "id": cid,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "text": text, "logprobs": None, "finish_reason": finish, "matched_stop": None}
        ],
        "usage": None,
    }


def chat_chunk(cid: str, created: int, model: str, delta: dict, finish: str | None) -> dict:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish, "matched_stop": None}
        ],
        "usage": None,
    }


def usage_chunk(cid: str, created: int, model: str, obj: str, prompt: int, completion: int) -> dict:
    return {
        "id": cid,
        "object": obj,
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage(prompt, completion),
    }
