"""The analytical step-time model of the simulated engine: roofline + efficiency + communication.

For one server (:class:`~frontier.sim.topology.ServerShape`) of one model on one GPU type it
answers: how many bytes of weights each GPU holds, how many tokens its KV pool holds, and how
long one engine iteration takes for a batch of decode tokens (with their total context) plus a
set of prefill chunks. Formulas follow shared/design/perf-model.md:

    T_step = max(T_mem, T_comp) + T_comm + T_overhead
    T_mem  = (dense weights + touched experts + KV read) / (eta_mem * HBM_BW)
    T_comp = GEMM flops / (eta * peak[precision]) + attention flops / (eta_attn * peak[bf16])
    T_comm = TP all-reduce (2 per layer) + EP all-to-all (dispatch FP8 + combine BF16 per MoE layer)

Wide EP (the EP group spans nodes: SGLang's large-scale EP recipe with DeepEP, two-batch overlap
and EPLB, lmsys.org/blog/2025-05-05-large-scale-ep) is modelled apart, see ``_wide_ep_step``:
the all-to-all runs over the NIC (DeepEP normal mode for prefill, deduplicated per node and
forwarded over NVLink; low-latency mode for decode, one RDMA message per top-k copy), the
busiest expert rank sets the MoE and all-to-all time (``ep_balancedness``), and two-batch overlap
pairs one micro-batch's compute stage with the other's dispatch or combine stage.

Routed experts touched by T tokens: a fraction 1 - (1 - top_k/E)^T of each GPU's experts is read.

Issue 16 (constants and their sources in params.yaml):
- prefill/extend runs without CUDA graphs (and so does a decode batch above ``cuda_graph_max_bs``
  per attention rank): every such iteration pays kernels-per-layer x launch latency per layer;
- routed-expert prefill GEMMs run at DeepGEMM's published grouped-GEMM efficiency for the rows
  each expert receives (M per group), at the weights' precision (NVFP4 on Blackwell: the FP4 peak,
  weights at 0.5 byte + block scales a parameter);
- the MoE communication follows ``moe_a2a_backend``: an all-to-all library (DeepEP, and alike
  mooncake / nixl / mori / flashinfer: one FP8 copy per destination GPU, BF16 combine), or SGLang's
  default "none" (also None): under DP-attention an all-gather + reduce-scatter of every rank's
  tokens per layer; under TP attention the tokens are on every rank already and the MLP's
  all-reduce combines the experts' outputs (no extra traffic);
- speculative decoding (``spec``, :mod:`frontier.sim.specdec`): one iteration = ``num_steps``
  draft passes (one decoder layer + LM head, ``topk`` tokens a request) + a target verify of
  ``draft_tokens`` tokens a request (same weight and KV reads, that many times the compute);
  the draft layer's KV shrinks the pool; requests gain ``accept_len`` tokens an iteration.
Efficiency constants are data (params.yaml). Every time is in seconds.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from frontier.domain.catalog import Hardware, ModelSpec
from frontier.errors import FrontierError
from frontier.sim.specdec import SpecDecode
from frontier.sim.topology import ServerShape

# --moe-a2a-backend values that dispatch token copies to the expert ranks (SGLang's
# arg_groups fields: deepep, mooncake, nixl, mori, flashinfer); "none" is SGLang's default
A2A_BACKENDS = ("deepep", "mooncake", "nixl", "mori", "flashinfer")
GB = 1e9
GIB = 2**30  # HBM capacities are quoted in GiB (H100 80 GiB = 81,559 MiB in nvidia-smi)
_VECTOR_STEPS = 32  # decode_times: numpy from this many steps on (below, a plain loop is faster)


@dataclass(frozen=True)
class Params:
    eta_mem: float
    eta_mem_moe: float
    eta_comp_decode: float
    eta_comp_prefill: float
    eta_attn: float
    eta_link: float
    eta_nic: float
    alpha_intra_us: float
    alpha_inter_us: float
    alpha_a2a_us: float
    step_overhead_ms: float
    layer_overhead_us: float
    per_request_overhead_us: float
    activation_reserve_gb: float
    mem_fraction_static: float
    pd_transfer_latency_ms: float
    dp_attention_imbalance: float
    eta_a2a_rdma: float
    ep_balancedness: float
    deepep_sm_share: float
    tbo_min_tokens: int
    new_token_ratio: float
    step_noise: float
    eager_layer_ms_dense: float
    eager_layer_ms_moe: float
    grouped_gemm_ref_peak_tflops: float
    grouped_gemm_tflops: tuple[tuple[float, float], ...]
    fp4_scale_bytes_per_param: float
    tokenize_us_per_token: float
    http_parse_ms: float
    router_hop_ms: float
    detokenize_emit_ms: float

    def replace(self, **kw: float) -> Params:
        return Params(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **kw})


@lru_cache(maxsize=1)
def default_params() -> Params:
    data = yaml.safe_load(resources.files(__package__).joinpath("params.yaml").read_text())
    data["grouped_gemm_tflops"] = tuple(sorted((float(m), float(t)) for m, t in data["grouped_gemm_tflops"]))
    return Params(**data)


def grouped_gemm_eta(p: Params, m_per_group: float) -> float:
    """Fraction of peak a block-scaled grouped GEMM reaches with ``m_per_group`` rows a group
    (DeepGEMM's published table, params.yaml): log-linear between its points, flat above the
    last, proportional to M below the first."""
    table = p.grouped_gemm_tflops
    peak = p.grouped_gemm_ref_peak_tflops
    m0, t0 = table[0]
    if m_per_group <= m0:
        return max(m_per_group, 1e-9) / m0 * t0 / peak
    if m_per_group >= table[-1][0]:
        return table[-1][1] / peak
    i = bisect.bisect_right([m for m, _ in table], m_per_group)
    (ma, ta), (mb, tb) = table[i - 1], table[i]
    f = (math.log(m_per_group) - math.log(ma)) / (math.log(mb) - math.log(ma))
    return (ta + f * (tb - ta)) / peak


def kv_dtype_of(kv_cache_dtype: str | None) -> str:
    """SGLang's --kv-cache-dtype: auto (BF16 here) or an fp8 variant."""
    return "fp8" if kv_cache_dtype and kv_cache_dtype.startswith("fp8") else "bf16"


def attention_dims(model: ModelSpec) -> tuple[float, float]:
    """Per-token attention width (heads x dim, QK and AV averaged) for prefill and decode."""
    if model.attention == "mla":  # prefill: qk 192 / v 128 per head; decode absorbed: 576 / 512
        return model.heads * 160.0, model.heads * 544.0
    d = float(model.heads * model.head_dim)
    return d, d


def default_chunked_prefill(hw: Hardware) -> int:
    return 16384 if hw.hbm_gb >= 160 else 8192


class StepModel:
    """Step-time and memory model of one server shape."""

    def __init__(
        self,
        model: ModelSpec,
        hw: Hardware,
        precision: str,
        shape: ServerShape,
        params: Params | None = None,
        kv_dtype: str = "bf16",
        mem_fraction: float | None = None,
        cuda_graph_max_bs: int | None = None,
        spec: SpecDecode | None = None,
        moe_a2a_backend: str | None = None,
        prefill_graph_tokens: int = 0,
    ) -> None:
        p = params or default_params()
        self.model, self.hw, self.precision, self.shape, self.p = model, hw, precision, shape, p
        self.kv_dtype = kv_dtype
        self.cuda_graph_max_bs = cuda_graph_max_bs
        self.prefill_graph_tokens = prefill_graph_tokens
        self.spec = spec
        if moe_a2a_backend not in (None, "none", *A2A_BACKENDS):
            raise FrontierError(
                f"moe_a2a_backend {moe_a2a_backend!r}: the simulator models none (SGLang's default) and "
                f"{', '.join(A2A_BACKENDS)}"
            )
        self.moe_a2a_backend = moe_a2a_backend or "none"
        self._accept_len = spec.resolved_accept_len(model.name) if spec else 1.0
        n = shape.gpus
        bytes_per_param = model.weight_bytes(precision) / (model.params_b * 1e9)
        if precision == "fp4" and model.native_precision != "fp4":  # NVFP4 checkpoint: block scales
            bytes_per_param += p.fp4_scale_bytes_per_param
        expert_b = model.moe.expert_params_b if model.moe else 0.0
        dense_b = model.params_b - expert_b
        self.expert_bytes_gpu = expert_b * 1e9 * bytes_per_param / n
        self.dense_bytes_gpu = dense_b * 1e9 * bytes_per_param / shape.dense_shard
        self.weights_per_gpu = self.expert_bytes_gpu + self.dense_bytes_gpu
        # the draft model of speculative decoding: DeepSeek's MTP module is one more decoder layer
        # (embedding and LM head shared with the target in SGLang's EAGLE worker)
        self.draft_layers = (max(1, model.mtp_layers) if spec else 0) / model.layers
        self.weights_per_gpu *= 1.0 + self.draft_layers
        self.lm_head_bytes_gpu = model.vocab * model.hidden * 2.0 / shape.dense_shard
        per_layer = p.eager_layer_ms_moe if model.moe else p.eager_layer_ms_dense
        self.eager_time = model.layers * per_layer * 1e-3
        self.active_flops_per_token = 2.0 * model.active_params_b * 1e9
        expert_active = expert_b * model.moe.top_k / model.moe.experts if model.moe else 0.0
        self.expert_flops_per_token = 2.0 * expert_active * 1e9
        self.dense_flops_per_token = self.active_flops_per_token - self.expert_flops_per_token
        self.miss = (1.0 - model.moe.top_k / model.moe.experts) if model.moe else 0.0
        self.kv_bytes = model.kv_bytes(kv_dtype)
        self.kv_shard = shape.kv_shard(model)
        self.d_prefill, self.d_decode = attention_dims(model)
        self.peak = hw.tflops(precision) * 1e12
        self.peak_attn = hw.bf16_tflops * 1e12
        self.hbm_bw = hw.hbm_bw_tbs * 1e12
        # memory: weights + reserve must fit; the rest of mem_fraction_static is the KV pool
        frac = mem_fraction or p.mem_fraction_static
        budget = frac * hw.hbm_gb * GIB - p.activation_reserve_gb * GB
        self.pool_bytes_per_gpu = budget - self.weights_per_gpu
        # the draft layer keeps its own KV for every pooled token (one more layer's worth)
        per_rank_tokens = (
            self.pool_bytes_per_gpu * self.kv_shard / (self.kv_bytes * (1.0 + self.draft_layers))
        )
        self.pool_tokens = int(max(0.0, per_rank_tokens) * shape.attn_dp)
        self.imbalance = p.dp_attention_imbalance if shape.attn_dp > 1 else 1.0
        self._comm_cache: dict[int, float] = {}
        self._dec_cache: dict[int, tuple] = {}  # decode_times: batch -> step constants
        domain = hw.nvlink_domain or hw.gpus_per_node
        self.wide_ep = bool(model.moe) and shape.ep > 1 and shape.gpus > domain
        if self.wide_ep:
            nodes = shape.gpus / domain
            # remote copies of one token per MoE layer: normal mode sends a token once per
            # destination node (top_k experts spread over the nodes) and forwards over NVLink;
            # low-latency mode sends every top-k copy that lands off-node
            self.remote_prefill = (nodes - 1.0) * (1.0 - (1.0 - 1.0 / nodes) ** model.moe.top_k)
            self.remote_decode = model.moe.top_k * (shape.gpus - domain) / shape.gpus
            self.a2a_bw = p.eta_a2a_rdma * hw.nic_gbps / 8 * GB

    # ---- memory -------------------------------------------------------------------------------
    def check_fits(self, label: str = "") -> None:
        """Raise FrontierError when the weights leave no KV pool on this GPU."""
        if self.pool_bytes_per_gpu <= 0:
            avail = self.p.mem_fraction_static * self.hw.hbm_gb * GIB / GB - self.p.activation_reserve_gb
            raise FrontierError(
                f"{self.model.name} {self.precision} does not fit {label or self.shape.mode} on "
                f"{self.hw.name}: {self.weights_per_gpu / GB:.1f} GB of weights per GPU, "
                f"{avail:.1f} GB usable; use more GPUs per server"
                + (" or FP8" if self.precision == "bf16" else "")
            )

    # ---- communication ------------------------------------------------------------------------
    def _link(self, group: int) -> tuple[float, float]:
        """(bytes/s, alpha s) of a collective over ``group`` GPUs of this server."""
        domain = self.hw.nvlink_domain or self.hw.gpus_per_node
        if group <= domain:
            return self.p.eta_link * self.hw.scaleup_bw_gbs * GB, self.p.alpha_intra_us * 1e-6
        return self.p.eta_nic * self.hw.nic_gbps / 8 * GB, self.p.alpha_inter_us * 1e-6

    def comm_time(self, tokens: int) -> float:
        """TP all-reduce + EP all-to-all time of one iteration carrying ``tokens`` tokens."""
        t = self._comm_cache.get(tokens)
        if t is not None:
            return t
        s, m = self.shape, self.model
        t = 0.0
        tp = s.attn_tp if s.attn_dp == 1 else s.dense_shard if s.ep == 1 else 1
        if tp > 1:
            bw, alpha = self._link(tp)
            msg = tokens / s.attn_dp * m.hidden * 2.0
            t += 2 * m.layers * (2.0 * (tp - 1) / tp * msg / bw + alpha)
        if s.ep > 1 and m.moe is not None and not self.wide_ep:  # wide EP: _wide_ep_step
            bw, alpha = self._link(s.gpus)
            a2a = self.p.alpha_a2a_us * 1e-6
            if self.moe_a2a_backend in A2A_BACKENDS:
                # DeepEP: one FP8 copy (+ 1 scale per 128) per destination GPU holding any of the
                # token's top-k experts, BF16 combine back
                remote = (s.ep - 1) * (1.0 - (1.0 - 1.0 / s.ep) ** m.moe.top_k)
                vol = tokens / s.gpus * remote * m.hidden * (1.0 + 4.0 / 128 + 2.0)
                t += m.moe.moe_layers * (vol / bw + 2 * (alpha + a2a))
            elif s.attn_dp > 1:
                # DP-attention without an all-to-all library: all-gather every rank's tokens (BF16
                # hidden) before the MLP and reduce-scatter after, on every layer
                vol = 2.0 * tokens * (s.attn_dp - 1) / s.attn_dp * m.hidden * 2.0
                t += m.layers * (vol / bw + 2 * alpha)
            # TP attention: the tokens are already on every rank; the all-reduce above combines
        if len(self._comm_cache) < 4096:
            self._comm_cache[tokens] = t
        return t

    # ---- step time ----------------------------------------------------------------------------
    @property
    def accept_len(self) -> float:
        """Mean tokens a decode request gains per iteration (1.0 without speculative decoding)."""
        return self._accept_len

    def graphs_off(self, decode: int, prefill_tokens: int = 0) -> bool:
        """True when the iteration runs eagerly: a prefill/extend (beyond a prefill graph), or a decode batch per
        attention rank above ``cuda_graph_max_bs`` (SGLang's cuda_graph_runner.can_run; under
        speculative decoding the cap is on requests, the graph holding bs x draft_tokens)."""
        if prefill_tokens:  # a prefill graph (when on) holds its tokens per attention rank
            return math.ceil((decode + prefill_tokens) / self.shape.attn_dp) > self.prefill_graph_tokens
        cap = self.cuda_graph_max_bs
        return cap is not None and math.ceil(decode / self.shape.attn_dp) > cap

    def coeffs(
        self,
        decode: int,
        prefill_tokens: int = 0,
        prefill_work: float = 0.0,
        largest: tuple[int, float] = (0, 0.0),
    ) -> tuple:
        """(m0, m1, c0, c1, k): step(ctx_sum) = max(m0 + m1*ctx, c0 + c1*ctx) + k.

        ``decode`` sequences each add one token (``accept_len`` on average under speculative
        decoding, whose draft passes and verify of ``draft_tokens`` tokens a request are
        included); ``ctx_sum`` is their total context; ``prefill_work`` = sum over chunks of
        c * (past + c/2) (causal attention pairs); ``largest`` = (tokens, work) of the largest
        chunk: under DP-attention one chunk sits on one attention rank, so the busiest rank sets
        the dense + attention time.
        """
        q = self.spec.draft_tokens if self.spec and decode else 1
        m0, m1, c0, c1, k = self._coeffs(decode, prefill_tokens, prefill_work, largest, q)
        if self.spec is not None:
            if decode:  # num_steps draft passes, memory-bound: add them to both roofline arms
                d0, d1 = self._draft_pass(decode)
                steps = self.spec.num_steps
                m1 += steps * d1
                c1 += steps * d1
                k += steps * d0
            if prefill_tokens:  # the draft model extends every prefilled token through its layer
                c0 *= 1.0 + self.draft_layers
        return m0, m1, c0, c1, k

    def _coeffs(
        self,
        decode: int,
        prefill_tokens: int,
        prefill_work: float,
        largest: tuple[int, float],
        q: int = 1,
    ) -> tuple:
        """coeffs of the target model alone; ``q`` query tokens per decode request (verify)."""
        p, s, m = self.p, self.shape, self.model
        n = s.gpus
        dec_tok = decode * q
        tokens = dec_tok + prefill_tokens
        touched = 1.0 - self.miss**tokens if m.moe else 0.0
        m0 = (
            self.dense_bytes_gpu / p.eta_mem + self.expert_bytes_gpu * touched / p.eta_mem_moe
        ) / self.hbm_bw
        m1 = self.kv_bytes / (s.attn_dp * self.kv_shard) / (p.eta_mem * self.hbm_bw) * self.imbalance
        c0 = self.active_flops_per_token * dec_tok / n / (p.eta_comp_decode * self.peak)
        if prefill_tokens:
            eta = p.eta_comp_prefill * self.peak
            if s.attn_dp > 1:  # busiest attention rank; its attn_tp GPUs share it
                r_tok = max(prefill_tokens / s.attn_dp, largest[0]) / s.attn_tp
                r_work = max(prefill_work / s.attn_dp, largest[1]) / s.attn_tp
            else:
                r_tok, r_work = prefill_tokens / n, prefill_work / n
            c0 += self.dense_flops_per_token * r_tok / eta
            c0 += self.expert_flops_per_token * prefill_tokens / n / (self._moe_eta(tokens) * self.peak)
            c0 += 4.0 * r_work * self.d_prefill * m.layers / (p.eta_attn * self.peak_attn)
        c1 = 4.0 * q * self.d_decode * m.layers / n / (p.eta_attn * self.peak_attn) * self.imbalance
        k = (
            self.comm_time(tokens)
            + p.step_overhead_ms * 1e-3
            + m.layers * p.layer_overhead_us * 1e-6
            + p.per_request_overhead_us * 1e-6 * (decode + (1 if prefill_tokens else 0)) / s.attn_dp
        )
        if self.graphs_off(decode, prefill_tokens):
            k += self.eager_time
        return m0, m1, c0, c1, k

    def _moe_eta(self, tokens: int) -> float:
        """Prefill routed-expert GEMM efficiency: DeepGEMM's grouped figure at the rows each expert
        receives from the iteration's ``tokens`` (every EP rank's tokens meet at the experts)."""
        m = self.model.moe
        return grouped_gemm_eta(self.p, tokens * m.top_k / m.experts) if m else self.p.eta_comp_prefill

    def _draft_pass(self, decode: int) -> tuple[float, float]:
        """(fixed, per-context-token) time of one draft forward (MTP layer + LM head) of
        ``decode`` requests x topk tokens, under CUDA graphs."""
        p, s, m = self.p, self.shape, self.model
        tok = decode * self.spec.topk
        frac = self.draft_layers
        touched = 1.0 - self.miss**tok if m.moe else 0.0
        mem = (
            (self.dense_bytes_gpu * frac + self.lm_head_bytes_gpu) / p.eta_mem
            + self.expert_bytes_gpu * frac * touched / p.eta_mem_moe
        ) / self.hbm_bw
        flops = (self.active_flops_per_token * frac + 2.0 * m.vocab * m.hidden) * tok / s.gpus
        comp = flops / (p.eta_comp_decode * self.peak)
        fixed = (
            max(mem, comp) + self.comm_time(tok) * frac + p.layer_overhead_us * 1e-6 * max(1, m.mtp_layers)
        )
        if self.graphs_off(decode):
            fixed += self.eager_time * frac
        per_ctx = (
            self.kv_bytes * frac / (s.attn_dp * self.kv_shard) / (p.eta_mem * self.hbm_bw) * self.imbalance
        )
        return fixed, per_ctx

    def step_time(
        self,
        decode: int,
        ctx_sum: float,
        prefill_tokens: int = 0,
        prefill_work: float = 0.0,
        largest: tuple[int, float] = (0, 0.0),
    ) -> float:
        m0, m1, c0, c1, k = self.coeffs(decode, prefill_tokens, prefill_work, largest)
        t = max(m0 + m1 * ctx_sum, c0 + c1 * ctx_sum) + k
        if self.wide_ep:
            q = self.spec.draft_tokens if self.spec and decode else 1
            return self._wide_ep_step(t, decode * q, prefill_tokens)
        return t

    def _wide_ep_step(self, t: float, decode: int, prefill_tokens: int) -> float:
        """Iteration time under wide EP from ``t``, the same iteration without the all-to-all.

        Per MoE layer and micro-batch: compute stage P1 (attention, dense GEMMs, small kernels)
        and P2 (routed-expert GEMMs), communication stages D (dispatch, FP8 + scales) and Cb
        (combine, BF16). The busiest expert rank sets P2, D and Cb (1 / ep_balancedness). With
        two-batch overlap one micro-batch computes while the other communicates:
            layer = max(P1, D) + max(P2, D) + max(P2, Cb) + max(P1, Cb)
        (SGLang's TBO operation order: attn | dispatch, mlp | combine). During prefill DeepEP's
        normal kernels hold SMs, so compute runs on deepep_sm_share of them. Below
        tbo_min_tokens per GPU two-batch overlap does not pay and the stages add up.
        """
        p, s, m = self.p, self.shape, self.model
        n = s.gpus
        per_gpu = (decode + prefill_tokens) / n
        bal = p.ep_balancedness
        if prefill_tokens:
            moe = self.expert_flops_per_token * prefill_tokens / n
            moe /= self._moe_eta(decode + prefill_tokens) * self.peak
            remote = self.remote_prefill
        else:
            moe = self.expert_flops_per_token * decode / n / (p.eta_comp_decode * self.peak)
            remote = self.remote_decode
        moe = min(moe, t)
        alpha = (p.alpha_inter_us + p.alpha_a2a_us) * 1e-6
        disp = per_gpu * remote * m.hidden * (1.0 + 4.0 / 128) / self.a2a_bw / bal + alpha
        comb = per_gpu * remote * m.hidden * 2.0 / self.a2a_bw / bal + alpha
        layers, moe_layers = m.layers, m.moe.moe_layers
        if per_gpu < p.tbo_min_tokens:
            return t + moe * (1.0 / bal - 1.0) + moe_layers * (disp + comb)
        share = p.deepep_sm_share if prefill_tokens else 1.0
        p1 = (t - moe) / layers / 2.0 / share
        p2 = moe / bal / moe_layers / 2.0 / share
        d, c = disp / 2.0, comb / 2.0
        layer = max(p1, d) + max(p2, d) + max(p2, c) + max(p1, c)
        return moe_layers * layer + (layers - moe_layers) * 2.0 * p1

    def decode_times(self, batch: int, ctx_sum: float, steps: int, scale: float = 1.0) -> list[float]:
        """Durations of ``steps`` consecutive pure-decode iterations (context grows by batch x
        accept_len), each multiplied by ``scale`` (the scheduler's step noise).

        Equal, to the last bit, to ``[step_time(batch, ctx_i) * scale for i in range(steps)]`` with
        ``ctx_i`` the running sum ``ctx_sum + grow + grow + ...`` (wide EP: ``ctx_sum + i x grow``)
        (tests/unit/test_sim_speed.py):
        the step's coefficients are cached per batch and the same IEEE operations run in the same
        order, in one numpy pass for long segments (``np.add.accumulate`` sums sequentially, as the
        loop does) and in a tight loop for short ones. This is the predictor's hot loop.
        """
        grow = batch * self._accept_len
        co = self._dec_cache.get(batch)
        if co is None:
            co = self._decode_consts(batch)
        m0, m1, c0, c1, k, wide = co
        if steps <= 0:
            return []
        if steps >= _VECTOR_STEPS:
            if wide is None:  # the running sum ctx += grow, as the plain loop adds it
                ctx = np.full(steps, grow)
                ctx[0] = ctx_sum
                np.add.accumulate(ctx, out=ctx)
            else:  # wide EP steps at ctx_sum + i x grow
                ctx = ctx_sum + np.arange(steps) * grow
            t = np.maximum(m0 + m1 * ctx, c0 + c1 * ctx) + k
            if wide is not None:
                t = self._wide_ep_decode_np(t, wide)
            if scale != 1.0:
                t *= scale
            return t.tolist()
        if wide is None:
            ctxs = itertools.accumulate(itertools.repeat(grow, steps - 1), initial=ctx_sum)
            if scale == 1.0:
                return [max(m0 + m1 * c, c0 + c1 * c) + k for c in ctxs]
            return [(max(m0 + m1 * c, c0 + c1 * c) + k) * scale for c in ctxs]
        ctxs = [ctx_sum + i * grow for i in range(steps)]
        one = self._wide_ep_decode_one
        if scale == 1.0:
            return [one(max(m0 + m1 * c, c0 + c1 * c) + k, wide) for c in ctxs]
        return [one(max(m0 + m1 * c, c0 + c1 * c) + k, wide) * scale for c in ctxs]

    def _decode_consts(self, batch: int) -> tuple:
        """(m0, m1, c0, c1, k, wide) of a pure-decode step of ``batch`` requests, cached; ``wide``
        holds the constants of :meth:`_wide_ep_step`'s decode branch (None without wide EP)."""
        m0, m1, c0, c1, k = self.coeffs(batch)
        wide = None
        if self.wide_ep:
            p, s, m = self.p, self.shape, self.model
            q = self.spec.draft_tokens if self.spec and batch else 1
            decode = batch * q
            n = s.gpus
            per_gpu = decode / n
            bal = p.ep_balancedness
            moe = self.expert_flops_per_token * decode / n / (p.eta_comp_decode * self.peak)
            remote = self.remote_decode
            alpha = (p.alpha_inter_us + p.alpha_a2a_us) * 1e-6
            disp = per_gpu * remote * m.hidden * (1.0 + 4.0 / 128) / self.a2a_bw / bal + alpha
            comb = per_gpu * remote * m.hidden * 2.0 / self.a2a_bw / bal + alpha
            layers, moe_layers = m.layers, m.moe.moe_layers
            tbo = not per_gpu < p.tbo_min_tokens
            wide = (
                tbo,
                moe,
                1.0 / bal - 1.0,
                moe_layers * (disp + comb),
                layers,
                moe_layers,
                bal,
                disp / 2.0,
                comb / 2.0,
                (layers - moe_layers) * 2.0,
            )
        out = (m0, m1, c0, c1, k, wide)
        if len(self._dec_cache) < 4096:
            self._dec_cache[batch] = out
        return out

    @staticmethod
    def _wide_ep_decode_one(t: float, w: tuple) -> float:
        """:meth:`_wide_ep_step` of a pure-decode step from precomputed constants (same operations)."""
        tbo, moe, a, b, layers, moe_layers, bal, d, c, rest = w
        moe = min(moe, t)
        if not tbo:
            return t + moe * a + b
        p1 = (t - moe) / layers / 2.0 / 1.0
        p2 = moe / bal / moe_layers / 2.0 / 1.0
        layer = max(p1, d) + max(p2, d) + max(p2, c) + max(p1, c)
        return moe_layers * layer + rest * p1

    @staticmethod
    def _wide_ep_decode_np(t, w: tuple):
        """:meth:`_wide_ep_decode_one` over an array of step times."""
        tbo, moe, a, b, layers, moe_layers, bal, d, c, rest = w
        mo = np.minimum(moe, t)
        if not tbo:
            return t + mo * a + b
        p1 = (t - mo) / layers / 2.0
        p2 = mo / bal / moe_layers / 2.0
        layer = np.maximum(p1, d) + np.maximum(p2, d) + np.maximum(p2, c) + np.maximum(p1, c)
        return moe_layers * layer + rest * p1


def prefill_work(past: int, chunk: int) -> float:
    """Causal attention pairs of a prefill chunk of ``chunk`` tokens after ``past`` tokens."""
    return chunk * (past + chunk / 2.0)


def kv_transfer_time(model: ModelSpec, hw: Hardware, isl: int, sender: StepModel, p: Params) -> float:
    """PD KV transfer of one request's ``isl`` tokens from a prefill server over the NIC(s)."""
    nics = max(1, sender.kv_shard)
    bw = p.eta_nic * hw.nic_gbps / 8 * GB * nics
    return isl * sender.kv_bytes / bw + p.pd_transfer_latency_ms * 1e-3


def weights_summary(sm: StepModel) -> dict:
    return {
        "weights_gb_per_gpu": round(sm.weights_per_gpu / GB, 2),
        "kv_pool_tokens": sm.pool_tokens,
        "kv_bytes_per_token": sm.kv_bytes,
        "kv_shard": sm.kv_shard,
    }


__all__ = [
    "Params",
    "SpecDecode",
    "StepModel",
    "default_params",
    "grouped_gemm_eta",
    "kv_transfer_time",
    "prefill_work",
]
