"""A simulated deployment: the engines of every server of a topology plus the implicit router.

Single-server labels give one engine (``DPn`` gives n engines behind a least-loaded router);
PD labels give prefill engines and decode engines, and a request finishing prefill is handed
to the least-loaded decode engine after its KV transfer time. Drivers (virtual or real time)
own the clock; the cluster owns routing and the per-server performance models.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontier.domain.catalog import Hardware, ModelSpec
from frontier.sim.perf_model import (
    Params,
    StepModel,
    default_chunked_prefill,
    default_params,
    kv_transfer_time,
)
from frontier.sim.scheduler import Engine, SimRequest
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


class Cluster:
    def __init__(self, spec: SimSpec, record_itl: bool = False, snapshot: bool = False) -> None:
        self.spec = spec
        self.params = spec.params or default_params()
        self.engines: list[Engine] = []
        chunk = spec.chunk or default_chunked_prefill(spec.hardware)
        for gi, g in enumerate(spec.topology.groups):
            sm = StepModel(
                spec.model,
                spec.hardware,
                spec.precision,
                g.shape,
                self.params,
                kv_dtype=spec.kv_dtype,
                mem_fraction=spec.mem_fraction,
            )
            sm.check_fits(spec.topology.label)
            for i in range(g.count):
                self.engines.append(
                    Engine(
                        sm,
                        role=g.role,
                        max_running=spec.max_running,
                        chunk=chunk,
                        mixed_chunk=spec.mixed_chunk,
                        seed=spec.seed * 1000 + gi * 100 + i,
                        name=f"{g.role}{i}",
                        record_itl=record_itl,
                        snapshot=snapshot,
                        max_prefill_tokens=spec.max_prefill_tokens,
                    )
                )
        self.entry = [e for e in self.engines if e.role in ("single", "prefill")]
        self.decoders = [e for e in self.engines if e.role == "decode"]
        self._rr = [0, 0]

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
