"""A small real BPE tokenizer made inside a test (no hub): `make_tokenizer(dir)` -> its tokenizer.json.

Byte-level BPE (GPT-2 / Llama-3 style pre-tokenizer and decoder) trained on a generated English-like
corpus, vocabulary 600, with a BOS token added to every encoded text as Llama's tokenizers do.
"""

from __future__ import annotations

import random
from pathlib import Path

WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "serving",
    "large",
    "language",
    "models",
    "needs",
    "careful",
    "benchmarking",
    "of",
    "throughput",
    "latency",
    "tokens",
    "per",
    "second",
    "under",
    "concurrency",
    "with",
    "prefill",
    "decode",
]


def make_tokenizer(directory: Path, vocab_size: int = 600, bos: bool = True) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    rng = random.Random(7)
    corpus = [" ".join(rng.choice(WORDS) for _ in range(30)) for _ in range(200)]
    corpus += [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 .,") for _ in range(80)) for _ in range(200)
    ]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "tokenizer.json"
    tok.save(str(path))
    return path
