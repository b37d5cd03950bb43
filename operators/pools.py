"""Airflow-side pool sync: apply frontier.planning.pools' computation through Airflow's REST API.

Tasks cannot touch the metadata DB in Airflow 3 (the task supervisor blocks the ORM), so the
``plan`` task syncs pools only when the ``frontier_airflow_api`` connection exists (type http:
host = the API server URL, login / password = an Airflow user allowed to edit pools). Without it,
the task logs the ``frontier pools sync`` command to run once per deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CONN_ID = "frontier_airflow_api"


def _connection(conn_id: str):
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - AirflowNotFoundException and friends: not configured
        return None


def sync_pools(pools: list[Any], say: Callable[..., None], spec_hint: str = "SPEC") -> bool:
    """Upsert ``pools`` via the REST API when the connection exists; True when applied."""
    from frontier.planning.pools import AirflowPoolsAPI

    conn = _connection(CONN_ID)
    if conn is None:
        say(
            "GPU pools needed: %s; connection %r not set, so not synced here: run `frontier pools sync %s "
            "--api URL` once (see README, Airflow)",
            ", ".join(f"{p.name}={p.slots}" for p in pools),
            CONN_ID,
            spec_hint,
        )
        return False
    host = conn.host or "127.0.0.1"
    url = host if host.startswith("http") else f"{conn.schema or 'http'}://{host}"
    if conn.port and f":{conn.port}" not in url.split("//", 1)[-1]:
        url = f"{url}:{conn.port}"
    api = AirflowPoolsAPI(url, username=conn.login, password=conn.password)
    for p in pools:
        say("pool %s (%d slots): %s", p.name, p.slots, api.upsert(p))
    return True
