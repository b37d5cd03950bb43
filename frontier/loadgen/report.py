"""The human-readable result block, laid out as ``sglang.bench_serving`` prints it."""

from __future__ import annotations

from typing import Any


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def format_result(line: dict[str, Any]) -> str:
    """``line`` is a `to_bench_serving_json` dict."""
    rate = line["request_rate"]
    out = ["{s:{c}^{n}}".format(s=" Serving Benchmark Result ", n=50, c="=")]

    def row(label: str, v: Any) -> None:
        out.append(f"{label:<40} {_fmt(v):<10}".rstrip())

    def rule(title: str) -> None:
        out.append("{s:{c}^{n}}".format(s=title, n=50, c="-"))

    row("Backend:", line["backend"])
    row("Traffic request rate:", "inf" if rate == float("inf") else rate)
    row("Max request concurrency:", line["max_concurrency"] or "not set")
    row("Successful requests:", line["completed"])
    row("Failed requests:", line.get("failed"))
    row("Benchmark duration (s):", line["duration"])
    row("Total input tokens:", line["total_input_tokens"])
    row("Total generated tokens:", line["total_output_tokens"])
    row("Request throughput (req/s):", line["request_throughput"])
    row("Input token throughput (tok/s):", line["input_throughput"])
    row("Output token throughput (tok/s):", line["output_throughput"])
    row("Peak output token throughput (tok/s):", line["max_output_tokens_per_s"])
    row("Peak concurrent requests:", line["max_concurrent_requests"])
    row("Total token throughput (tok/s):", line["total_throughput"])
    row("Concurrency:", line["concurrency"])
    row("Client loop lag p99 (ms):", line.get("client_lag_p99_ms"))
    if line.get("client_limited"):
        out.append("WARNING: the client was the bottleneck (loop lag over threshold)")
    sections = [
        ("End-to-End Latency", "e2e_latency", "E2E Latency"),
        ("Time to First Token", "ttft", "TTFT"),
        ("Time per Output Token (excl. 1st token)", "tpot", "TPOT"),
        ("Inter-Token Latency", "itl", "ITL"),
    ]
    for title, key, name in sections:
        rule(title)
        for stat in ("mean", "median", "p90", "p95", "p99"):
            label = stat.capitalize() if stat in ("mean", "median") else stat.upper()
            row(f"{label} {name} (ms):", line[f"{stat}_{key}_ms"])
    out.append("=" * 50)
    return "\n".join(out)
