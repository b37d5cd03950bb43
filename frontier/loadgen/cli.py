"""``frontier bench``: run one point against a running server and print/write bench_serving-style results."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from frontier.domain.load import DEFAULT_LOAD
from frontier.errors import FrontierError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("bench", help="benchmark one point against a running SGLang-compatible server")
    p.add_argument("--base-url", required=True, help="server root, e.g. http://127.0.0.1:30000")
    p.add_argument("--backend", choices=["sglang", "openai", "openai-chat"], default="sglang")
    p.add_argument(
        "--model", default="default",
        help="model name sent on the OpenAI routes (the server's served model name)",
    )  # fmt: skip
    p.add_argument(
        "--tokenizer", default=None, metavar="PATH_OR_ID",
        help="the served model's tokenizer for exact prompt lengths: tokenizer.json, a model directory, a model"
        " id in the local Hugging Face cache (never downloaded), or `words` (the simulator's word tokenizer);"
        " default: --model when it is in the local cache, else `words`",
    )  # fmt: skip
    p.add_argument("--isl", type=int, required=True, help="input tokens per request")
    p.add_argument("--osl", type=int, required=True, help="output tokens per request (max_tokens)")
    p.add_argument("--concurrency", type=int, required=True, help="max requests in flight")
    p.add_argument(
        "--num-prompts", type=int, default=None,
        help="measured requests (default: the load shape's, 10 x concurrency, at least 20)",
    )  # fmt: skip
    p.add_argument(
        "--warmup-requests", "--warmup", dest="warmup", type=int, default=None,
        help="warm-up requests under the same cap, excluded from the figures (default: 2 x concurrency)",
    )  # fmt: skip
    p.add_argument(
        "--random-range-ratio", "--range-ratio", dest="range_ratio", type=float,
        default=DEFAULT_LOAD.range_ratio,
        help="lengths drawn uniformly from [int(L x ratio), L] as bench_serving's random dataset"
        f" (default {DEFAULT_LOAD.range_ratio}, InferenceX's; 1 = exact)",
    )  # fmt: skip
    p.add_argument(
        "--disable-ignore-eos", action="store_true",
        help="do not send ignore_eos (servers that reject it, e.g. transformers serve); outputs may end early",
    )  # fmt: skip
    p.add_argument("--request-rate", type=float, default=None, help="mean requests/s (default: unlimited)")
    p.add_argument("--burstiness", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=600, help="per-request timeout in seconds")
    p.add_argument(
        "--input-ids", action="store_true",
        help="send token ids (input_ids / a list-of-ints prompt) instead of text",
    )  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="write the bench_serving-keyed JSON here")
    p.set_defaults(handler=handle_bench)


def _tokenizer_for(given: str | None, model: str) -> str | None:
    """--tokenizer (checked now, offline), else --model when in the local HF cache, else words (None)."""
    from frontier.common import hf_tokenizer
    from frontier.domain.load import WORDS

    if given == WORDS:
        return None
    if given is not None:
        hf_tokenizer.resolve(given)
        return given
    if model != "default":
        try:
            hf_tokenizer.resolve(model)
            return model
        except FrontierError:
            pass
    print(
        "bench: prompts use the word tokenizer (exact on frontier's simulator only); give the served model's"
        " tokenizer with --tokenizer PATH_OR_ID for exact lengths on a real server",
        file=sys.stderr,
    )
    return None


def handle_bench(ns: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from frontier.loadgen.config import PointConfig
    from frontier.loadgen.report import format_result
    from frontier.loadgen.runner import run_point_sync

    tokenizer = _tokenizer_for(ns.tokenizer, ns.model)
    try:
        cfg = PointConfig(
            base_url=ns.base_url,
            backend=ns.backend,
            model=ns.model,
            isl=ns.isl,
            osl=ns.osl,
            max_concurrency=ns.concurrency,
            num_prompts=ns.num_prompts
            if ns.num_prompts is not None
            else DEFAULT_LOAD.prompts_for(ns.concurrency),
            warmup_requests=ns.warmup if ns.warmup is not None else DEFAULT_LOAD.warmups_for(ns.concurrency),
            range_ratio=ns.range_ratio,
            ignore_eos=DEFAULT_LOAD.ignore_eos and not ns.disable_ignore_eos,
            tokenizer=tokenizer,
            request_rate=ns.request_rate,
            burstiness=ns.burstiness,
            seed=ns.seed,
            request_timeout_s=ns.timeout,
            input_ids=ns.input_ids,
        )
    except ValidationError as e:
        err = e.errors()[0]
        raise FrontierError(f"bench: {'.'.join(map(str, err['loc']))}: {err['msg']}") from e
    result = run_point_sync(cfg)
    line = result.to_bench_serving_json()
    print(format_result(line))
    s = result.summary
    if s.get("intended_input_tokens"):
        dev = s.get("prompt_tokens_deviation")
        print(
            f"Prompt tokens: intended {s['intended_input_tokens']}, server "
            + ("not reported" if dev is None else f"{s['total_input_tokens']} ({dev:+.2%})")
            + f"; output tokens from {s.get('usage_source') or 'n/a'}; tokenizer {cfg.tokenizer or 'words'}"
        )
    if ns.json is not None:
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        ns.json.write_text(json.dumps(line) + "\n")
        print(f"Results saved to {ns.json}")
    if result.error:
        print(f"point failed: {result.error}", file=sys.stderr)
        return 1
    return 0
