"""The typed launch plan: every process one deployment runs, as the engine planned it.

A :class:`LaunchPlan` is what a plan item carries and what a target starts: one
:class:`ServerCommand` per server process (one per node of a multi-node server) and, for a
disaggregated label, the :class:`RouterCommand` in front. It travels as plain JSON
(:meth:`LaunchPlan.to_json` / :func:`plan_from_json`) through XCom, trigger kwargs and handles.

A server whose ``port`` is 0 gets a free port from the target when it starts (the simulated
engine on the local target); its ``--port`` flag and URL are filled in then.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

AUTO_PORT = 0


@dataclass
class ServerCommand:
    """One server process (one node of a multi-node server)."""

    role: str  # "single" | "prefill" | "decode"
    group_index: int
    replica: int
    node_rank: int
    nnodes: int
    host: str  # where it runs (node hostname)
    port: int
    gpus: int  # GPUs of this process
    argv: list[str]
    url: str  # the server's HTTP endpoint (rank 0's for a multi-node server)
    base_gpu_id: int = 0
    bootstrap_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def serves_http(self) -> bool:
        return self.node_rank == 0


@dataclass
class RouterCommand:
    argv: list[str]
    host: str
    port: int
    url: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class LaunchPlan:
    label: str
    engine: str
    servers: list[ServerCommand]
    router: RouterCommand | None
    endpoint_url: str

    @property
    def nodes(self) -> list[str]:
        """Distinct hosts of the server processes, in plan order."""
        return list(dict.fromkeys(s.host for s in self.servers))

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "engine": self.engine,
            "endpoint_url": self.endpoint_url,
            "servers": [
                {
                    "role": s.role,
                    "group_index": s.group_index,
                    "replica": s.replica,
                    "node_rank": s.node_rank,
                    "nnodes": s.nnodes,
                    "host": s.host,
                    "port": s.port,
                    "gpus": s.gpus,
                    "base_gpu_id": s.base_gpu_id,
                    "url": s.url,
                    "env": dict(s.env),
                    "argv": list(s.argv),
                }
                for s in self.servers
            ],
            "router": None if self.router is None else asdict(self.router),
        }


def plan_from_json(js: dict[str, Any]) -> LaunchPlan:
    """Inverse of :meth:`LaunchPlan.to_json` (plans travel through XCom / trigger kwargs)."""
    r = js.get("router")
    return LaunchPlan(
        label=js["label"],
        engine=js["engine"],
        endpoint_url=js["endpoint_url"],
        servers=[ServerCommand(**s) for s in js["servers"]],
        router=RouterCommand(**r) if r else None,
    )
