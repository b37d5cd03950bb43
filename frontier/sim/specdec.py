"""Speculative decoding as SGLang's EAGLE worker runs it (DeepSeek's MTP head is its draft model).

One decode iteration of a speculating server, per running request (``topk`` 1, a chain):
  1. the draft model (DeepSeek: the MTP module, one decoder layer + the shared LM head) runs
     ``num_steps`` forward passes: the draft extend over the tokens the last verify kept gives the
     first draft token, ``num_steps - 1`` passes of ``topk`` tokens the rest (SGLang's
     eagle_worker draft_forward: "we get 1 token from draft prefill and (#spec steps - 1) tokens
     here"); the target's verify input is ``draft_tokens`` tokens (``num_steps + 1`` with a chain);
  2. the target model verifies them in one forward of ``draft_tokens`` tokens (same weight reads as
     a plain decode step, ``draft_tokens`` x the GEMM and attention compute);
  3. the request keeps the accepted prefix plus the target's own next token: on average
     ``accept_len`` tokens (>= 1) per iteration.
The step-time side is :class:`frontier.sim.perf_model.StepModel` (``spec=``); this module holds the
settings and the public acceptance lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontier.errors import FrontierError

# Mean accepted tokens per verify step (the target's own token included) by num_steps (topk 1,
# draft_tokens = num_steps + 1), from public reports on DeepSeek-V3/R1's MTP module in SGLang:
# - 1 step: DeepSeek-V3 technical report (arXiv 2412.19437, section 5.4.3): the second token's
#   acceptance rate is 85-90% across topics -> 1 + 0.875 = 1.875.
# - 2 steps (3-token window) and 3 steps (4-token window): LMSYS blog "Accelerating SGLang with
#   Multiple Token Prediction" (lmsys.org/blog/2025-07-17-mtp, DeepSeek V3 on 16 x H200, topk 1):
#   average acceptance length 2.18 and 2.44.
# More steps than a report covers keep the last reported figure (no gain claimed without data).
_DEEPSEEK_MTP = {1: 1.875, 2: 2.18, 3: 2.44}
ACCEPT_LEN: dict[str, dict[int, float]] = {
    "deepseek-ai/DeepSeek-R1": _DEEPSEEK_MTP,
    "deepseek-ai/DeepSeek-V3": _DEEPSEEK_MTP,
}
ALGORITHMS = ("EAGLE", "EAGLE3", "NEXTN", "MTP")


@dataclass(frozen=True)
class SpecDecode:
    algorithm: str = "EAGLE"
    num_steps: int = 3
    draft_tokens: int = 4
    topk: int = 1
    accept_len: float | None = None  # None: the public default of the model (ACCEPT_LEN)

    def __post_init__(self) -> None:
        if self.algorithm.upper() not in ALGORITHMS:
            raise FrontierError(
                f"speculative_algorithm {self.algorithm!r} is not modelled; use one of {', '.join(ALGORITHMS)}"
            )
        for name in ("num_steps", "draft_tokens", "topk"):
            if int(getattr(self, name)) < 1:
                raise FrontierError(f"speculative_{name}: must be >= 1, got {getattr(self, name)}")
        if self.accept_len is not None and not 1.0 <= self.accept_len <= self.draft_tokens:
            raise FrontierError(
                f"speculative_accept_len {self.accept_len}: must lie in [1, speculative_num_draft_tokens "
                f"= {self.draft_tokens}]"
            )

    def resolved_accept_len(self, model_name: str) -> float:
        """Mean tokens a request gains per iteration: the given value or the model's public one."""
        if self.accept_len is not None:
            return float(self.accept_len)
        table = ACCEPT_LEN.get(model_name)
        if table is None:
            raise FrontierError(
                f"speculative decoding: no public acceptance length for {model_name}; give "
                f"speculative_accept_len (--speculative-accept-len, mean tokens per verify step)"
            )
        steps = min(self.num_steps, max(table))
        return min(table[steps], float(self.draft_tokens))


def _get(d: dict, key: str):
    v = d.get(key)
    if v is None:
        v = d.get(key.replace("_", "-"))
    return v


def from_flags(d: dict) -> SpecDecode | None:
    """SpecDecode from argparse-style keys (speculative_algorithm, speculative_num_steps,
    speculative_num_draft_tokens, speculative_eagle_topk, speculative_accept_len); None when
    speculative_algorithm is unset. Unset numbers take SGLang's MTP recipe (3 steps, topk 1, 4 draft
    tokens); draft tokens default to num_steps + 1 when only the steps are given."""
    algo = _get(d, "speculative_algorithm")
    if not algo:
        return None
    try:
        steps = _get(d, "speculative_num_steps")
        topk = _get(d, "speculative_eagle_topk")
        draft = _get(d, "speculative_num_draft_tokens")
        acc = _get(d, "speculative_accept_len")
        steps = 3 if steps is None else int(steps)
        topk = 1 if topk is None else int(topk)
        draft = steps + 1 if draft is None else int(draft)
        acc = None if acc is None else float(acc)
    except (TypeError, ValueError) as e:
        raise FrontierError(f"speculative decoding flags: {e}; give integers (accept_len a number)") from None
    return SpecDecode(str(algo).upper(), steps, draft, topk, acc)


__all__ = ["ACCEPT_LEN", "SpecDecode", "from_flags"]
