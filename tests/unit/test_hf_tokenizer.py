"""Real tokenizers offline (frontier.common.hf_tokenizer) and exact prompt lengths on them
(frontier.loadgen.dataset); the tokenizer is trained inside the test, the HF cache is a tmp dir."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("tokenizers", reason="needs `tokenizers` (extra hf)")

from frontier.common import hf_tokenizer
from frontier.errors import FrontierError
from frontier.loadgen.config import PointConfig
from frontier.loadgen.dataset import build_prompts
from tests.support import make_tokenizer


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory):
    return make_tokenizer(tmp_path_factory.mktemp("tok"))


def test_exact_prompts_count_as_the_server_counts(tok_path):
    tok = hf_tokenizer.load(str(tok_path))
    assert tok.n_special == 1  # BOS, as Llama's tokenizers add
    rng = random.Random(3)
    lengths = [2, 3, 17, 64, 333, 1024, 4000]
    for (text, ids), n in zip(tok.exact_prompts(lengths, rng), lengths, strict=True):
        assert len(ids) == n and tok.count(text) == n and tok.encode(text) == ids
    for n in (5, 50, 500):  # the general path: arbitrary ids, decode, re-encode, trim/pad
        text, ids = tok.exact_prompt(n, rng)
        assert tok.count(text) == n and len(ids) == n


def test_word_prompts_are_far_off_on_a_real_tokenizer(tok_path):
    from frontier.common import tokenizer as words

    tok = hf_tokenizer.load(str(tok_path))
    assert tok.count(words.random_prompt(64, random.Random(0))) > 2 * 64  # why the issue exists


def test_build_prompts_range_ratio_and_ids(tok_path):
    cfg = PointConfig(
        base_url="http://x", model="m", isl=200, osl=10, max_concurrency=2, num_prompts=40,
        warmup_requests=4, range_ratio=0.8, tokenizer=str(tok_path),
    )  # fmt: skip
    prompts = build_prompts(cfg)
    assert len(prompts) == 44
    tok = hf_tokenizer.load(str(tok_path))
    assert all(160 <= p.input_tokens <= 200 and 8 <= p.output_len <= 10 for p in prompts)
    assert all(p.token_ids is not None and len(p.token_ids) == p.input_tokens for p in prompts)
    assert all(tok.count(p.text) == p.input_tokens for p in prompts)
    assert build_prompts(cfg) == prompts  # deterministic per seed
    shared = build_prompts(cfg.model_copy(update={"dataset": "shared-prefix", "shared_prefix_len": 50}))
    assert all(abs(p.input_tokens - 200) <= 2 for p in shared)


def test_model_id_resolves_from_the_local_cache_only(tmp_path, tok_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(FrontierError) as e:
        hf_tokenizer.resolve("org/tiny-model")
    msg = str(e.value)
    assert "not in the local Hugging Face cache" in msg and str(tmp_path / "hub") in msg
    assert "--tokenizer PATH" in msg and "load.tokenizer" in msg
    snap = tmp_path / "hub" / "models--org--tiny-model" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "tokenizer.json").write_bytes(tok_path.read_bytes())
    (tmp_path / "hub" / "models--org--tiny-model" / "refs").mkdir()
    (tmp_path / "hub" / "models--org--tiny-model" / "refs" / "main").write_text("abc123")
    assert hf_tokenizer.resolve("org/tiny-model") == snap / "tokenizer.json"
    assert hf_tokenizer.load("org/tiny-model").count("the quick brown fox") > 1
    assert hf_tokenizer.resolve(str(tok_path.parent)) == tok_path  # a model directory
    with pytest.raises(FrontierError, match="no tokenizer.json"):
        hf_tokenizer.resolve(str(tmp_path))
