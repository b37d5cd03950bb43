"""The pre-encoded SSE chunks of the simulated server are byte-identical to the dict + JSON path."""

from __future__ import annotations

import pytest

from frontier.sim import protocol as P


@pytest.mark.parametrize("model", ["m", 'we"ird\x00\\model', "modèle"])
@pytest.mark.parametrize("done", [False, True])
def test_sse_template_matches_json_encoding(model, done):
    fin = "length" if done else None
    chat = P.SseTemplate(lambda t, f: P.chat_chunk("chatcmpl-1", 7, model, {"content": t}, f))
    assert chat.event(b"w12 w3 ", done) == P.sse(
        P.chat_chunk("chatcmpl-1", 7, model, {"content": "w12 w3 "}, fin)
    )
    comp = P.SseTemplate(lambda t, f: P.completion_chunk("cmpl-1", 7, model, t, f))
    assert comp.event(b"w12 ", done) == P.sse(P.completion_chunk("cmpl-1", 7, model, "w12 ", fin))


@pytest.mark.parametrize("e2e", [0.0, 1e-7, 0.123456789, 12.5, 3e10])
@pytest.mark.parametrize("done", [False, True])
def test_meta_bytes_matches_json_encoding(e2e, done):
    assert P.meta_bytes("abc123", 10, 7, done, e2e) == P.dumps(P.meta_info("abc123", 10, 7, done, e2e))
