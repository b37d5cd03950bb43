"""ServerReadyTrigger against a real simulated server on 127.0.0.1 (ready) and a closed port
(timeout). The benchmark operator's defer -> trigger -> resume path is in test_deferral.py."""

from __future__ import annotations

import sys
import time

import pytest

pytest.importorskip("airflow")

from frontier.launch.http import free_port
from frontier.launch.targets import LocalTarget, launch, stop_all
from operators.triggers import ServerReadyTrigger, expand_urls
from tests.support import engine_plan, first_event

pytestmark = pytest.mark.timeout(60)
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def sim_server(tmp_path):
    plan = engine_plan("TP1", python=sys.executable, base_port=free_port())
    t = LocalTarget()
    hs = launch(t, plan, tmp_path, ready_timeout_s=None)  # started, not waited for
    yield plan.servers[0].url
    stop_all(t, hs, grace_s=5)


def test_expand_and_serialize():
    assert expand_urls(["http://a:1", "http://b:2/", "http://r:3/health"]) == [
        "http://a:1/health",
        "http://a:1/health_generate",
        "http://b:2/health",
        "http://b:2/health_generate",
        "http://r:3/health",
    ]
    t = ServerReadyTrigger(["http://a:1"], timeout_s=60, poll_s=2)
    path, kw = t.serialize()
    assert path == "operators.triggers.ServerReadyTrigger"
    again = ServerReadyTrigger(**kw)
    assert again.serialize() == (path, kw) and kw["deadline"] == pytest.approx(time.time() + 60, abs=5)


def test_ready_against_sim_server(sim_server):
    ev = first_event(ServerReadyTrigger([sim_server], timeout_s=30, poll_s=0.1))
    assert ev["status"] == "ready", ev
    assert ev["urls"] == [sim_server + "/health", sim_server + "/health_generate"]


def test_timeout_on_closed_port():
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    ev = first_event(ServerReadyTrigger([url], timeout_s=1.0, poll_s=0.2, request_timeout_s=0.5))
    assert ev["status"] == "timeout" and ev["url"] == url + "/health" and ev["last"].startswith("no answer")
    assert ev["ready"] == [] and time.monotonic() - t0 < 5
