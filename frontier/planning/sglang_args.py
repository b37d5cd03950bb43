"""SGLang launch commands for a deployment label: pure argv builders, no I/O, no Airflow.

``build_launch_plan("SEP4+1xDEP8", model=..., hardware=..., precision=...)`` returns a
:class:`LaunchPlan`: one :class:`ServerCommand` per server process (one per node for a server
larger than a node) and, for a disaggregated label, the ``sglang_router`` command in front.
Every flag is checked against SGLang 0.5.23's ``server_args.py`` (see ``SGLANG_VERSION``);
``tests/integration/test_sglang_parser.py`` parses the generated commands with sglang's own
parser.

Mapping of one group (``n`` GPUs per server), SGLang 0.5.23, as the table
:data:`frontier.domain.modes.MODES` builds it:

==========  ==========================================================================
``TPn``     ``--tp-size n``
``DPn``     ``--dp-size n`` (n replicas of a TP1 model in one server; one node at most)
``TEPn``    ``--tp-size n --ep-size n``                                   (MoE only)
``DEPn``    ``--tp-size n --attn-dp-size n --ep-size n`` (0.5.23 form of the deprecated
            ``--dp-size n --enable-dp-attention``)                         (MoE only)
``DPATPn``  ``--tp-size n --attn-dp-size n``
``SEPn``    ``--tp-size n --attn-cp-size n --enable-prefill-cp --cp-strategy zigzag
            --ep-size n`` (0.5.23 rejects prefill CP without ``--cp-strategy`` at launch;
            MoE models with prefill-CP support only: DeepSeek V2/V3/R1, Qwen3-MoE)
``EPn``,    rejected: the label gives the EP width but not the server's TP width, which
``DPAEPn``  differs from it by definition (the simulated engine still models them)
==========  ==========================================================================

Precision: ``fp8`` adds ``--quantization fp8`` (online FP8 of a BF16 checkpoint) unless the
checkpoint is already FP8 (DeepSeek-V3/R1) or FP4 (gpt-oss), and ``--kv-cache-dtype fp8_e4m3``
always (the performance model halves KV bytes at fp8). ``fp4`` serves the catalog's NVFP4
checkpoint (``checkpoints.fp4``, e.g. ``nvidia/DeepSeek-R1-FP4``) with ``--quantization
modelopt_fp4`` and FP8 KV. ``bf16`` adds nothing: for a natively FP8 model it needs a BF16
checkpoint, given through ``LaunchOptions.model_path``.

Performance knobs (``--trust-remote-code``, ``--mem-fraction-static``, DeepEP ...) come from the
recipe profiles of :mod:`frontier.planning.recipes`, overridden by the spec's typed ``tuning``
(:mod:`frontier.domain.tuning`); ``speculative: mtp`` adds the EAGLE/MTP flags.

A server larger than a node runs one process per node with ``--nnodes``, ``--node-rank`` and
``--dist-init-addr``; only rank 0 serves HTTP. Smaller servers are packed onto nodes in order
(prefill first), a second server on a node starting at ``--base-gpu-id``. Ports: server ``i``
(in plan order) listens on ``base_port + port_stride*i``, its torch.distributed rendezvous is
``dist_init_port + i``, prefill server ``j`` bootstraps on ``bootstrap_port + j``.

The simulated engine runs one ``frontier.sim.launch_server --deployment LABEL`` process per
deployment (:func:`build_sim_command`, planned by :mod:`frontier.planning.engines`), on the host
and port this plan gives the first server.

``extra_args`` keys, applied in this order to every matching server: ``"*"``, the role
(``single``/``prefill``/``decode``), the group (``DEP8``), the canonical label (``1xSEP4+1xDEP8``).
"""

from __future__ import annotations

from dataclasses import dataclass

from frontier.domain.catalog import PRECISIONS, ModelSpec, get_hardware, get_model
from frontier.domain.cluster import LaunchOptions
from frontier.domain.labels import Deployment, Group, LabelError, parse
from frontier.domain.modes import CP_STRATEGY  # noqa: F401  (re-exported: the SEP flag value)
from frontier.domain.tuning import MTPSettings, ServerTuning, Tuning, speculative_tag
from frontier.errors import FrontierError
from frontier.planning import recipes
from frontier.planning.launch_plan import LaunchPlan, RouterCommand, ServerCommand

