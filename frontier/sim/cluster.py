"""A simulated deployment: the engines of every server of a topology plus the implicit router.

Single-server labels give one engine (``DPn`` gives n engines behind a least-loaded router);
PD labels give prefill engines and decode engines. As SGLang's PD router does, a request goes to
a prefill server and a decode server together (:meth:`Cluster.ingress`); the decode server
pre-allocates its KV, which lets the prefill server run it, and the KV reaches the decode server
one transfer time after the prefill ends (see :mod:`frontier.sim.scheduler`). Drivers (virtual
or real time) own the clock; the cluster owns routing, the per-request path outside the GPUs
(HTTP parse, tokenization queue, router hops, detokenize + emit: ``params.yaml``) and the
per-server performance models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from frontier.domain.catalog import Hardware, ModelSpec
from frontier.sim.perf_model import (
    Params,
    StepModel,
    default_params,
    kv_transfer_time,
)
from frontier.sim.scheduler import Engine, SimRequest
from frontier.sim.sglang_defaults import ServerDerived, derive
from frontier.sim.topology import Topology


@dataclass(frozen=True)
class SimSpec:
    """Everything that fixes a simulated deployment's behaviour."""

    model: ModelSpec
    hardware: Hardware
    precision: str
    topology: Topology
    kv_dtype: str = "bf16"
    mem_fraction: float | None = None
    max_running: int | None = None
    chunk: int | None = None
    mixed_chunk: bool = False
    seed: int = 0
    max_prefill_tokens: int | None = None
    params: Params | None = None
    # role (single | prefill | decode) -> that server's SGLang argv; given as a dict, kept as sorted
    # (role, argv) pairs so the spec stays hashable. SGLang's derivations (sglang_defaults.derive)
    # read them; the explicit fields above still win over both flags and derivations.
    server_flags: tuple = ()

    def __post_init__(self) -> None:
        f = self.server_flags
        items = f.items() if isinstance(f, Mapping) else (f or ())
        norm = tuple(sorted((str(role), tuple(str(a) for a in argv)) for role, argv in items))
        object.__setattr__(self, "server_flags", norm)

    def flags_for(self, role: str) -> tuple[str, ...]:
        """The SGLang argv of a ``role`` server (a lone "single" entry applies to every role)."""
        flags = dict(self.server_flags)
        return flags.get(role, flags.get("single", ()) if len(flags) == 1 else ())

    def derived(self, role: str, shape) -> ServerDerived:
        """SGLang's resolved settings of one ``role`` server of ``shape`` under this spec (the explicit
        fields count as that server's flags, after its own, so they win)."""
        argv = list(self.flags_for(role))
        for flag, value in (
            ("--mem-fraction-static", self.mem_fraction),
            ("--max-running-requests", self.max_running),
            ("--chunked-prefill-size", self.chunk),
            ("--max-prefill-tokens", self.max_prefill_tokens),
        ):
            if value is not None:
                argv += [flag, str(value)]
        return derive(role, argv, self.model, self.hardware, shape, self.precision, self.kv_dtype)


