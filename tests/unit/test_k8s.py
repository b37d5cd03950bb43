"""frontier.launch.targets.manifests: manifests for launch plans (structure; schemas via kubernetes-validate if installed)."""

from __future__ import annotations

import json

import pytest

from frontier.launch.targets.manifests import endpoint_url, render_manifests, slug
from frontier.planning.sglang_args import build_launch_plan

R1 = "deepseek-ai/DeepSeek-R1"
NS = "bench"


def _render(label, **kw):
    plan = build_launch_plan(label, model=R1, hardware="h200_sxm", precision="fp8")
    return plan, render_manifests(plan, image="lmsysorg/sglang:v0.5.23", namespace=NS, **kw)


def _kinds(ms):
    return [(m["kind"], m["metadata"]["name"]) for m in ms]


def test_single_server():
    plan, ms = _render("TP8")
    assert _kinds(ms) == [
        ("Service", "frontier-tp8-nodes"),
        ("Pod", "frontier-tp8-n0"),
        ("Service", "frontier-tp8"),
    ]
    pod = ms[1]
    c = pod["spec"]["containers"][0]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 8
    assert c["command"][c["command"].index("--host") + 1] == "0.0.0.0"
    assert pod["metadata"]["labels"]["frontier/role"] == "leader"
    assert ms[2]["spec"]["ports"][0]["port"] == 30000
    assert endpoint_url(plan, namespace=NS) == "http://frontier-tp8.bench.svc.cluster.local:30000"


def test_pd_multinode_rewrites_hosts_and_drops_base_gpu_id():
    _, ms = _render("2xTEP4+1xDEP16")
    kinds = _kinds(ms)
    pods = [m for m in ms if m["kind"] == "Pod"]
    assert [p["metadata"]["name"] for p in pods] == [
        "frontier-2xtep4-1xdep16-n0",
        "frontier-2xtep4-1xdep16-n1",
        "frontier-2xtep4-1xdep16-n2",
        "frontier-2xtep4-1xdep16-router",
    ]
    assert kinds[-1] == ("Service", "frontier-2xtep4-1xdep16")
    n0, n1, n2, router = pods
    assert len(n0["spec"]["containers"]) == 2  # two 4-GPU prefill servers share node 0
    assert all(c["resources"]["limits"]["nvidia.com/gpu"] == 4 for c in n0["spec"]["containers"])
    assert all("--base-gpu-id" not in c["command"] for c in n0["spec"]["containers"])
    assert n2["metadata"]["labels"]["frontier/role"] == "worker"
    dns1 = "frontier-2xtep4-1xdep16-n1.frontier-2xtep4-1xdep16-nodes.bench.svc.cluster.local"
    for p in (n1, n2):
        cmd = p["spec"]["containers"][0]["command"]
        assert cmd[cmd.index("--dist-init-addr") + 1] == f"{dns1}:5002"
    rc = router["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in json.dumps(rc)
    assert f"http://{dns1}:30020" in rc["command"]
    assert not any("node0" in a or "node1" in a for a in json.dumps(ms).split('"'))
    assert ms[-1]["spec"]["selector"]["frontier/component"] == "router"
    for p in pods[:3]:
        assert p["spec"]["subdomain"] == "frontier-2xtep4-1xdep16-nodes"


def test_custom_gpu_resource_and_name():
    _, ms = _render("DEP8", gpu_resource="amd.com/gpu", name="r1-dep8")
    assert ms[1]["metadata"]["name"] == "r1-dep8-n0"
    assert ms[1]["spec"]["containers"][0]["resources"]["limits"] == {"amd.com/gpu": 8}


def test_slug():
    assert slug("1xSEP4+1xDEP8") == "1xsep4-1xdep8"
    assert slug("+++") == "x"


@pytest.mark.parametrize("label", ["TP8", "SEP4+1xDEP8", "2xTEP4+1xDEP16", "DEP16"])
def test_schema_valid(label):
    kv = pytest.importorskip(
        "kubernetes_validate", reason="pip install kubernetes-validate for schema checks"
    )
    _, ms = _render(label)
    for m in ms:
        kv.validate(m, kv.latest_version(), strict=True)
