"""Offline prediction: the simulator's scheduler in virtual time, no HTTP: a point, a batch, a sweep.

``predict_point`` runs the closed-loop load of one ladder point (max concurrency C,
``num_prompts`` = 10 x C (min 20) measured after 2 x C warm-up requests, as the nightly sweeps
do) through the simulated deployment and returns bench_serving-named metrics plus ``gpus``,
``tok_s_gpu`` and ``tok_s_user``. Lengths follow bench_serving's ``--random-range-ratio`` R: ISL
and OSL each uniform integers in ``[max(1, int(L x R)), L]`` (R = 1: exact lengths).
``predict_csv`` does it for every row of a file (an optional ``range_ratio`` column, empty = the
project's default :data:`DEFAULT_RANGE_RATIO`); ``predict_items`` for every ladder concurrency of
plan items (a :class:`frontier.planning.planner.PlanItem` or any object with its fields), with
the item's load shape and per-role SGLang flags (``frontier predict SPEC``:
:mod:`frontier.cli.predict`).
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from frontier.domain.catalog import PRECISIONS, UnknownName, get_hardware, get_model
from frontier.domain.load import DEFAULT_LOAD
from frontier.domain.tuning import ROLES
from frontier.errors import FrontierError
from frontier.sim import SIM_VERSION
from frontier.sim.cluster import Cluster, SimSpec
from frontier.sim.metrics import point_metrics
from frontier.sim.perf_model import Params
from frontier.sim.topology import from_label
from frontier.sim.virtual import closed_loop

IN_COLUMNS = ("model", "hardware", "precision", "label", "isl", "osl", "concurrency")
# optional columns; empty or absent: range_ratio DEFAULT_RANGE_RATIO (or the CLI's
# --random-range-ratio), speculative none
OPTIONAL_IN = ("range_ratio", "speculative")
# the load generator's and bench_serving-style default: lengths uniform in [int(0.8 L), L]
DEFAULT_RANGE_RATIO = DEFAULT_LOAD.range_ratio
OUT_EXTRA = (
    "ttft_ms",
    "tpot_ms",
    "itl_ms",
    "output_throughput",
    "total_token_throughput",
    "tok_s_gpu",
    "tok_s_user",
    "gpus",
    "error",
)


def build_spec(
    model: str,
    hardware: str,
    precision: str,
    label: str,
    seed: int = 0,
    params: Params | None = None,
    kv_dtype: str = "bf16",
    **kw,
) -> SimSpec:
    """Resolve names into a :class:`SimSpec`; FrontierError with a one-line reason otherwise."""
    try:
        m = get_model(model)
        hw = get_hardware(hardware)
    except UnknownName as e:
        raise FrontierError(str(e)) from None
    if precision not in PRECISIONS:
        raise FrontierError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    topo = from_label(label, m)
    return SimSpec(m, hw, precision, topo, kv_dtype=kv_dtype, seed=seed, params=params, **kw)


def predict_point(
    model: str,
    hardware: str,
    precision: str,
    label: str,
    isl: int,
    osl: int,
    concurrency: int,
    num_prompts: int | None = None,
    seed: int = 0,
    params: Params | None = None,
    warmup: int | None = None,
    kv_dtype: str | None = None,
    range_ratio: float = 1.0,
    warmup_mode: str = "gate",
    server_flags: Mapping[str, Sequence[str]] | None = None,
    **server: object,
) -> dict:
    """Predicted metrics of one point (bench_serving names, plus gpus/tok_s_gpu/tok_s_user).

    ``range_ratio`` R in [0, 1] draws each prompt and output length uniformly from
    ``[max(1, int(L x R)), L]`` as bench_serving's ``--random-range-ratio`` does (1: exact
    lengths; the CLI and ``--points`` take (0, 1], default :data:`DEFAULT_RANGE_RATIO`);
    ``warmup_mode`` "gather" runs the warm-up as bench_serving does (see :func:`closed_loop`); ``server_flags``
    maps a role (single | prefill | decode) to that server's SGLang argv (the simulator derives
    SGLang's defaults from it where it can; ``kv_dtype`` None: the ``--kv-cache-dtype`` those flags
    set, else BF16); ``server`` takes SGLang server knobs of
    :class:`SimSpec` (``chunk``, ``max_prefill_tokens``, ``mem_fraction``, ``max_running``,
    ``mixed_chunk``).
    """
    for name, v in (("isl", isl), ("osl", osl), ("concurrency", concurrency)):
        if not isinstance(v, int) or v < 1:
            raise FrontierError(f"{name} must be a positive integer, got {v!r}")
    range_ratio = check_range_ratio(range_ratio, allow_zero=True)
    flags = _check_server_flags(server_flags) if server_flags else {}
    if flags:
        server["server_flags"] = flags  # the simulator's SGLang-derived defaults per role
    if kv_dtype is None:
        kv_dtype = kv_dtype_of_flags(flags)
    spec = build_spec(
        model, hardware, precision, label, seed=seed, params=params, kv_dtype=kv_dtype, **server
    )
    if isl + osl > spec.model.max_context:
        raise FrontierError(
            f"isl {isl} + osl {osl} exceeds {spec.model.name}'s context length {spec.model.max_context}"
        )
    cluster = Cluster(spec, record_itl=True)
    why = cluster.fits_ever(isl, osl)
    if why:
        raise FrontierError(f"{label} on {hardware}: {why}")
    n = num_prompts if num_prompts is not None else DEFAULT_LOAD.prompts_for(concurrency)
    w = warmup if warmup is not None else DEFAULT_LOAD.warmups_for(concurrency)
    reqs = closed_loop(
        cluster,
        isl,
        osl,
        concurrency,
        n,
        warmup=w,
        seed=seed,
        range_ratio=range_ratio,
        warmup_mode=warmup_mode,
    )
    vals, wts = [], []
    for e in cluster.engines:
        vals.extend(e.itl_vals)
        wts.extend(e.itl_wts)
    m = {k: (float(v) if hasattr(v, "dtype") else v) for k, v in point_metrics(reqs, vals, wts).items()}
    if not m.get("completed"):
        raise FrontierError(f"{label}: no request completed in simulation")
    gpus = cluster.gpus
    m.update(
        {
            "model": spec.model.name,
            "hardware": hardware,
            "precision": precision,
            "label": spec.topology.label if "+" in label else label,
            "isl": isl,
            "osl": osl,
            "max_concurrency": concurrency,
            "num_prompts": n,
            "gpus": gpus,
            "tok_s_gpu": m["total_token_throughput"] / gpus,
            "tok_s_gpu_output": m["output_throughput"] / gpus,
            "tok_s_user": 1000.0 / m["median_tpot_ms"] if m.get("median_tpot_ms") else math.nan,
            "kv_pool_tokens": cluster.pool_tokens(),
            "model_version": SIM_VERSION,
        }
    )
    return m


def check_range_ratio(value: object, field: str = "range_ratio", allow_zero: bool = False) -> float:
    """``value`` as a range ratio in (0, 1] ([0, 1] with ``allow_zero``: bench_serving draws lengths
    in [1, L] at 0, and a spec's ``load.range_ratio`` may be 0); FrontierError naming ``field`` and
    the fix otherwise."""
    try:
        r = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        r = math.nan
    if not ((0.0 <= r if allow_zero else 0.0 < r) and r <= 1.0):  # NaN fails too
        raise FrontierError(
            f"{field} must be a number in {'[' if allow_zero else '('}0, 1], got {value!r}: lengths are drawn uniformly from "
            f"[int(L x ratio), L] (bench_serving --random-range-ratio); use 1 for exact lengths or "
            f"{DEFAULT_RANGE_RATIO:g} (the default)"
        )
    return r


def _check_server_flags(flags: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    out = {}
    for role, argv in flags.items():
        if role not in ROLES:
            raise FrontierError(f"server_flags: unknown role {role!r}; use one of {', '.join(ROLES)}")
        if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
            raise FrontierError(f"server_flags[{role!r}] must be a list of argv strings, got {argv!r}")
        out[role] = tuple(argv)
    return out


def parse_row(row: Mapping[str, Any], default_range_ratio: float = DEFAULT_RANGE_RATIO) -> dict[str, Any]:
    """An IN.csv row as :func:`predict_point` arguments; FrontierError naming the column at fault."""
    missing = [k for k in IN_COLUMNS if str(row.get(k, "") or "").strip() == ""]
    if missing:
        raise FrontierError(f"missing column value(s): {', '.join(missing)}")
    args: dict[str, Any] = {k: str(row[k]).strip() for k in ("model", "hardware", "precision", "label")}
    for k in ("isl", "osl", "concurrency"):
        try:
            args[k] = int(str(row[k]).strip())
        except ValueError:
            raise FrontierError(f"column {k} must be a positive integer, got {row[k]!r}") from None
        if args[k] < 1:
            raise FrontierError(f"column {k} must be a positive integer, got {row[k]!r}")
    rr = str(row.get("range_ratio", "") or "").strip()
    args["range_ratio"] = check_range_ratio(rr, "column range_ratio") if rr else default_range_ratio
    spec = str(row.get("speculative", "") or "").strip().lower() or "none"
    if spec not in ("none", "mtp"):
        raise FrontierError(
            f"column speculative must be none or mtp (empty: none), got {row['speculative']!r}"
        )
    args["speculative"] = spec
    return args


FlagsFor = Callable[[Mapping[str, Any]], Mapping[str, Sequence[str]]]


def point_flags(args: Mapping[str, Any], flags_for: FlagsFor | None) -> dict[str, Any]:
    """``predict_point`` keywords for a point's servers: ``flags_for(args)`` gives each role's
    SGLang flags (the CLI's recipe; ``predict_point`` reads the KV-cache dtype from them)."""
    if flags_for is None:
        if args.get("speculative", "none") != "none":
            raise FrontierError("speculative mtp needs the recipe's flags (drop --no-recipes)")
        return {}
    flags = dict(flags_for(args))
    return {"server_flags": flags or None}


def predict_row(
    row: dict, default_range_ratio: float = DEFAULT_RANGE_RATIO, flags_for: FlagsFor | None = None
) -> dict:
    """One IN.csv row -> one OUT.csv row (median latencies); errors land in ``error``.

    ``range_ratio`` (optional column; empty: ``default_range_ratio``) and ``speculative`` (none or
    mtp; empty: none) are echoed as used; ``flags_for`` gives the row's servers their flags."""
    out = {k: row.get(k, "") for k in IN_COLUMNS}
    out["range_ratio"] = row.get("range_ratio", "") or ""
    out["speculative"] = row.get("speculative", "") or ""
    out.update({k: "" for k in OUT_EXTRA})
    try:
        args = parse_row(row, default_range_ratio)
        out["range_ratio"] = args["range_ratio"]
        out["speculative"] = args["speculative"]
        m = predict_point(
            args["model"],
            args["hardware"],
            args["precision"],
            args["label"],
            args["isl"],
            args["osl"],
            args["concurrency"],
            range_ratio=args["range_ratio"],
            **point_flags(args, flags_for),
        )
        out.update(
            ttft_ms=round(m["median_ttft_ms"], 3),
            tpot_ms=round(m["median_tpot_ms"], 4),
            itl_ms=round(m["median_itl_ms"], 4),
            output_throughput=round(m["output_throughput"], 3),
            total_token_throughput=round(m["total_token_throughput"], 3),
            tok_s_gpu=round(m["tok_s_gpu"], 3),
            tok_s_user=round(m["tok_s_user"], 3),
            gpus=m["gpus"],
            error="",
        )
    except FrontierError as e:
        out["error"] = str(e)
    return out


def predict_csv(
    in_path: str | Path,
    out_path: str | Path,
    default_range_ratio: float = DEFAULT_RANGE_RATIO,
    flags_for: FlagsFor | None = None,
) -> int:
    """Predict every row of IN.csv into OUT.csv; returns the number of rows with an error.

    A row without a ``range_ratio`` value uses ``default_range_ratio``; ``flags_for`` (row
    arguments -> role -> SGLang flags) gives each row's servers their flags."""
    default_range_ratio = check_range_ratio(default_range_ratio, "--random-range-ratio")
    with open(in_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in IN_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise FrontierError(
                f"{in_path}: missing column(s) {', '.join(missing)}; need {','.join(IN_COLUMNS)}"
                f" (optional: {','.join(OPTIONAL_IN)})"
            )
        rows = [predict_row(r, default_range_ratio, flags_for) for r in reader]
    with open(out_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(IN_COLUMNS) + list(OPTIONAL_IN) + list(OUT_EXTRA))
        w.writeheader()
        w.writerows(rows)
    return sum(1 for r in rows if r["error"])


# ---- a whole sweep spec ----------------------------------------------------------------------------

SPEC_COLUMNS = (
    "model",
    "hardware",
    "precision",
    "label",
    "scenario",
    "isl",
    "osl",
    "concurrency",
    "range_ratio",
    "num_prompts",
    "ttft_ms",
    "tpot_ms",
    "itl_ms",
    "tok_s_gpu",
    "tok_s_user",
    "gpus",
    "error",
)


def launch_server_flags(launch: Mapping[str, Any] | None, clean=None) -> dict[str, tuple[str, ...]]:
    """Role -> the SGLang flags of that role's first server in a launch plan's JSON: the argv from
    its first ``--`` flag on (or ``clean(argv)`` when given). A simulated plan (one ``--deployment``
    process) gives the flags each role of its label runs with (the process's own, then
    ``--prefill-server-args`` / ``--decode-server-args``). Empty for engines that start no server."""
    from frontier.domain import labels
    from frontier.sim.config import deployment_role_flags

    out: dict[str, tuple[str, ...]] = {}
    for s in (launch or {}).get("servers") or []:
        role, argv = s.get("role"), list(s.get("argv") or [])
        first = next((i for i, a in enumerate(argv) if a.startswith("--")), len(argv))
        flags = list(clean(argv)) if clean is not None else argv[first:]
        if "--deployment" in argv[:-1]:
            roles = [g.role for g in labels.parse(argv[argv.index("--deployment") + 1]).groups]
            return deployment_role_flags(flags, roles)
        if role in ROLES and role not in out and int(s.get("node_rank") or 0) == 0:
            out[role] = tuple(flags)
    return out


def server_flags_of(item: Any) -> dict[str, tuple[str, ...]]:
    """Role -> the SGLang flags of a plan item's servers (:func:`launch_server_flags` of its launch)."""
    return launch_server_flags(item.launch)


def kv_dtype_of_flags(flags: Mapping[str, Sequence[str]]) -> str:
    """The KV-cache dtype servers with these flags run with (the first role that sets one)."""
    from frontier.sim.perf_model import kv_dtype_of

    for argv in flags.values():
        argv = list(argv)
        if "--kv-cache-dtype" in argv[:-1]:
            return kv_dtype_of(argv[argv.index("--kv-cache-dtype") + 1])
    return kv_dtype_of(None)


def _metric(m: Mapping[str, Any], key: str) -> float | None:
    v = m.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def predict_item_point(
    item: Any,
    c: int,
    seed: int = 0,
    num_prompts: int | None = None,
    flags: Mapping[str, Sequence[str]] | None = None,
    warmup: int | None = None,
) -> dict:
    """:func:`predict_point` of a plan item at concurrency ``c``: its model, hardware, precision,
    label and scenario, its load shape (prompts, warm-ups, range ratio) and its servers' SGLang
    flags (``flags``, when already read; else :func:`server_flags_of`) with the KV dtype they set."""
    flags = server_flags_of(item) if flags is None else flags
    return predict_point(
        item.model,
        item.hardware,
        item.precision,
        item.label,
        item.scenario["isl"],
        item.scenario["osl"],
        c,
        num_prompts=item.num_prompts.get(c) if num_prompts is None else num_prompts,
        warmup=item.warmup_requests.get(c) if warmup is None else warmup,
        seed=seed,
        range_ratio=item.load.range_ratio,
        server_flags=dict(flags) or None,
    )


def predict_item(
    item: Any, seed: int = 0, flags: Mapping[str, Sequence[str]] | None = None
) -> list[dict[str, Any]]:
    """One row per concurrency of the item's ladder, predicted in virtual time with the item's load
    shape (prompts, warm-ups, range ratio) and its servers' SGLang flags. A point that cannot run
    says why in ``error`` (an item that does not fit its GPUs: the planner's reason on every row)."""
    flags = server_flags_of(item) if flags is None else flags
    rr = item.load.range_ratio
    rows = []
    for c in item.concurrencies:
        row: dict[str, Any] = {
            "model": item.model,
            "hardware": item.hardware,
            "precision": item.precision,
            "label": item.display_label,
            "scenario": item.scenario["name"],
            "isl": item.scenario["isl"],
            "osl": item.scenario["osl"],
            "concurrency": c,
            "range_ratio": rr,
            "num_prompts": item.num_prompts.get(c),
            **dict.fromkeys(("ttft_ms", "tpot_ms", "itl_ms", "tok_s_gpu", "tok_s_user"), None),
            "gpus": item.gpus,
            "error": item.fit_error,
        }
        if item.fit_error is None:
            try:
                m = predict_item_point(item, c, seed=seed, flags=flags)
                row.update(
                    ttft_ms=_metric(m, "median_ttft_ms"),
                    tpot_ms=_metric(m, "median_tpot_ms"),
                    itl_ms=_metric(m, "median_itl_ms"),
                    tok_s_gpu=_metric(m, "tok_s_gpu"),
                    tok_s_user=_metric(m, "tok_s_user"),
                    gpus=int(m["gpus"]),
                )
            except FrontierError as e:
                row["error"] = str(e)
            except Exception as e:  # noqa: BLE001 - one item's failure never stops the sweep
                row["error"] = f"{type(e).__name__}: {e}"
        rows.append(row)
    return rows


def predict_items(
    items: Iterable[Any],
    seed: int = 0,
    on_item: Callable[[Any, list[dict[str, Any]], float], None] | None = None,
    flags_for: Callable[[Any], Mapping[str, Sequence[str]]] | None = None,
) -> list[dict[str, Any]]:
    """:func:`predict_item` of every plan item, in order; ``on_item(item, rows, seconds)`` after each;
    ``flags_for(item)`` gives its servers' flags (default: its launch plan's).
    (``frontier.cli.predict.predict_spec`` plans a spec into these items.)"""
    rows: list[dict[str, Any]] = []
    for item in items:
        t = time.perf_counter()
        got = predict_item(item, seed=seed, flags=None if flags_for is None else flags_for(item))
        if on_item is not None:
            on_item(item, got, time.perf_counter() - t)
        rows.extend(got)
    return rows
