"""Typed pyarrow schemas of every warehouse table: the landing contract.

Every row carries ``schema_version``. Point metric names follow ``sglang.bench_serving``:
``max_concurrency`` is the ladder setting, ``concurrency`` the measured mean (sum of e2e / duration).
Bump ``SCHEMA_VERSION`` when a column changes meaning; readers accept every version in
``SUPPORTED_VERSIONS``.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = (1,)

_STATS = ("mean", "median", "std", "p90", "p95", "p99")
_LAT = ("ttft", "tpot", "itl", "e2e_latency")
LATENCY_STAT_KEYS = tuple(f"{s}_{m}_ms" for m in _LAT for s in _STATS)

# columns that identify where a row belongs
_CONTEXT = [
    pa.field("schema_version", pa.int32(), nullable=False),
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("run_date", pa.date32(), nullable=False),
]
_POINT_KEY = [
    pa.field("label", pa.string(), nullable=False),
    pa.field("model", pa.string(), nullable=False),
    pa.field("hardware", pa.string(), nullable=False),
    pa.field("precision", pa.string(), nullable=False),
    pa.field("scenario", pa.string(), nullable=False),
]

RUNS = pa.schema(
    _CONTEXT
    + [
        pa.field("trigger", pa.string()),  # scheduled | manual | cli | ...
        pa.field("triggered_by", pa.string()),
        pa.field("spec_name", pa.string()),
        pa.field("spec_hash", pa.string()),
        pa.field("spec_yaml", pa.string()),
        pa.field("code_version", pa.string()),
        pa.field("engine", pa.string()),
        pa.field("engine_version", pa.string()),
        pa.field("started_at", pa.timestamp("us", tz="UTC")),
        pa.field("ended_at", pa.timestamp("us", tz="UTC")),
        pa.field("status", pa.string()),  # running | success | partial | failed
        pa.field(
            "cost_json", pa.string()
        ),  # the spec's cost assumptions {hardware: {usd_per_gpu_hour, power_w}}
    ]
)

DEPLOYMENTS = pa.schema(
    _CONTEXT
    + _POINT_KEY
    + [
        pa.field("label_canonical", pa.string()),
        pa.field("isl", pa.int32()),
        pa.field("osl", pa.int32()),
        pa.field("gpus", pa.int32()),
        pa.field("groups_json", pa.string()),
        pa.field("engine", pa.string()),
        pa.field("engine_version", pa.string()),
        pa.field("commands_json", pa.string()),
        pa.field("server_info_json", pa.string()),
        pa.field("started_at", pa.timestamp("us", tz="UTC")),
        pa.field("ended_at", pa.timestamp("us", tz="UTC")),
        pa.field("status", pa.string()),  # success | partial | failed
        pa.field("error", pa.string()),
        # speculative decoding of the deployment (None: off; "mtp"): nullable, appended; the staging
        # views show such a deployment as its own label, "DEP8 MTP"
        pa.field("speculative", pa.string()),
    ]
)

POINTS = pa.schema(
    _CONTEXT
    + _POINT_KEY
    + [
        pa.field("isl", pa.int32()),
        pa.field("osl", pa.int32()),
        pa.field("gpus", pa.int32()),
        pa.field("engine", pa.string()),
        pa.field("backend", pa.string()),  # api used: sglang (/generate), openai, openai-chat
        pa.field("max_concurrency", pa.int32()),
        pa.field("request_rate", pa.float64()),  # null = unlimited
        pa.field("num_prompts", pa.int32()),
        pa.field("warmup_requests", pa.int32()),
        pa.field("completed", pa.int32()),
        pa.field("failed", pa.int32()),
        pa.field("duration", pa.float64()),
        pa.field("total_input_tokens", pa.int64()),
        pa.field("total_output_tokens", pa.int64()),
        pa.field("request_throughput", pa.float64()),
        pa.field("input_throughput", pa.float64()),
        pa.field("output_throughput", pa.float64()),
        pa.field("total_token_throughput", pa.float64()),
        # speculative decoding of the deployment (None: off; "mtp"): nullable, appended; the staging
        # views show such a deployment as its own label, "DEP8 MTP"
        pa.field("speculative", pa.string()),
    ]
    + [pa.field(k, pa.float64()) for k in LATENCY_STAT_KEYS]
    + [
        pa.field("concurrency", pa.float64()),
        pa.field("error_rate", pa.float64()),
        pa.field("client_lag_p99_ms", pa.float64()),
        pa.field("client_limited", pa.bool_()),
        pa.field("client_processes", pa.int32()),  # load generator processes that drove the point
        pa.field("source", pa.string()),  # frontier | bench_serving
        pa.field("status", pa.string()),  # ok | failed
        # token accounting (frontier.loadgen.runner.prompt_check): intended prompt tokens of the
        # successful measured requests, (server-reported - intended) / intended, and where the
        # completion counts came from (server | chunks | mixed)
        pa.field("intended_input_tokens", pa.int64()),
        pa.field("prompt_tokens_deviation", pa.float64()),
        pa.field("usage_source", pa.string()),
        # the load shape and provenance (frontier.loadgen.runner.load_columns / server_columns)
        pa.field("range_ratio", pa.float64()),
        pa.field("ignore_eos", pa.bool_()),
        pa.field("tokenizer", pa.string()),  # the client's tokenizer (null: the fake word tokenizer)
        pa.field("served_model", pa.string()),  # the model name sent on the OpenAI routes
        pa.field("client_version", pa.string()),
        pa.field("server_version", pa.string()),  # as the server reports it (null: unknown)
        pa.field("server_model", pa.string()),
    ]
)

REQUESTS = pa.schema(
    _CONTEXT
    + _POINT_KEY
    + [
        pa.field("max_concurrency", pa.int32()),
        pa.field("request_index", pa.int32()),
        pa.field("is_warmup", pa.bool_()),
        pa.field("start_ts", pa.timestamp("us", tz="UTC")),
        pa.field("end_ts", pa.timestamp("us", tz="UTC")),
        pa.field("queue_ms", pa.float64()),
        pa.field("ttft_ms", pa.float64()),
        pa.field("e2e_ms", pa.float64()),
        pa.field("tpot_ms", pa.float64()),
        pa.field("itl_ms", pa.list_(pa.float64())),
        pa.field("input_tokens", pa.int32()),
        pa.field("output_tokens", pa.int32()),
        pa.field("success", pa.bool_()),
        pa.field("error", pa.string()),
        # speculative decoding of the deployment (None: off; "mtp"): nullable, appended; the staging
        # views show such a deployment as its own label, "DEP8 MTP"
        pa.field("speculative", pa.string()),
        pa.field("intended_input_tokens", pa.int32()),  # the prompt's length on the client's tokenizer
        pa.field("server_prompt_tokens", pa.int32()),  # the server's count (null: not reported)
        pa.field("usage_source", pa.string()),  # server | chunks: where output_tokens came from
        pa.field("max_tokens", pa.int32()),  # output tokens asked for (drawn in [int(OSL x ratio), OSL])
    ]
)

FAILURES = pa.schema(
    _CONTEXT
    + _POINT_KEY
    + [
        pa.field("max_concurrency", pa.int32()),  # null: the whole deployment failed
        pa.field("stage", pa.string()),  # plan | launch | readiness | point | audit | publish
        pa.field("reason", pa.string()),
        pa.field("log_tail", pa.string()),
        pa.field("at", pa.timestamp("us", tz="UTC")),
        # speculative decoding of the deployment (None: off; "mtp"): nullable, appended; the staging
        # views show such a deployment as its own label, "DEP8 MTP"
        pa.field("speculative", pa.string()),
    ]
)

PREDICTIONS = pa.schema(
    _CONTEXT
    + _POINT_KEY
    + [
        pa.field("isl", pa.int32()),
        pa.field("osl", pa.int32()),
        pa.field("max_concurrency", pa.int32()),
        pa.field("gpus", pa.int32()),
        pa.field("ttft_ms", pa.float64()),  # medians
        pa.field("tpot_ms", pa.float64()),
        pa.field("itl_ms", pa.float64()),
        pa.field("output_throughput", pa.float64()),
        pa.field("total_token_throughput", pa.float64()),
        pa.field("tok_s_gpu", pa.float64()),
        pa.field("tok_s_user", pa.float64()),
        pa.field("model_version", pa.string()),
        pa.field("error", pa.string()),
        # speculative decoding of the deployment (None: off; "mtp"): nullable, appended; the staging
        # views show such a deployment as its own label, "DEP8 MTP"
        pa.field("speculative", pa.string()),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "runs": RUNS,
    "deployments": DEPLOYMENTS,
    "points": POINTS,
    "requests": REQUESTS,
    "failures": FAILURES,
    "predictions": PREDICTIONS,
}
