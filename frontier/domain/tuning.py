"""Typed SGLang server settings a spec may set, and the speculative-decoding axis.

:class:`ServerTuning` is one SGLang server's performance knobs, each a typed field that becomes
one flag (``cuda_graph_max_bs: 256`` -> ``--cuda-graph-max-bs-decode 256``). :class:`Tuning` is
the same plus per-PD-role overrides (``prefill:`` / ``decode:``). Where they come from, lowest
first: the recipe profile for the model x hardware x mode x role
(:mod:`frontier.planning.recipes`), the spec's ``cluster.tuning``, the matrix entry's ``tuning``;
within each, the role's section wins over the common fields. Free ``server_args`` /
``extra_args`` are appended after all of them.

:class:`MTPSettings` are the draft settings of ``speculative: mtp`` (DeepSeek's multi-token
prediction head, run by SGLang's EAGLE speculative worker).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DeepEPMode = Literal["normal", "low_latency", "auto"]
Speculative = Literal["none", "mtp"]
ROLES = ("single", "prefill", "decode")


class ServerTuning(BaseModel):
    """One server's SGLang knobs; ``None`` = not set here (a lower layer or SGLang decides)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trust_remote_code: bool | None = Field(default=None, description="--trust-remote-code")
    mem_fraction_static: float | None = Field(
        default=None, gt=0, le=1, description="--mem-fraction-static (weights + KV pool share of HBM)"
    )
    cuda_graph_max_bs: int | None = Field(
        default=None, gt=0, description="--cuda-graph-max-bs-decode (per DP-attention rank)"
    )
    chunked_prefill_size: int | None = Field(default=None, description="--chunked-prefill-size (-1: off)")
    max_prefill_tokens: int | None = Field(default=None, gt=0, description="--max-prefill-tokens")
    max_running_requests: int | None = Field(default=None, gt=0, description="--max-running-requests")
    disable_radix_cache: bool | None = Field(default=None, description="--disable-radix-cache")
    scheduler_recv_interval: int | None = Field(
        default=None,
        ge=1,
        description="--scheduler-recv-interval (poll for new requests every N decode steps)",
    )
    moe_a2a_backend: Literal["none", "deepep", "mooncake", "nixl", "mori", "flashinfer"] | None = Field(
        default=None, description="--moe-a2a-backend (expert-parallel groups only)"
    )
    deepep_mode: DeepEPMode | None = Field(
        default=None, description="--deepep-mode (with moe_a2a_backend deepep)"
    )
    enable_eplb: bool | None = Field(default=None, description="--enable-eplb (expert-parallel groups only)")
    ep_num_redundant_experts: int | None = Field(
        default=None, ge=0, description="--ep-num-redundant-experts (expert-parallel groups only)"
    )

    def merged(self, over: ServerTuning | None) -> ServerTuning:
        """These settings with every field ``over`` sets replacing ours."""
        if over is None:
            return self
        return self.model_copy(update=over.model_dump(exclude_none=True))


class Tuning(ServerTuning):
    """:class:`ServerTuning` for every server, with ``prefill`` / ``decode`` sections that win on
    those PD roles (``single`` servers take the common fields only)."""

    prefill: ServerTuning | None = None
    decode: ServerTuning | None = None

    def common(self) -> ServerTuning:
        return ServerTuning.model_validate(self.model_dump(exclude={"prefill", "decode"}))

    def for_role(self, role: str) -> ServerTuning:
        """The settings of one server of ``role`` (``single`` / ``prefill`` / ``decode``)."""
        base = self.common()
        if role == "prefill":
            return base.merged(self.prefill)
        if role == "decode":
            return base.merged(self.decode)
        return base


class MTPSettings(BaseModel):
    """Draft settings of ``speculative: mtp``. Defaults: InferenceX ``benchmarks/dsr1_fp4_b200_mtp.sh``
    (SPECULATIVE_NUM_STEPS=2, SPECULATIVE_EAGLE_TOPK=1, SPECULATIVE_DRAFT_TOKENS=3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["EAGLE", "NEXTN"] = Field(
        default="EAGLE", description="--speculative-algorithm (SGLang maps NEXTN to EAGLE for DeepSeek)"
    )
    steps: int = Field(default=2, ge=1, description="--speculative-num-steps")
    topk: int = Field(default=1, ge=1, description="--speculative-eagle-topk")
    draft_tokens: int = Field(default=3, ge=1, description="--speculative-num-draft-tokens")
    accept_len: float | None = Field(
        default=None,
        ge=1.0,
        description="mean tokens accepted per verify step, the bonus token included (1 to steps + 1). The"
        " simulator and predictions use it (default: the public figure for the model and steps,"
        " frontier.sim.specdec); engine sglang pins it with SGLang's simulated acceptance"
        " (SGLANG_SIMULATE_ACC_LEN in the servers' environment), as InferenceX does with its golden"
        " acceptance lengths, so measurement and prediction accept alike",
    )

    @model_validator(mode="after")
    def _accept_len_fits_the_chain(self) -> MTPSettings:
        # SGLang accepts at most one draft chain of `steps` tokens plus the bonus token
        # (speculative/spec_utils.py generate_simulated_accept_index: width spec_steps + 1)
        if self.accept_len is not None and self.accept_len > self.steps + 1:
            raise ValueError(
                f"accept_len {self.accept_len:g} is more than steps + 1 = {self.steps + 1} (the draft chain"
                f" plus the bonus token); lower accept_len or raise steps"
            )
        return self

    def env(self) -> dict[str, str]:
        """The SGLang server environment that pins :attr:`accept_len` (none when it is unset).

        SGLang's benchmark knobs (``srt/environ.py``): ``SGLANG_SIMULATE_ACC_LEN`` accepted tokens per
        verify step on average; ``match-expected``: each step accepts its floor or its ceiling so the
        mean matches; ``real-draft-token``: the draft's own tokens are kept (the output stays the
        model's). The settings InferenceX's ``golden_al_distribution/README.md`` gives for SGLang.
        """
        if self.accept_len is None:
            return {}
        return {
            "SGLANG_SIMULATE_ACC_LEN": repr(float(self.accept_len)),
            "SGLANG_SIMULATE_ACC_METHOD": "match-expected",
            "SGLANG_SIMULATE_ACC_TOKEN_MODE": "real-draft-token",
        }

    def flags(self) -> list[str]:
        return [
            "--speculative-algorithm",
            self.algorithm,
            "--speculative-num-steps",
            str(self.steps),
            "--speculative-eagle-topk",
            str(self.topk),
            "--speculative-num-draft-tokens",
            str(self.draft_tokens),
        ]


def speculative_tag(speculative: str | None) -> str | None:
    """The stored / shown form of a speculative setting: ``None`` for none, ``"mtp"`` otherwise."""
    return None if speculative in (None, "", "none") else speculative


def display_label(label: str, speculative: str | None) -> str:
    """What charts and reports show for a deployment: ``DEP8`` or ``DEP8 MTP``."""
    tag = speculative_tag(speculative)
    return f"{label} {tag.upper()}" if tag else label
