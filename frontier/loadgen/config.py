"""The settings of one benchmark point (one server, one load shape): `PointConfig`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Backend = Literal["sglang", "openai", "openai-chat"]
Dataset = Literal["random", "sharegpt", "shared-prefix"]


class PointConfig(BaseModel):
    """What to send, how fast, and to whom.

    ``max_concurrency`` caps requests in flight (the client-side gate); ``request_rate`` None means
    all arrivals at once (closed loop under the cap), else Poisson/gamma arrivals at that mean rate.
    The first ``warmup_requests`` requests go through the same gate and are flagged ``is_warmup``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    backend: Backend = "sglang"
    model: str
    isl: int = Field(ge=1)
    osl: int = Field(ge=1)
    max_concurrency: int = Field(ge=1)
    num_prompts: int = Field(ge=1)
    warmup_requests: int = Field(default=0, ge=0)
    request_rate: float | None = Field(default=None, gt=0)
    burstiness: float = Field(default=1.0, gt=0)
    seed: int = 0
    request_timeout_s: float = Field(default=600, gt=0)
    dataset: Dataset = "random"
    dataset_path: str | None = None
    range_ratio: float = Field(default=1.0, ge=0, le=1)
    ignore_eos: bool = True
    shared_prefix_len: int = Field(default=0, ge=0)
    # send token ids instead of text (``input_ids`` on /generate, a list-of-ints ``prompt`` on
    # /v1/completions): exact ISL on real servers with real tokenizers. The ids are the fake
    # tokenizer's (0..31999), valid for any model whose vocabulary has at least 32000 entries.
    input_ids: bool = False
    # a real tokenizer (tokenizer.json, model directory, or model id in the local HF cache): prompts
    # of exactly ISL tokens on it (frontier.common.hf_tokenizer); None = the fake word tokenizer
    tokenizer: str | None = None
    # a point whose server-reported prompt tokens deviate from the intended ones by more than this
    # fraction fails (None: never)
    max_prompt_deviation: float | None = Field(default=0.05, ge=0)
    # GET /get_server_info once per point (after its requests, as bench_serving does)
    fetch_server_info: bool = True
    lag_threshold_ms: float = Field(default=50, gt=0)
    # client sharding: requests dealt round-robin over this many processes (cap split among them)
    client_processes: int = Field(default=1, ge=1, le=64)
    # run_ladder shards a point when the previous point's event rate, scaled to it, exceeds this
    shard_above_events_s: float | None = Field(default=4000, gt=0)
    # at most this many client processes for a sharded point (None: half the machine's cores)
    max_client_processes: int | None = Field(default=None, ge=1, le=64)

    @field_validator("request_rate", mode="before")
    @classmethod
    def _inf_is_unlimited(cls, v: object) -> object:
        # bench_serving spells "unlimited" as inf; here it is None
        if v is not None and float(v) == float("inf"):  # type: ignore[arg-type]
            return None
        return v

    @model_validator(mode="after")
    def _check(self) -> PointConfig:
        if self.client_processes > self.max_concurrency:
            raise ValueError("client_processes must not exceed max_concurrency (each shard needs a slot)")
        if self.dataset == "sharegpt" and not self.dataset_path:
            raise ValueError("dataset 'sharegpt' needs dataset_path (a ShareGPT-format JSON file)")
        if self.input_ids and self.backend == "openai-chat":
            raise ValueError("input_ids needs backend 'sglang' or 'openai' (chat messages are text)")
        if self.dataset == "shared-prefix" and not 0 < self.shared_prefix_len < self.isl:
            raise ValueError("dataset 'shared-prefix' needs 0 < shared_prefix_len < isl")
        return self

    @property
    def total_requests(self) -> int:
        return self.warmup_requests + self.num_prompts
