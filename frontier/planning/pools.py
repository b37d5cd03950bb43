"""GPU pools: one Airflow pool per hardware kind, one slot per GPU.

A deployment task takes as many slots as its label has GPUs (``SEP4+1xDEP8`` takes 12), so
concurrent DAG runs (the nightly and a manual ``frontier_adhoc``) never oversubscribe a kind.

Pure computation plus a tiny stdlib REST client (Airflow's ``/api/v2/pools``); no Airflow import.
Slots come from the spec's ``inventory``; a hardware kind the matrix uses but the inventory does
not list gets the largest GPU count any of its labels needs (every deployment fits, they run one
at a time).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from frontier.domain import labels
from frontier.domain.spec import Spec
from frontier.errors import FrontierError

POOL_PREFIX = "frontier_gpu_"


@dataclass(frozen=True)
class PoolSpec:
    name: str
    slots: int
    description: str
    include_deferred: bool = False


def pool_name(hardware: str) -> str:
    """``h200_sxm`` -> ``frontier_gpu_h200_sxm``."""
    return POOL_PREFIX + hardware


def pools_for_spec(spec: Spec) -> list[PoolSpec]:
    """One pool per hardware kind of the spec (inventory first, then the matrix), slots = GPUs."""
    need: dict[str, int] = {}
    for m in spec.matrix:
        gpus = max(labels.parse(t).gpus for t in m.labels)
        need[m.hardware] = max(need.get(m.hardware, 0), gpus)
    out = []
    for hw in sorted(set(spec.inventory) | set(need)):
        if hw in spec.inventory:
            slots, why = spec.inventory[hw], f"inventory of spec {spec.name!r}"
        else:
            slots, why = need[hw], f"largest deployment of spec {spec.name!r} (no inventory given)"
        out.append(PoolSpec(pool_name(hw), slots, f"frontier: {slots} {hw} GPU(s), one slot per GPU ({why})"))
    return out


def merge(pool_lists: Iterable[list[PoolSpec]]) -> list[PoolSpec]:
    """Several specs' pools -> one per name, with the largest slot count."""
    best: dict[str, PoolSpec] = {}
    for pools in pool_lists:
        for p in pools:
            if p.name not in best or p.slots > best[p.name].slots:
                best[p.name] = p
    return [best[k] for k in sorted(best)]


def import_json(pools: list[PoolSpec]) -> str:
    """The file format of ``airflow pools import FILE``."""
    return json.dumps(
        {
            p.name: {"slots": p.slots, "description": p.description, "include_deferred": p.include_deferred}
            for p in pools
        },
        indent=2,
    )


def slots_for(gpus: int, pool_slots_total: int | None) -> int:
    """Slots a deployment takes: its GPUs, capped at the pool's size (else it would never run)."""
    if pool_slots_total is None or pool_slots_total <= 0:
        return gpus
    return max(1, min(gpus, pool_slots_total))


class AirflowPoolsAPI:
    """Upsert pools through Airflow 3's REST API (``/auth/token`` then ``/api/v2/pools``)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self._user, self._password = username, password

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, auth: bool = True
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                text = resp.read().decode() or "null"
                return resp.status, json.loads(text)
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")[:500]
            return e.code, detail
        except (urllib.error.URLError, OSError) as e:
            raise FrontierError(f"Airflow API at {self.base_url} unreachable: {e}") from None

    def token(self) -> str:
        if self._token:
            return self._token
        if not self._user:
            raise FrontierError("Airflow API: give a token or a username and password")
        status, body = self._request(
            "POST", "/auth/token", {"username": self._user, "password": self._password or ""}, auth=False
        )
        if status not in (200, 201) or not isinstance(body, dict) or "access_token" not in body:
            raise FrontierError(f"Airflow API: login as {self._user!r} failed ({status}): {body}")
        self._token = body["access_token"]
        return self._token

    def get(self, name: str) -> dict[str, Any] | None:
        status, body = self._request("GET", f"/api/v2/pools/{name}")
        if status == 404:
            return None
        if status != 200:
            raise FrontierError(f"Airflow API: reading pool {name!r} failed ({status}): {body}")
        return body

    def upsert(self, pool: PoolSpec) -> str:
        """Create or update one pool; returns 'created', 'updated' or 'unchanged'."""
        body = {
            "name": pool.name,
            "slots": pool.slots,
            "description": pool.description,
            "include_deferred": pool.include_deferred,
        }
        old = self.get(pool.name)
        if old is None:
            status, resp = self._request("POST", "/api/v2/pools", body)
            verb = "created"
        elif old.get("slots") == pool.slots and old.get("description") == pool.description:
            return "unchanged"
        else:
            status, resp = self._request("PATCH", f"/api/v2/pools/{pool.name}", body)
            verb = "updated"
        if status not in (200, 201):
            raise FrontierError(f"Airflow API: {verb[:-1]}ing pool {pool.name!r} failed ({status}): {resp}")
        return verb


def describe(pools: list[PoolSpec]) -> list[dict[str, Any]]:
    return [asdict(p) for p in pools]