class Cluster:
    def __init__(self, spec: SimSpec, record_itl: bool = False, snapshot: bool = False) -> None:
        self.spec = spec
        self.params = spec.params or default_params()
        self.engines: list[Engine] = []
        for gi, g in enumerate(spec.topology.groups):
            # explicit SimSpec fields win, then the role's SGLang flags, then SGLang's derivations
            dv = spec.derived(g.role, g.shape)
            extra = {
                "cuda_graph_max_bs": dv.cuda_graph_max_bs,
                "spec": dv.spec,
                "prefill_graph_tokens": dv.prefill_graph_tokens,
            }
            # an explicit --moe-a2a-backend the perf model knows (deepep, none) sets its MoE traffic
            if dv.moe_a2a_backend:
                extra["moe_a2a_backend"] = dv.moe_a2a_backend
            sm = StepModel(
                spec.model,
                spec.hardware,
                spec.precision,
                g.shape,
                self.params,
                kv_dtype=spec.kv_dtype,
                mem_fraction=spec.mem_fraction or dv.mem_fraction_static,
                **extra,
            )
            sm.check_fits(spec.topology.label)
            # chunked prefill off (-1): a prompt prefills whole, bounded by max_prefill_tokens
            chunk = spec.chunk or (
                dv.chunked_prefill_size
                if dv.chunked_prefill_size > 0
                else max(dv.max_prefill_tokens, spec.model.max_context)
            )
            for i in range(g.count):
                self.engines.append(
                    Engine(
                        sm,
                        role=g.role,
                        max_running=spec.max_running or dv.max_running_requests or None,
                        chunk=chunk,
                        mixed_chunk=spec.mixed_chunk,
                        seed=spec.seed * 1000 + gi * 100 + i,
                        name=f"{g.role}{i}",
                        record_itl=record_itl,
                        snapshot=snapshot,
                        max_prefill_tokens=spec.max_prefill_tokens or dv.max_prefill_tokens,
                        recv_interval=dv.recv_interval,
                    )
                )
        self.entry = [e for e in self.engines if e.role in ("single", "prefill")]
        self.decoders = [e for e in self.engines if e.role == "decode"]
        self._rr = [0, 0]
        self.disaggregated = bool(self.decoders)
        # a router sits in front when there is a choice of server (PD, or several servers)
        self.routed = self.disaggregated or len(self.entry) > 1
        p = self.params
        self.hop = p.router_hop_ms * 1e-3 if self.routed else 0.0
        self.parse = p.http_parse_ms * 1e-3
        self.tok_per_token = p.tokenize_us_per_token * 1e-6
        emit = p.detokenize_emit_ms * 1e-3 + self.hop
        for e in self.engines:
            e.emit_delay = emit

    @staticmethod
    def _pick(engines: list[Engine], rr: list[int], slot: int) -> Engine:
        n = len(engines)
        start = rr[slot] % n
        best = None
        for j in range(n):
            e = engines[(start + j) % n]
            if best is None or e.outstanding < best.outstanding:
                best = e
        rr[slot] += 1
        return best  # type: ignore[return-value]

    def route_entry(self) -> Engine:
        return self._pick(self.entry, self._rr, 0)

    def route_decode(self) -> Engine:
        return self._pick(self.decoders, self._rr, 1)

    def ingress(self, r: SimRequest, t: float) -> list[tuple[Engine, float]]:
        """Route ``r`` sent by its client at ``t``: the servers it goes to and when each one's
        scheduler has it (router hop, HTTP parse, then that server's tokenizer queue). Under PD
        the router sends it to a prefill and a decode server together; each tokenizes it."""
        targets = [self.route_entry()]
        if self.disaggregated:
            targets.append(self.route_decode())
        out = []
        ready = t + self.hop + self.parse
        for e in targets:
            start = max(ready, e.tok_free)
            e.tok_free = start + r.isl * self.tok_per_token
            out.append((e, e.tok_free))
        return out

    def drop(self, r: SimRequest) -> None:
        """Remove ``r`` from every server holding it (abort, or an error on one side)."""
        for e in {id(x): x for x in (r.src, r.engine) if x is not None}.values():
            e.drop(r)

    def abort(self, r: SimRequest) -> None:
        """The client went away: every server holding ``r`` frees it (:meth:`Engine.abort`)."""
        holder = r.engine or r.src
        if holder is not None:
            holder.abort(r)
        elif not (r.done or r.aborted):  # not at a server yet (an ingress delay)
            r.aborted, r.done, r.error = True, True, r.error or "aborted"

    def transfer_time(self, r: SimRequest, sender: Engine) -> float:
        return kv_transfer_time(self.spec.model, self.spec.hardware, r.isl, sender.sm, self.params)

    def fits_ever(self, isl: int, max_new: int) -> str | None:
        """None when a request of this size can run; otherwise the reason it never can."""
        for e in self.engines:
            if not e.fits_ever(isl, max_new):
                need = isl if e.role == "prefill" else isl + max_new
                return (
                    f"request needs {need} KV tokens but a {e.role} server's KV pool holds "
                    f"{e.pool_tokens} tokens"
                )
        return None

    @property
    def gpus(self) -> int:
        return self.spec.topology.gpus

    def pool_tokens(self) -> int:
        return sum(e.pool_tokens for e in self.engines)
