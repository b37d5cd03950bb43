"""Prompts for a point: `random` (exact or ranged lengths), `sharegpt` (a local file), `shared-prefix`.

Lengths follow ``sglang.bench_serving``: with ``range_ratio`` r, input and output lengths are drawn
uniformly from ``[max(int(L * r), 1), L]`` (r = 1 gives exact lengths). Without ``cfg.tokenizer`` text
is made of fake-tokenizer words (`frontier.common.tokenizer`), so a prompt of N tokens is N words for
the simulated server. With a real tokenizer (``cfg.tokenizer``, `frontier.common.hf_tokenizer`) each
prompt is random token ids decoded, re-encoded and trimmed/padded until the server's own count of the
text (special tokens included) is exactly N, and its ids are kept (sent as ``input_ids`` on SGLang's
native route). Warm-up prompts come from the same generator, before the measured ones.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from frontier.common import hf_tokenizer, tokenizer
from frontier.common.hf_tokenizer import HFTokenizer
from frontier.errors import FrontierError
from frontier.loadgen.config import PointConfig


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str
    input_tokens: int  # the client's own count (the server's usage figure wins when present)
    output_len: int  # max_tokens asked for
    # the prompt's ids (made before the clock runs): the real tokenizer's when PointConfig.tokenizer
    # (specials included, as the server would tokenize the text), else the fake tokenizer's when input_ids
    token_ids: list[int] | None = None


def _lengths(n: int, length: int, ratio: float, rng: random.Random) -> list[int]:
    low = max(int(length * ratio), 1)
    return [rng.randint(low, length) for _ in range(n)]


def _random(cfg: PointConfig, n: int, rng: random.Random, tok: HFTokenizer | None) -> list[Prompt]:
    ins = _lengths(n, cfg.isl, cfg.range_ratio, rng)
    outs = _lengths(n, cfg.osl, cfg.range_ratio, rng)
    if tok is not None:
        made = tok.exact_prompts(ins, rng)
        return [Prompt(t, len(ids), o, ids) for (t, ids), o in zip(made, outs, strict=True)]
    return [Prompt(tokenizer.random_prompt(i, rng), i, o) for i, o in zip(ins, outs, strict=True)]


def _shared_prefix(cfg: PointConfig, n: int, rng: random.Random, tok: HFTokenizer | None) -> list[Prompt]:
    outs = _lengths(n, cfg.osl, cfg.range_ratio, rng)
    suffix_len = cfg.isl - cfg.shared_prefix_len
    if tok is not None:  # one exact prefix text, then an exact whole prompt per request behind it
        prefix, _ = tok.exact_prompt(cfg.shared_prefix_len, rng)
        made = []
        for o in outs:
            suffix, _ = tok.exact_prompt(suffix_len + tok.n_special, rng)
            text = prefix + suffix
            ids = tok.encode(text)
            made.append(Prompt(text, len(ids), o, ids))
        return made
    prefix = tokenizer.random_prompt(cfg.shared_prefix_len, rng)
    return [Prompt(prefix + " " + tokenizer.random_prompt(suffix_len, rng), cfg.isl, o) for o in outs]


def _sharegpt(cfg: PointConfig, n: int, rng: random.Random, tok: HFTokenizer | None) -> list[Prompt]:
    count = tokenizer.count_tokens if tok is None else tok.count
    path = Path(cfg.dataset_path or "")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise FrontierError(f"dataset_path {path}: cannot read a ShareGPT JSON list ({e})") from e
    pairs = []
    for item in data:
        conv = item.get("conversations") or item.get("conversation") or []
        if len(conv) < 2:
            continue
        prompt, completion = conv[0]["value"], conv[1]["value"]
        p_len, c_len = count(prompt), count(completion)
        if p_len < 2 or c_len < 2:  # bench_serving drops these too
            continue
        ids = None if tok is None else tok.encode(prompt)
        pairs.append(Prompt(prompt, p_len, min(c_len, cfg.osl), ids))
    if not pairs:
        raise FrontierError(f"dataset_path {path}: no usable two-turn conversation in the file")
    rng.shuffle(pairs)
    return [pairs[i % len(pairs)] for i in range(n)]


def build_prompts(cfg: PointConfig) -> list[Prompt]:
    """All prompts of a point, warm-up first, deterministic for a given ``cfg.seed``."""
    rng = random.Random(cfg.seed)
    tok = hf_tokenizer.load(cfg.tokenizer) if cfg.tokenizer else None
    make = {"random": _random, "shared-prefix": _shared_prefix, "sharegpt": _sharegpt}[cfg.dataset]
    prompts = make(cfg, cfg.total_requests, rng, tok)
    if tok is not None:  # real ids ride along; they are sent only where the route takes ids
        return prompts
    if cfg.input_ids:  # generated prompts are w<id> words: their ids are exactly input_tokens long
        prompts = [Prompt(p.text, p.input_tokens, p.output_len, tokenizer.encode(p.text)) for p in prompts]
    return prompts