SGLANG_VERSION = "0.5.23"
SGLANG_ROUTER_VERSION = "0.3.2"

SERVER_MODULE = "sglang.launch_server"
SIM_SERVER_MODULE = "frontier.sim.launch_server"

# checkpoints published in FP8: --quantization fp8 would be wrong for them
NATIVE_FP8_MODELS = frozenset({"deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3"})
# model families whose SGLang 0.5.23 implementation supports prefill context parallel
PREFILL_CP_FAMILIES = ("deepseek", "qwen3")
FP8_KV_CACHE_DTYPE = "fp8_e4m3"


class UnsupportedLabel(FrontierError):
    """A label SGLang 0.5.23 cannot express for this model: raised at plan time."""


# --------------------------------------------------------------------------- per-group flags


def _supports_prefill_cp(spec: ModelSpec) -> bool:
    name = spec.name.lower()
    return spec.is_moe and any(f in name for f in PREFILL_CP_FAMILIES)


def parallel_args(group: Group, spec: ModelSpec, label: str, gpus_per_node: int = 8) -> list[str]:
    """The parallelism flags of one server of ``group`` (from ``modes.MODES``); raises :class:`UnsupportedLabel`."""
    n, mode, t = group.gpus, group.mode, group.traits
    where = f"label {label!r} ({group} on {spec.name})"
    flags = t.sglang_flags(n)
    if flags is None:
        raise UnsupportedLabel(f"{where}: {t.unsupported_reason(n, SGLANG_VERSION)}")
    if t.needs_moe and not spec.is_moe:
        raise UnsupportedLabel(
            f"{where}: {mode} runs MoE experts expert-parallel but {spec.name} is a dense model; "
            f"use {' or '.join(f'{alt}{n}' for alt in t.dense_alternative)}"
        )
    if t.expert_parallel and spec.moe is not None and spec.moe.experts % n:
        raise UnsupportedLabel(
            f"{where}: {spec.moe.experts} experts do not split evenly over expert parallel {n}"
        )
    if t.prefill_cp and not _supports_prefill_cp(spec):
        raise UnsupportedLabel(
            f"{where}: SGLang {SGLANG_VERSION} implements prefill context parallel "
            f"(--enable-prefill-cp) only for DeepSeek V2/V3/R1 and Qwen3-MoE; use TEP{n} or DEP{n}"
        )
    if t.one_node_only and n > gpus_per_node:
        raise UnsupportedLabel(
            f"{where}: {t.one_node_only} ({gpus_per_node} GPUs); "
            f"launch several {mode}{gpus_per_node} deployments instead"
        )
    attn_tp = t.attn_tp(n)
    if attn_tp > 1 and spec.heads % attn_tp:
        raise UnsupportedLabel(
            f"{where}: {spec.heads} attention heads do not split over tensor parallel {attn_tp}"
        )
    return flags


def precision_args(spec: ModelSpec, precision: str) -> list[str]:
    """Quantization and KV-cache flags for ``precision`` ("bf16" | "fp8" | "fp4")."""
    if precision not in PRECISIONS:
        raise FrontierError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if precision == "bf16":
        return []
    native = spec.native_precision or ("fp8" if spec.name in NATIVE_FP8_MODELS else None)
    if precision == "fp4":
        # an NVFP4 checkpoint (ModelOpt export, e.g. nvidia/DeepSeek-R1-FP4): InferenceX
        # benchmarks/dsr1_fp4_b200.sh runs it with --quantization modelopt_fp4; a natively FP4
        # checkpoint (gpt-oss MXFP4) needs no flag
        out = [] if native == "fp4" else ["--quantization", "modelopt_fp4"]
    else:
        out = [] if native in ("fp8", "fp4") else ["--quantization", "fp8"]
    return out + ["--kv-cache-dtype", FP8_KV_CACHE_DTYPE]


