"""``ServerReadyTrigger``: wait for servers to become healthy in the triggerer, not a worker slot.

An operator that has started a deployment calls ``self.defer(trigger=ServerReadyTrigger(urls,
timeout_s), method_name=...)``; the worker slot is freed while the (possibly 15-minute) model
load runs, and the task resumes with the event::

    {"status": "ready", "urls": [...], "elapsed_s": 42.0}
    {"status": "timeout", "url": "http://node0:30000/health_generate", "last": "HTTP 503", "ready": [...],
     "elapsed_s": 900.0, "message": "..."}
    {"status": "error", "message": "..."}

``urls``: a base URL (``http://node0:30000``) is polled at ``/health``, then ``/health_generate``
(as :meth:`ManagedProcess.wait_ready` does); a URL with a path (the router's
``http://host:port/health``) is polled as given. URLs are checked in order, each until it
answers 200. The deadline is wall-clock (``deadline`` epoch seconds, fixed at construction), so a
trigger resumed on another triggerer does not start its clock again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from airflow.triggers.base import BaseTrigger, TriggerEvent

DEFAULT_PATHS = ("/health", "/health_generate")


def expand_urls(urls: list[str]) -> list[str]:
    out: list[str] = []
    for u in urls:
        if urlsplit(u).path in ("", "/"):
            out += [u.rstrip("/") + p for p in DEFAULT_PATHS]
        else:
            out.append(u)
    return list(dict.fromkeys(out))


class ServerReadyTrigger(BaseTrigger):
    def __init__(
        self,
        urls: list[str],
        timeout_s: float,
        poll_s: float = 5.0,
        request_timeout_s: float = 10.0,
        deadline: float | None = None,
        handle: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.handle = handle  # the deployment (RunningDeployment.to_handle()), stopped by on_kill
        self.urls = list(urls)
        self.timeout_s = float(timeout_s)
        self.poll_s = float(poll_s)
        self.request_timeout_s = float(request_timeout_s)
        self.deadline = float(deadline) if deadline is not None else time.time() + self.timeout_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "operators.triggers.ServerReadyTrigger",
            {
                "urls": self.urls,
                "timeout_s": self.timeout_s,
                "poll_s": self.poll_s,
                "request_timeout_s": self.request_timeout_s,
                "deadline": self.deadline,
                "handle": self.handle,
            },
        )

    async def on_kill(self) -> None:
        """The user killed the deferred task (marked it failed or success, or cleared it): stop
        the deployment it was waiting for, so no server is left running on the GPUs. Never
        called on a triggerer restart or redistribution."""
        if not self.handle:
            return

        def stop() -> None:
            from frontier.launch import attach

            attach(self.handle).stop()

        try:
            await asyncio.to_thread(stop)
            self.log.warning("deferred task killed: stopped its deployment")
        except Exception as e:  # noqa: BLE001 - best effort; say why the servers may still run
            self.log.error("deferred task killed, but its deployment could not be stopped: %s", e)

    async def _probe(self, client: Any, url: str) -> str | None:
        """None when 200, else what was seen."""
        import httpx

        try:
            r = await client.get(
                url, timeout=max(0.2, min(self.request_timeout_s, self.deadline - time.time()))
            )
        except httpx.HTTPError as e:
            return f"no answer ({type(e).__name__})"
        return None if r.status_code == 200 else f"HTTP {r.status_code}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import httpx

        start = time.time()
        started_at = self.deadline - self.timeout_s
        ready: list[str] = []
        try:
            todo = expand_urls(self.urls)
            # trust_env=False: cluster-internal and loopback URLs must not go through a proxy
            async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
                for url in todo:
                    while True:
                        last = await self._probe(client, url)
                        if last is None:
                            ready.append(url)
                            break
                        if time.time() >= self.deadline:
                            elapsed = time.time() - started_at
                            yield TriggerEvent(
                                {
                                    "status": "timeout",
                                    "url": url,
                                    "last": last,
                                    "ready": ready,
                                    "elapsed_s": round(elapsed, 3),
                                    "message": f"{url} not healthy within {self.timeout_s:g} s ({last})",
                                }
                            )
                            return
                        await asyncio.sleep(max(0.0, min(self.poll_s, self.deadline - time.time())))
        except Exception as e:  # noqa: BLE001 - the operator turns this into a launch failure
            yield TriggerEvent({"status": "error", "ready": ready, "message": f"{type(e).__name__}: {e}"})
            return
        yield TriggerEvent(
            {"status": "ready", "urls": ready, "elapsed_s": round(time.time() - min(start, started_at), 3)}
        )
