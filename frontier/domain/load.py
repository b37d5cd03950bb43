"""The load shape of a benchmark point: how many prompts, how many warm-ups, which lengths.

One :class:`LoadShape` owns the defaults every part uses (the spec's ``load`` section, the
planner's per-concurrency numbers, the load generator's ladder defaults, the simulator's
predictions, the ad-hoc form, the CLI). The defaults are InferenceX's bench_serving load:
``num_prompts = max(min_prompts, 10 x C)`` with ``min_prompts`` 20, ``2 x C`` warm-up requests,
lengths uniform in ``[int(0.8 L), L]`` (``range_ratio`` 0.8, bench_serving's ``random``) and
``ignore_eos`` so every request generates its drawn output length. ``tokenizer`` names the served
model's tokenizer for exact prompt lengths (`frontier.common.hf_tokenizer`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# the spec's old top-level keys, now inside ``load`` (still accepted at the top level)
LEGACY_KEYS = ("num_prompts", "num_prompts_multiplier", "min_prompts", "warmup_multiplier")


class LoadShape(BaseModel):
    """Prompts, warm-ups and lengths per point, as a function of the concurrency C."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_prompts: int | None = Field(
        default=None, gt=0, description="measured prompts per point, fixed; default multiplier x C"
    )
    num_prompts_multiplier: int = Field(default=10, gt=0, description="measured prompts = this x C")
    min_prompts: int = Field(default=20, gt=0, description="at least this many measured prompts")
    warmup_multiplier: float = Field(default=2.0, ge=0, description="warm-up requests = this x C")
    range_ratio: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="lengths drawn uniformly from [int(L x ratio), L] (bench_serving --random-range-ratio);"
        " 1.0 = exactly ISL / OSL",
    )
    ignore_eos: bool = Field(
        default=True,
        description="generate exactly the requested output tokens (sends `ignore_eos`; false for servers"
        " that reject it, e.g. transformers serve)",
    )
    tokenizer: str | None = Field(
        default=None,
        description="the served model's tokenizer for exact prompt lengths: a tokenizer.json, a model"
        " directory, a model id in the local Hugging Face cache, or `words` (the simulator's word"
        " tokenizer); default: `words` on engine sim, else the model id from the local cache",
    )
    shard_above_events_s: float | None = Field(
        default=4000,
        gt=0,
        description="a point whose expected stream-event rate exceeds this runs on several client"
        " processes (null: never shard)",
    )
    max_client_processes: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="client processes of a sharded point at most; default half the cores",
    )

    def prompts_for(self, c: int) -> int:
        """Measured prompts at concurrency ``c``."""
        return self.num_prompts or max(self.min_prompts, self.num_prompts_multiplier * c)

    def warmups_for(self, c: int) -> int:
        """Warm-up requests at concurrency ``c`` (sent first, excluded from the figures)."""
        return round(self.warmup_multiplier * c)

    def prompts(self, ladder: list[int]) -> dict[int, int]:
        return {c: self.prompts_for(c) for c in ladder}

    def warmups(self, ladder: list[int]) -> dict[int, int]:
        return {c: self.warmups_for(c) for c in ladder}

    def tokenizer_for(self, engine: str, model: str) -> str | None:
        """The client's tokenizer on an engine: None = the word tokenizer (the simulator counts words)."""
        name = self.tokenizer or ("words" if engine == "sim" else model)
        return None if name == WORDS else name


WORDS = "words"  # load.tokenizer naming the fake word tokenizer (frontier.common.tokenizer)
DEFAULT_LOAD = LoadShape()