def checkpoint(spec: ModelSpec, precision: str, model_path: str | None = None) -> str:
    """The checkpoint to serve: ``model_path`` when given, else the catalog's for ``precision``
    (``checkpoints: {fp4: nvidia/DeepSeek-R1-FP4}``), else the model's own HF id. fp4 of a model
    with neither an FP4 checkpoint nor native FP4 weights is an error naming the fix."""
    if model_path:
        return model_path
    if precision in spec.checkpoints:
        return spec.checkpoints[precision]
    if precision == "fp4" and spec.native_precision != "fp4":
        raise FrontierError(
            f"precision fp4: {spec.name} has no NVFP4 checkpoint in the catalog; give one with "
            f"cluster.model_path (a ModelOpt FP4 export) or use fp8"
        )
    return spec.name


def tuning_args(t: ServerTuning, group: Group, spec: ModelSpec) -> list[str]:
    """The flags of one server's resolved :class:`ServerTuning` (EP-only knobs on EP groups only)."""
    out: list[str] = []
    if t.trust_remote_code:
        out.append("--trust-remote-code")
    if t.mem_fraction_static is not None:
        out += ["--mem-fraction-static", repr(t.mem_fraction_static)]
    if t.cuda_graph_max_bs is not None:
        out += ["--cuda-graph-max-bs-decode", str(t.cuda_graph_max_bs)]
    for flag, value in (
        ("--chunked-prefill-size", t.chunked_prefill_size),
        ("--max-prefill-tokens", t.max_prefill_tokens),
        ("--max-running-requests", t.max_running_requests),
        ("--scheduler-recv-interval", t.scheduler_recv_interval),
    ):
        if value is not None:
            out += [flag, str(value)]
    if t.disable_radix_cache:
        out.append("--disable-radix-cache")
    if group.expert_parallel and spec.is_moe:
        if t.moe_a2a_backend and t.moe_a2a_backend != "none":
            out += ["--moe-a2a-backend", t.moe_a2a_backend]
            if t.moe_a2a_backend == "deepep" and t.deepep_mode:
                out += ["--deepep-mode", t.deepep_mode]
        if t.enable_eplb:
            out.append("--enable-eplb")
        if t.ep_num_redundant_experts:
            out += ["--ep-num-redundant-experts", str(t.ep_num_redundant_experts)]
    return out


def _extra(options: LaunchOptions, role: str, group: Group, label: str) -> list[str]:
    out: list[str] = []
    for key in ("*", role, str(group), label):
        out += list(options.extra_args.get(key, []))
    return out


# --------------------------------------------------------------------------- placement


@dataclass
class _Slot:
    group_index: int
    group: Group
    replica: int
    node_index: int  # first node
    nnodes: int
    base_gpu_id: int


def _place(deployment: Deployment, gpn: int, label: str) -> tuple[list[_Slot], int]:
    """Servers onto nodes in plan order; returns (slots, number of nodes)."""
    slots: list[_Slot] = []
    node, used = 0, 0
    for gi, g in enumerate(deployment.groups):
        for r in range(g.count):
            if g.gpus > gpn:
                if g.gpus % gpn:
                    raise UnsupportedLabel(
                        f"label {label!r}: {g} spans nodes of {gpn} GPUs but {g.gpus} is not a multiple "
                        f"of {gpn}"
                    )
                if used:
                    node, used = node + 1, 0
                k = g.gpus // gpn
                slots.append(_Slot(gi, g, r, node, k, 0))
                node += k
            else:
                if used + g.gpus > gpn:
                    node, used = node + 1, 0
                slots.append(_Slot(gi, g, r, node, 1, used))
                used += g.gpus
                if used == gpn:
                    node, used = node + 1, 0
    return slots, node + (1 if used else 0)


# --------------------------------------------------------------------------- the plan


