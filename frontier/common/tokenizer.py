"""The deterministic fake tokenizer shared by the simulated server and the load generator.

No model weights or HF tokenizers exist on development machines, so both sides agree on one
rule: a token is one whitespace-separated word. Token id ``i`` renders as the word ``w{i}``
(``w`` followed by the id in base 10), and any other word maps to a stable id by CRC32. A
prompt of N tokens is therefore N words, and the server's reported ``prompt_tokens`` equals the
client's own count. Real SGLang servers report their own counts; the load generator trusts the
server's usage figures whenever they are present.
"""

from __future__ import annotations

import random
import zlib

VOCAB_SIZE = 32_000


def token_text(token_id: int) -> str:
    """The text of one token id (a word plus a trailing space when streamed)."""
    return f"w{token_id % VOCAB_SIZE}"


def encode(text: str) -> list[int]:
    """Token ids of a text: one id per whitespace-separated word."""
    ids = []
    for word in text.split():
        if word[0] == "w" and word[1:].isdigit():
            ids.append(int(word[1:]) % VOCAB_SIZE)
        else:
            ids.append(zlib.crc32(word.encode()) % VOCAB_SIZE)
    return ids


def count_tokens(text: str) -> int:
    """Number of tokens in a text under the fake tokenizer."""
    return len(text.split())


def decode(ids: list[int]) -> str:
    return " ".join(token_text(i) for i in ids)


def random_ids(n: int, rng: random.Random) -> list[int]:
    """n random token ids (prompts of exact length)."""
    return [rng.randrange(VOCAB_SIZE) for _ in range(n)]


def random_prompt(n: int, rng: random.Random) -> str:
    """A prompt text of exactly n fake tokens."""
    return decode(random_ids(n, rng))
