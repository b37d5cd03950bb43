"""operators/ssh_transport.py and operators/kube_client.py over test doubles of the provider objects."""

from __future__ import annotations

import pytest

pytest.importorskip("airflow.providers.ssh", reason="pip install apache-airflow-providers-ssh")
pytest.importorskip(
    "airflow.providers.cncf.kubernetes", reason="pip install apache-airflow-providers-cncf-kubernetes"
)

from kubernetes import client as k
from kubernetes.client.exceptions import ApiException

from frontier.launch.targets.options import SSHOptions
from operators.kube_client import KubernetesHookClient, pod_status_dict
from operators.ssh_transport import SSHHookTransport


class FakeHook:
    def __init__(self, conn_id, fail=False):
        self.conn_id, self.fail, self.commands = conn_id, fail, []

    def get_conn(self):
        if self.fail:
            raise OSError("Connection refused")
        return object()

    def exec_ssh_client_command(self, client, command, get_pty, environment, timeout):
        assert get_pty is False and environment is None
        self.commands.append((command, timeout))
        return 0, b"4242\n", b""


def test_sshhook_transport_conn_per_node():
    made = []
    tr = SSHHookTransport(
        SSHOptions(conn_ids={"gpu-b": "b_conn"}),
        hook_factory=lambda cid: made.append(FakeHook(cid)) or made[-1],
    )
    assert tr.run("gpu-a", "echo $!", timeout=5) == (0, "4242\n", "")
    assert tr.run("gpu-a", "true") == (0, "4242\n", "")
    tr.run("gpu-b", "true")
    assert [h.conn_id for h in made] == ["frontier_node_gpu-a", "b_conn"]  # one hook per node, reused
    assert made[0].commands == [("echo $!", 5), ("true", 60.0)]


def test_sshhook_transport_failure_is_an_exit_code():
    tr = SSHHookTransport(hook_factory=lambda cid: FakeHook(cid, fail=True))
    rc, _out, err = tr.run("node0", "true")
    assert rc == 255 and "frontier_node_node0" in err and "Connection refused" in err


def test_pod_status_dict():
    pod = k.V1Pod(
        status=k.V1PodStatus(
            phase="Running",
            container_statuses=[
                k.V1ContainerStatus(
                    name="a",
                    ready=True,
                    restart_count=0,
                    image="i",
                    image_id="",
                    state=k.V1ContainerState(running=k.V1ContainerStateRunning()),
                ),
                k.V1ContainerStatus(
                    name="b",
                    ready=False,
                    restart_count=0,
                    image="i",
                    image_id="",
                    state=k.V1ContainerState(
                        terminated=k.V1ContainerStateTerminated(exit_code=137, reason="OOMKilled")
                    ),
                ),
            ],
        )
    )
    assert pod_status_dict(pod) == {
        "phase": "Running",
        "containers": {
            "a": {"ready": True, "state": "running", "exit_code": None, "reason": None},
            "b": {"ready": False, "state": "terminated", "exit_code": 137, "reason": "OOMKilled"},
        },
    }
    pending = k.V1Pod(
        status=k.V1PodStatus(
            phase="Pending",
            conditions=[k.V1PodCondition(type="PodScheduled", status="False", reason="Unschedulable")],
        )
    )
    assert pod_status_dict(pending)["containers"]["*"]["reason"] == "Unschedulable"


class FakeCore:
    def __init__(self):
        self.calls = []

    def create_namespaced_pod(self, namespace, body):
        self.calls.append(("create pod", namespace, body["metadata"]["name"]))

    def create_namespaced_service(self, namespace, body):
        self.calls.append(("create svc", namespace, body["metadata"]["name"]))

    def delete_namespaced_pod(self, name, namespace, grace_period_seconds):
        self.calls.append(("delete pod", name, grace_period_seconds))
        raise ApiException(status=404)

    def delete_namespaced_service(self, name, namespace, grace_period_seconds):
        raise ApiException(status=403)

    def read_namespaced_pod(self, name, namespace):
        raise ApiException(status=404)

    def read_namespaced_pod_log(self, **kw):
        self.calls.append(("log", kw))
        return "hello\n"


class FakeKubeHook:
    def __init__(self):
        self.core_v1_client = FakeCore()


def test_kubernetes_hook_client_dispatch():
    hook = FakeKubeHook()
    c = KubernetesHookClient(hook=hook)
    c.create({"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}})
    c.create({"kind": "Service", "metadata": {"name": "s", "namespace": "ns"}})
    c.delete("Pod", "p", "ns", 30)  # 404: already gone, fine
    with pytest.raises(ApiException):
        c.delete("Service", "s", "ns", 0)  # 403 is real
    assert c.pod_status("p", "ns") is None
    assert c.read_log("p", "ns", "router", tail_lines=5) == "hello\n"
    assert hook.core_v1_client.calls == [
        ("create pod", "ns", "p"),
        ("create svc", "ns", "s"),
        ("delete pod", "p", 30),
        ("log", {"name": "p", "namespace": "ns", "container": "router", "tail_lines": 5}),
    ]
    with pytest.raises(ValueError, match="unsupported kind"):
        c.create({"kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"}})