def build_launch_plan(
    label: str,
    *,
    model: str,
    hardware: str,
    precision: str,
    options: LaunchOptions | None = None,
    tuning: Tuning | None = None,
    speculative: str | None = None,
    mtp: MTPSettings | None = None,
) -> LaunchPlan:
    """Every process to start for ``label`` (servers, then the PD router if any).

    Each server's knobs: the recipe profile (:mod:`frontier.planning.recipes`, unless
    ``options.recipes`` is off), then ``options.mem_fraction_static`` / ``moe_a2a_backend``,
    ``options.tuning``, ``tuning`` (the matrix entry's), each role section winning over its
    common fields; then ``speculative`` (``"mtp"``: ``mtp``'s flags, default
    :class:`MTPSettings`, and with ``mtp.accept_len`` its ``SGLANG_SIMULATE_ACC_*`` environment)
    and the free ``extra_args``. ``options.env`` wins over any environment set here.

    Raises :class:`UnsupportedLabel` when SGLang cannot express the label for this model, and
    :class:`FrontierError` for an unknown model/hardware/precision or too few ``nodes``.
    """
    opts = options or LaunchOptions()
    try:
        dep = parse(label)
        spec = get_model(model)
        hw = get_hardware(hardware)
    except (LabelError, KeyError) as e:
        raise FrontierError(str(e)) from None
    canon = str(dep)
    gpn = hw.gpus_per_node
    prec = precision_args(spec, precision)
    slots, n_nodes = _place(dep, gpn, canon)

    if opts.nodes:
        if len(opts.nodes) < n_nodes:
            raise FrontierError(
                f"label {canon!r} on {hardware} needs {n_nodes} nodes of {gpn} GPUs, "
                f"options.nodes names {len(opts.nodes)}"
            )
        hosts = list(opts.nodes)
    elif n_nodes == 1:
        hosts = [opts.host] * n_nodes
    else:
        hosts = [f"node{i}" for i in range(n_nodes)]
    one_host = len(set(hosts[:n_nodes])) == 1
    bind = opts.bind_host or (opts.host if one_host and hosts[0] == opts.host else "0.0.0.0")
    module = opts.server_module or SERVER_MODULE
    model_path = checkpoint(spec, precision, opts.model_path)
    spec_tag = speculative_tag(speculative)
    if spec_tag == "mtp" and not spec.mtp_layers:
        raise UnsupportedLabel(
            f"speculative mtp: {spec.name} has no multi-token-prediction layers "
            f"(num_nextn_predict_layers); use speculative none"
        )
    spec_flags = (mtp or MTPSettings()).flags() if spec_tag == "mtp" else []
    # a pinned acceptance length reaches every server that runs the draft (SGLang's simulated acceptance)
    spec_env = (mtp or MTPSettings()).env() if spec_tag == "mtp" else {}
    shorthand = ServerTuning(
        mem_fraction_static=opts.mem_fraction_static, moe_a2a_backend=opts.moe_a2a_backend
    )

    def _resolved(role: str, group: Group) -> recipes.Resolved:
        if opts.recipes:
            rec = recipes.resolve(
                model=spec.name,
                hardware=hw.name,
                precision=precision,
                role=role,
                group=group,
                speculative=bool(spec_tag),
                disaggregated=dep.disaggregated,
            )
        else:
            rec = recipes.Resolved(ServerTuning(), [], None, None, {})
        t = rec.tuning.merged(shorthand).merged(opts.tuning.for_role(role))
        rec.tuning = t.merged(tuning.for_role(role)) if tuning is not None else t
        return rec

    resolved = [_resolved(slot.group.role, slot.group) for slot in slots]
    pd = [r for r, slot in zip(resolved, slots) if slot.group.role in ("prefill", "decode")]
    transfer_backend = opts.transfer_backend or next(
        (r.transfer_backend for r in pd if r.transfer_backend), recipes.DEFAULT_TRANSFER_BACKEND
    )
    bootstrap_port = opts.bootstrap_port or next(
        (r.bootstrap_port for r in pd if r.bootstrap_port), recipes.DEFAULT_BOOTSTRAP_PORT
    )

    servers: list[ServerCommand] = []
    prefill_urls: list[tuple[str, int]] = []
    decode_urls: list[str] = []
    n_prefill = 0
    for i, slot in enumerate(slots):
        g = slot.group
        role = g.role
        port = opts.base_port + opts.port_stride * i
        head = hosts[slot.node_index]
        url = f"http://{head}:{port}"
        args = [
            opts.python or "python3",
            "-m",
            module,
            "--model-path",
            model_path,
            "--host",
            bind,
            "--port",
            str(port),
        ]
        args += parallel_args(g, spec, canon, gpn)
        args += prec
        args += tuning_args(resolved[i].tuning, g, spec)
        args += spec_flags
        if slot.base_gpu_id:
            args += ["--base-gpu-id", str(slot.base_gpu_id)]
        boot = None
        if role in ("prefill", "decode"):
            args += [
                "--disaggregation-mode",
                role,
                "--disaggregation-transfer-backend",
                transfer_backend,
            ]
            if opts.ib_device:
                args += ["--disaggregation-ib-device", opts.ib_device]
            if role == "prefill":
                boot = bootstrap_port + n_prefill
                n_prefill += 1
                args += ["--disaggregation-bootstrap-port", str(boot)]
                prefill_urls.append((url, boot))
            else:
                decode_urls.append(url)
        extra = _extra(opts, role, g, canon)
        nnodes = slot.nnodes
        for rank in range(nnodes):
            argv = list(args)
            if nnodes > 1:
                argv += [
                    "--nnodes",
                    str(slot.nnodes),
                    "--node-rank",
                    str(rank),
                    "--dist-init-addr",
                    f"{head}:{opts.dist_init_port + i}",
                ]
            argv += extra
            servers.append(
                ServerCommand(
                    role=role,
                    group_index=slot.group_index,
                    replica=slot.replica,
                    node_rank=rank,
                    nnodes=nnodes,
                    host=hosts[slot.node_index + rank],
                    port=port,
                    gpus=min(g.gpus, gpn),
                    argv=argv,
                    url=url,
                    base_gpu_id=slot.base_gpu_id,
                    bootstrap_port=boot,
                    env={**resolved[i].env, **spec_env, **opts.env},
                )
            )

    router = None
    if dep.disaggregated:
        rhost = opts.router_host or opts.host
        rport = opts.router_port if opts.router_port is not None else opts.base_port + 1000
        rargv = [opts.python or "python3", "-m", opts.router_module, "--pd-disaggregation"]
        for u, b in prefill_urls:
            rargv += ["--prefill", u, str(b)]
        for u in decode_urls:
            rargv += ["--decode", u]
        rargv += ["--host", rhost, "--port", str(rport)]
        router = RouterCommand(
            argv=rargv, host=rhost, port=rport, url=f"http://{rhost}:{rport}", env=dict(opts.env)
        )
    endpoint = router.url if router else servers[0].url
    return LaunchPlan(label=canon, engine="sglang", servers=servers, router=router, endpoint_url=endpoint)


