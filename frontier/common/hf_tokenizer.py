"""Real (Hugging Face) tokenizers, loaded offline: `load(path_or_id)` -> `HFTokenizer`.

A tokenizer is named by a ``tokenizer.json`` file, a directory holding one (a model directory), or
a Hugging Face model id looked up in the local Hugging Face cache only (``HF_HUB_CACHE`` /
``HF_HOME``, as ``HF_HUB_OFFLINE=1`` would): nothing is ever downloaded. It needs the
``tokenizers`` package (the ``hf`` extra). A miss raises `FrontierError` saying how to provide one.

`exact_prompt` makes a prompt of exactly N tokens on a tokenizer the way ``sglang.bench_serving`` /
vLLM's random dataset do: random ids, decode, re-encode, then trim or pad with random ids and
repeat until the re-encoded text is exactly N tokens, counted as the server counts a text prompt
(special tokens such as BOS included).
"""

from __future__ import annotations

import functools
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontier.errors import FrontierError

HOW = (
    "give a local tokenizer.json or model directory (`frontier bench --tokenizer PATH`, `load.tokenizer:"
    " PATH` in a spec, `--tokenizer-path PATH` on sim-server), or put the model's tokenizer in the local"
    " Hugging Face cache once (`hf download MODEL_ID tokenizer.json` where the hub is reachable)"
)


def _tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as e:
        raise FrontierError(
            "real tokenizers need the `tokenizers` package: pip install 'frontier[hf]'"
            " (scripts/bootstrap.sh installs it)"
        ) from e
    return tokenizers


def _cache_dir() -> str:
    """The local Hugging Face hub cache, read from the environment at call time."""
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return os.environ.get("HF_HUB_CACHE") or os.path.join(home, "hub")


def resolve(path_or_id: str) -> Path:
    """The ``tokenizer.json`` a name stands for (file, directory, or model id in the local HF cache)."""
    p = Path(path_or_id).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        if (p / "tokenizer.json").is_file():
            return p / "tokenizer.json"
        raise FrontierError(
            f"tokenizer {path_or_id!r}: directory has no tokenizer.json (only fast tokenizers are supported); "
            + HOW
        )
    if path_or_id.count("/") <= 1 and not path_or_id.startswith((".", "/", "~")):
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # tokenizers depends on huggingface_hub: only a broken install lands here
            try_to_load_from_cache = None
        if try_to_load_from_cache is not None:
            try:
                hit = try_to_load_from_cache(path_or_id, "tokenizer.json", cache_dir=_cache_dir())
            except ValueError:  # not a valid repo id
                hit = None
            if isinstance(hit, str) and Path(hit).is_file():
                return Path(hit)
    cache = _cache_dir()
    raise FrontierError(
        f"tokenizer {path_or_id!r}: not a local file or directory, and not in the local Hugging Face"
        f" cache ({cache}; nothing is downloaded at run time); " + HOW
    )


@dataclass(frozen=True, eq=False)
class HFTokenizer:
    """A loaded fast tokenizer; ``name`` is what the user gave, ``path`` the file read."""

    name: str
    path: str
    tok: Any

    @property
    def vocab_size(self) -> int:
        return int(self.tok.get_vocab_size(with_added_tokens=False))

    def encode(self, text: str, special: bool = True) -> list[int]:
        """Token ids of a text; ``special`` adds the tokenizer's special tokens (BOS, ...) as a server does."""
        return list(self.tok.encode(text, add_special_tokens=special).ids)

    def count(self, text: str) -> int:
        return len(self.tok.encode(text, add_special_tokens=True).ids)

    def decode(self, ids: list[int]) -> str:
        return str(self.tok.decode(ids, skip_special_tokens=True))

    @functools.cached_property
    def n_special(self) -> int:
        """Special tokens a text prompt gets on encoding (e.g. 1 for a BOS-adding tokenizer)."""
        return len(self.tok.encode("", add_special_tokens=True).ids)

    @functools.cached_property
    def word_ids(self) -> list[int]:
        """Ids of plain words (a space or word-start marker then ASCII letters) that re-encode to
        themselves: random sequences of them decode to text that re-encodes to the same ids."""
        out = []
        for tid in range(self.vocab_size):
            text = self.tok.decode([tid], skip_special_tokens=True)
            word = len(text) > 1 and text[0] == " " and text[1:].isascii() and text[1:].isalpha()
            if word and self.tok.encode(text, add_special_tokens=False).ids == [tid]:
                out.append(tid)
        return out

    def exact_prompts(self, lengths: list[int], rng: random.Random) -> list[tuple[str, list[int]]]:
        """`exact_prompt` for many lengths: random word ids, decode, re-encode (in a batch), and the
        general trim/pad loop for any prompt whose re-encoding is not exactly its length."""
        words = self.word_ids
        if len(words) < 16:  # an odd vocabulary: the general way for every prompt
            return [self.exact_prompt(n, rng) for n in lengths]
        bodies = [[rng.choice(words) for _ in range(max(n - self.n_special, 1))] for n in lengths]
        texts = [str(t) for t in self.tok.decode_batch(bodies, skip_special_tokens=True)]
        encs = self.tok.encode_batch(texts, add_special_tokens=True)
        out = []
        for n, text, enc in zip(lengths, texts, encs, strict=True):
            ids = list(enc.ids)
            out.append((text, ids) if len(ids) == n else self.exact_prompt(n, rng))
        return out

    def exact_prompt(self, n: int, rng: random.Random, max_rounds: int = 4) -> tuple[str, list[int]]:
        """A text of exactly ``n`` tokens as the server counts it, and those ids (specials included)."""
        body = max(n - self.n_special, 1)
        vocab = self.vocab_size
        ids = [rng.randrange(vocab) for _ in range(body)]
        full: list[int] = []
        for _ in range(max_rounds):
            text = self.decode(ids)
            full = self.encode(text)
            if len(full) == n:
                return text, full
            content = self.encode(text, special=False)
            if len(content) > body:
                ids = content[:body]
            else:
                ids = content + [rng.randrange(vocab) for _ in range(body - len(content))]
        # ids that do not survive decode/encode at the cut (byte fragments, merges) can oscillate:
        # settle on the text, trimming characters while too long and appending words while short
        text = self.decode(ids)
        for _ in range(4 * n + 16):
            full = self.encode(text)
            if len(full) == n:
                break
            text = text[:-1] if len(full) > n else text + rng.choice(_PAD)
        return text, full


_PAD = (" a", " b", " c", " d", " e", " f", " g", " h", " i", " k", " m", " n", " o", " p", " s", " t")


@functools.lru_cache(maxsize=8)
def _load(path: str) -> Any:
    tk = _tokenizers()
    try:
        return tk.Tokenizer.from_file(path)
    except Exception as e:  # the Rust loader raises plain Exception on a bad file
        raise FrontierError(f"tokenizer file {path}: cannot be loaded by `tokenizers` ({e})") from e


def load(path_or_id: str) -> HFTokenizer:
    """Load a tokenizer offline (cached per file); FrontierError with how to provide one on a miss."""
    _tokenizers()
    path = str(resolve(path_or_id))
    return HFTokenizer(name=path_or_id, path=path, tok=_load(path))
