"""Request bodies and stream-event parsing of the three APIs."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from frontier.loadgen import PointConfig
from frontier.loadgen.dataset import Prompt
from frontier.loadgen.protocol import _sglang_fast, parse_event, payload_for, url_for


def cfg(backend):
    return PointConfig(
        base_url="http://h:1/", backend=backend, model="m", isl=4, osl=8, max_concurrency=1, num_prompts=1
    )


def test_payloads_and_urls():
    p = Prompt("w1 w2 w3 w4", 4, 8)
    body = payload_for(cfg("sglang"), p)
    assert url_for(cfg("sglang")) == "http://h:1/generate"
    assert body["text"] == p.text and body["stream"] is True
    assert body["sampling_params"] == {"temperature": 0.0, "max_new_tokens": 8, "ignore_eos": True}
    body = payload_for(cfg("openai"), p)
    assert url_for(cfg("openai")).endswith("/v1/completions")
    assert body["prompt"] == p.text and body["max_tokens"] == 8 and body["stream_options"]["include_usage"]
    body = payload_for(cfg("openai-chat"), p)
    assert url_for(cfg("openai-chat")).endswith("/v1/chat/completions")
    assert body["messages"][0]["content"] == p.text and body["max_completion_tokens"] == 8


def test_parse_sglang_event():
    raw = json.dumps({"text": "w1 w2", "meta_info": {"prompt_tokens": 4, "completion_tokens": 2}}).encode()
    ev = parse_event("sglang", raw)
    assert ev.content and ev.completion_tokens == 2 and ev.prompt_tokens == 4 and ev.error is None
    ev = parse_event("sglang", b'{"meta_info": {"completion_tokens": 2}, "text": "w1 w2"}')  # general path
    assert ev.content and ev.text == "w1 w2" and ev.completion_tokens == 2


def test_parse_openai_events():
    ev = parse_event("openai", b'{"choices": [{"text": "w1 "}]}')
    assert ev.text == "w1 " and ev.completion_tokens is None
    ev = parse_event("openai", b'{"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 8}}')
    assert ev.text == "" and ev.completion_tokens == 8 and ev.prompt_tokens == 4
    ev = parse_event(
        "openai-chat", b'{"choices": [{"delta": {"reasoning_content": "hm ", "content": null}}]}'
    )
    assert ev.text == "hm "
    ev = parse_event("openai-chat", b'{"choices": [{"delta": {"role": "assistant"}}]}')
    assert ev.text == ""


def test_parse_error_event():
    ev = parse_event("sglang", b'{"error": {"message": "out of memory"}}')
    assert ev.error == "out of memory"


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60), n=st.integers(0, 10_000), compact=st.booleans())
def test_sglang_fast_path_agrees_with_full_parse(text, n, compact):
    obj = {"text": text, "meta_info": {"id": "r", "prompt_tokens": 7, "completion_tokens": n}}
    raw = json.dumps(obj, separators=(",", ":") if compact else None).encode()
    fast = _sglang_fast(raw)
    assert fast is not None
    full = parse_event("sglang", raw.replace(b'{"text"', b'{ "text"', 1))  # not the fast shape
    assert full.text == text
    assert (fast.content, fast.completion_tokens, fast.prompt_tokens) == (
        full.content,
        full.completion_tokens,
        full.prompt_tokens,
    )


def test_openai_style_error_object():
    ev = parse_event("openai-chat", b'{"object": "error", "message": "context too long", "code": 400}')
    assert ev.error == "context too long"


def test_input_ids_payloads():
    from frontier.loadgen.dataset import build_prompts

    c = PointConfig(base_url="http://h:1/", model="m", isl=16, osl=4, max_concurrency=1, num_prompts=3,
                    input_ids=True)  # fmt: skip
    prompts = build_prompts(c)
    assert all(p.token_ids is not None and len(p.token_ids) == 16 == p.input_tokens for p in prompts)
    body = payload_for(c, prompts[0])
    assert body["input_ids"] == prompts[0].token_ids and "text" not in body
    oc = c.model_copy(update={"backend": "openai"})
    assert payload_for(oc, prompts[0])["prompt"] == prompts[0].token_ids
    # default: text, no ids built
    plain = build_prompts(c.model_copy(update={"input_ids": False}))
    assert plain[0].token_ids is None and payload_for(cfg("sglang"), plain[0])["text"] == plain[0].text