def build_sim_command(
    label: str,
    model: str,
    hardware: str,
    precision: str,
    host: str = "127.0.0.1",
    port: int = 30000,
    extra: list[str] | None = None,
    *,
    python: str = "python3",
    time_scale: float | None = None,
) -> list[str]:
    """One simulated server for the whole deployment (``--deployment LABEL``), any label.

    The simulator models every mode, including those SGLang cannot express (EPn, DPAEPn), so
    this only checks the label's grammar and the catalog names.
    """
    try:
        canon = str(parse(label))
        spec = get_model(model)
        get_hardware(hardware)
    except (LabelError, KeyError) as e:
        raise FrontierError(str(e)) from None
    if precision not in PRECISIONS:
        raise FrontierError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    argv = [
        python,
        "-m",
        SIM_SERVER_MODULE,
        "--model-path",
        spec.name,
        "--host",
        host,
        "--port",
        str(port),
        "--hardware",
        hardware,
        "--precision",
        precision,
        "--deployment",
        canon,
    ]
    if time_scale is not None:
        argv += ["--time-scale", repr(time_scale)]
    return argv + list(extra or [])


def total_nodes(label: str, hardware: str) -> int:
    """Nodes a label occupies on ``hardware`` with this module's packing."""
    dep = parse(label)
    return _place(dep, get_hardware(hardware).gpus_per_node, str(dep))[1]
