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
    p.add_argument("--model", default="default", help="model name sent on the OpenAI routes")
    p.add_argument("--isl", type=int, required=True, help="input tokens per request")
    p.add_argument("--osl", type=int, required=True, help="output tokens per request (max_tokens)")
    p.add_argument("--concurrency", type=int, required=True, help="max requests in flight")
    p.add_argument(
        "--num-prompts", type=int, default=None,
        help="measured requests (default: the load shape's, 10 x concurrency, at least 20)",
    )  # fmt: skip
    p.add_argument("--warmup", type=int, default=0, help="warm-up requests (under the same cap)")
    p.add_argument(
        "--range-ratio", type=float, default=DEFAULT_LOAD.range_ratio,
        help="lengths drawn from [int(L x ratio), L] as bench_serving's --random-range-ratio (1 = exact)",
    )  # fmt: skip
    p.add_argument("--request-rate", type=float, default=None, help="mean requests/s (default: unlimited)")
    p.add_argument("--burstiness", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=600, help="per-request timeout in seconds")
    p.add_argument(
        "--input-ids", action="store_true",
        help="send token ids (input_ids / a list-of-ints prompt) instead of text: exact ISL on real servers",
    )  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="write the bench_serving-keyed JSON here")
    p.set_defaults(handler=handle_bench)


def handle_bench(ns: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from frontier.loadgen.config import PointConfig
    from frontier.loadgen.report import format_result
    from frontier.loadgen.runner import run_point_sync

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
            warmup_requests=ns.warmup,
            range_ratio=ns.range_ratio,
            ignore_eos=DEFAULT_LOAD.ignore_eos,
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
    if ns.json is not None:
        ns.json.parent.mkdir(parents=True, exist_ok=True)
        ns.json.write_text(json.dumps(line) + "\n")
        print(f"Results saved to {ns.json}")
    if result.error:
        print(f"point failed: {result.error}", file=sys.stderr)
        return 1
    return 0
