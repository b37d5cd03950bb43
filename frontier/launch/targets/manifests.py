"""Kubernetes manifests for a :class:`frontier.planning.sglang_args.LaunchPlan`: pure dicts, no client.

``render_manifests(plan, image=..., namespace=...)`` returns, in apply order:

- a headless Service ``{name}-nodes`` giving every node pod a stable DNS name
  (``{name}-n{i}.{name}-nodes.{namespace}.svc.cluster.local``) for ``--dist-init-addr``, the
  router's worker URLs and the PD bootstrap;
- one Pod per node of the plan (``{name}-n{i}``), one container per server process placed on
  that node, each with its ``gpus`` in ``resources.limits[gpu_resource]`` and a memory-backed
  ``/dev/shm``; labels mark the leader (node rank 0 of its server) and the workers;
- a Service ``{name}`` for the endpoint: the router's port on the router Pod for a
  disaggregated plan (plus that Pod, ``{name}-router``, which needs no GPU), else the single
  server's port on its leader pod.

The plan's hostnames (``127.0.0.1``, ``node0``, ...) are rewritten to those DNS names, servers
bind ``0.0.0.0``, and ``--base-gpu-id`` is dropped: the device plugin gives each container its
own GPUs numbered from 0. Pods use ``restartPolicy: Never`` (one benchmark run).

No pod outlives a lost driver: ``active_deadline_s`` sets every Pod's ``activeDeadlineSeconds``
(Kubernetes fails the pod, killing its containers, that long after it started), and
``owner_references`` (the driver's own Pod, e.g. an Airflow worker pod) go on every object, so
the garbage collector deletes them with their owner. An owner must live in the same namespace.
"""

from __future__ import annotations

import re

from frontier.planning.launch_plan import LaunchPlan

APP = "frontier"
SHM_SIZE = "64Gi"


def slug(text: str, limit: int = 40) -> str:
    """A DNS-1123 label fragment: ``1xSEP4+1xDEP8`` -> ``1xsep4-1xdep8``."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:limit].rstrip("-") or "x"


def _rewrite(argv: list[str], hosts: dict[str, str], *, server: bool) -> list[str]:
    out: list[str] = []
    skip = False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if server and a == "--base-gpu-id":
            skip = True
            continue
        if a == "--host" and i + 1 < len(argv):
            out += [a, "0.0.0.0"]
            skip = True
            continue
        for old, new in hosts.items():
            if a.startswith(f"http://{old}:"):
                a = f"http://{new}:" + a[len(f"http://{old}:") :]
            elif a.startswith(f"{old}:"):
                a = f"{new}:" + a[len(old) + 1 :]
        out.append(a)
    return out


def _meta(name: str, namespace: str, labels: dict[str, str]) -> dict:
    return {"name": name, "namespace": namespace, "labels": labels}


def render_manifests(
    launch_plan: LaunchPlan,
    *,
    image: str,
    namespace: str,
    gpu_resource: str = "nvidia.com/gpu",
    name: str | None = None,
    shm_size: str = SHM_SIZE,
    active_deadline_s: int | None = None,
    owner_references: list[dict] | None = None,
) -> list[dict]:
    """Headless Service, node Pods, endpoint Service (+ router Pod) for ``launch_plan``."""
    out = _render(launch_plan, image, namespace, gpu_resource, name, shm_size)
    for m in out:
        if owner_references:
            m["metadata"]["ownerReferences"] = [dict(r) for r in owner_references]
        if m["kind"] == "Pod" and active_deadline_s:
            m["spec"]["activeDeadlineSeconds"] = int(active_deadline_s)
    return out


def owner_reference(pod_name: str, pod_uid: str) -> dict:
    """An ownerReference to a Pod (the driver's): its dependents are deleted with it."""
    return {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid, "blockOwnerDeletion": False}


def _render(
    launch_plan: LaunchPlan, image: str, namespace: str, gpu_resource: str, name: str | None, shm_size: str
) -> list[dict]:
    plan = launch_plan
    base = name or slug(f"{APP}-{plan.label}")
    common = {
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/instance": base,
        "frontier/label": slug(plan.label, 63),
    }
    nodes = plan.nodes
    headless = f"{base}-nodes"
    dns = {h: f"{base}-n{i}.{headless}.{namespace}.svc.cluster.local" for i, h in enumerate(nodes)}
    pod_of = {h: f"{base}-n{i}" for i, h in enumerate(nodes)}

    out: list[dict] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(headless, namespace, dict(common)),
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": {**common, "frontier/component": "server"},
                "ports": [{"name": "http", "port": plan.servers[0].port}],
            },
        }
    ]

    for i, host in enumerate(nodes):
        procs = [s for s in plan.servers if s.host == host]
        leader = any(s.node_rank == 0 for s in procs)
        containers = []
        for s in procs:
            ports = [{"name": "http", "containerPort": s.port}] if s.serves_http else []
            if s.bootstrap_port is not None and s.serves_http:
                ports.append({"name": "bootstrap", "containerPort": s.bootstrap_port})
            c = {
                "name": slug(f"{s.role}-g{s.group_index}-r{s.replica}-rank{s.node_rank}", 63),
                "image": image,
                "command": _rewrite(s.argv, dns, server=True),
                "env": [{"name": k, "value": v} for k, v in sorted(s.env.items())],
                "ports": ports,
                "resources": {"limits": {gpu_resource: s.gpus}, "requests": {gpu_resource: s.gpus}},
                "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
            }
            if s.serves_http:
                c["readinessProbe"] = {
                    "httpGet": {"path": "/health", "port": s.port},
                    "periodSeconds": 10,
                    "failureThreshold": 360,
                }
            containers.append(c)
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": _meta(
                    pod_of[host],
                    namespace,
                    {
                        **common,
                        "frontier/component": "server",
                        "frontier/node": str(i),
                        "frontier/role": "leader" if leader else "worker",
                    },
                ),
                "spec": {
                    "hostname": pod_of[host],
                    "subdomain": headless,
                    "restartPolicy": "Never",
                    "containers": containers,
                    "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": shm_size}}],
                },
            }
        )

    if plan.router is not None:
        r = plan.router
        router_labels = {**common, "frontier/component": "router"}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": _meta(f"{base}-router", namespace, router_labels),
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "router",
                            "image": image,
                            "command": _rewrite(r.argv, dns, server=False),
                            "env": [{"name": k, "value": v} for k, v in sorted(r.env.items())],
                            "ports": [{"name": "http", "containerPort": r.port}],
                        }
                    ],
                },
            }
        )
        selector, port = router_labels, r.port
    else:
        head = plan.servers[0]
        selector = {**common, "frontier/component": "server", "frontier/node": "0"}
        port = head.port
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(base, namespace, dict(common)),
            "spec": {"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": port}]},
        }
    )
    return out


def endpoint_url(launch_plan: LaunchPlan, *, namespace: str, name: str | None = None) -> str:
    """The in-cluster URL load should go to (the endpoint Service)."""
    base = name or slug(f"{APP}-{launch_plan.label}")
    port = launch_plan.router.port if launch_plan.router else launch_plan.servers[0].port
    return f"http://{base}.{namespace}.svc.cluster.local:{port}"
