"""ServerReadyTrigger against a real simulated server on 127.0.0.1 (ready) and a closed port
(timeout), and LaunchDeploymentOperator's defer -> trigger -> resume -> stop path (local target)."""

from __future__ import annotations

import sys
import time

import pytest
import yaml

pytest.importorskip("airflow")

from frontier.launch.process import free_port
from frontier.launch.targets import Handle, LocalTarget, launch, stop_all
from frontier.launch.targets.plans import deployment_plan
from operators.triggers import ServerReadyTrigger, expand_urls
from tests.support import first_event

pytestmark = pytest.mark.timeout(60)
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def sim_server(tmp_path):
    plan, _ = deployment_plan(
        "TP1",
        model=LLAMA,
        hardware="h100_sxm",
        precision="fp8",
        engine="sim",
        cluster={"python": sys.executable, "base_port": free_port()},
    )
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


def test_deferred_launch_operator_roundtrip(tmp_path):
    from airflow.sdk.exceptions import TaskDeferred

    from operators.targets import LaunchDeploymentOperator, StopDeploymentOperator

    spec = {
        "name": "t",
        "engine": "sim",
        "target": "local",
        "scenarios": ["1k1k"],
        "concurrencies": [1],
        "ready_timeout_s": 30,
        "cluster": {"python": sys.executable, "base_port": free_port()},
        "matrix": [{"model": LLAMA, "hardware": "h100_sxm", "precision": "fp8", "labels": ["TP1"]}],
    }
    sp = tmp_path / "spec.yaml"
    sp.write_text(yaml.safe_dump(spec))
    item = {"label": "TP1", "model": LLAMA, "hardware": "h100_sxm", "precision": "fp8", "server_args": []}
    op = LaunchDeploymentOperator(
        task_id="launch", spec_path=str(sp), item=item, log_dir=str(tmp_path / "logs"), poll_s=0.1
    )
    with pytest.raises(TaskDeferred) as d:
        op.execute({})
    trig, kwargs = d.value.trigger, d.value.kwargs
    assert d.value.method_name == "execute_complete" and isinstance(trig, ServerReadyTrigger)
    ev = first_event(trig)
    assert ev["status"] == "ready"
    out = op.execute_complete({}, ev, **kwargs)
    assert out["endpoint_url"].startswith("http://127.0.0.1:") and len(out["handles"]) == 1
    pid = out["handles"][0]["pid"]
    StopDeploymentOperator(task_id="stop", launched=out, grace_s=5).execute({})
    assert pid and not LocalTarget().alive(Handle.from_dict(out["handles"][0]))

    # a timeout event stops what was started and fails the task with the reason
    with pytest.raises(TaskDeferred) as d2:
        op.execute({})
    from airflow.sdk.exceptions import AirflowException

    with pytest.raises(AirflowException, match="not healthy within"):
        op.execute_complete(
            {}, {"status": "timeout", "message": "x/health not healthy within 1 s"}, **d2.value.kwargs
        )
    assert not LocalTarget().alive(Handle.from_dict(d2.value.kwargs["handles"][0]))
