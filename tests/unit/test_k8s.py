"""frontier.launch.targets.manifests: manifests for launch plans (structure; schemas via kubernetes-validate if installed)."""

from __future__ import annotations

import json

import pytest

from frontier.errors import FrontierError
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


# --------------------------------------------------------------------------- issue 13: no orphan pods


def test_pods_get_a_deadline_and_every_object_an_owner():
    from frontier.launch.targets.manifests import owner_reference

    owner = owner_reference("airflow-worker-abc", "1234-uid")
    _, ms = _render("2xTEP4+1xDEP16", active_deadline_s=7200, owner_references=[owner])
    pods = [m for m in ms if m["kind"] == "Pod"]
    assert pods and all(p["spec"]["activeDeadlineSeconds"] == 7200 for p in pods)
    assert all(m["metadata"]["ownerReferences"] == [owner] for m in ms)
    assert owner == {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": "airflow-worker-abc",
        "uid": "1234-uid",
        "blockOwnerDeletion": False,
    }
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    for m in ms:
        kv.validate(m, kv.latest_version(), strict=True)
    _, plain = _render("TP8")
    assert not any("activeDeadlineSeconds" in m["spec"] or "ownerReferences" in m["metadata"] for m in plain)


def _target(env: dict[str, str]):
    from frontier.domain.cluster import as_cluster
    from frontier.launch.targets import make_target
    from tests.support import FakeKube

    plan = build_launch_plan("TP8", model=R1, hardware="h200_sxm", precision="fp8")
    opts = as_cluster({"kubernetes": {"namespace": NS}}).target_options(env)
    kube = FakeKube()
    return make_target("kubernetes", plan, opts, kube_client=kube), kube, plan


@pytest.mark.parametrize("deferred", [False, True])
def test_kubernetes_target_owner_only_while_not_deferred(tmp_path, deferred):
    from frontier.launch.targets import launch

    env = {"FRONTIER_K8S_OWNER_POD_NAME": "worker-0", "FRONTIER_K8S_OWNER_POD_UID": "u-1"}
    t, kube, plan = _target(env)
    t.tether = not deferred  # launch_on_target: tether = wait
    launch(t, plan, tmp_path, ready_timeout_s=None)
    objs = list(kube.objects.values())
    assert objs
    pods = [o for o in objs if o["kind"] == "Pod"]
    assert all(p["spec"]["activeDeadlineSeconds"] == 6 * 3600 for p in pods)  # the default
    refs = [o["metadata"].get("ownerReferences") for o in objs]
    if deferred:  # the worker pod may go while the task is deferred: only the deadline holds
        assert refs == [None] * len(objs)
    else:
        assert all(r and r[0]["name"] == "worker-0" and r[0]["uid"] == "u-1" for r in refs)


def test_kubernetes_deadline_off_and_owner_errors():
    t, _, _ = _target({"FRONTIER_K8S_ACTIVE_DEADLINE_S": "0"})
    assert not any("activeDeadlineSeconds" in m["spec"] for m in t.manifests)
    assert t.owner is None
    with pytest.raises(FrontierError, match="owner_pod_name and owner_pod_uid go together"):
        _target({"FRONTIER_K8S_OWNER_POD_NAME": "worker-0"})
    with pytest.raises(FrontierError, match="only works within one namespace"):
        _target(
            {
                "FRONTIER_K8S_OWNER_POD_NAME": "w",
                "FRONTIER_K8S_OWNER_POD_UID": "u",
                "FRONTIER_K8S_OWNER_POD_NAMESPACE": "airflow",
            }
        )
    with pytest.raises(FrontierError, match="active_deadline_s"):
        _target({"FRONTIER_K8S_ACTIVE_DEADLINE_S": "-5"})
