"""Airflow side of the execution targets: Airflow's SSH and Kubernetes providers as the
transports of frontier's ``ssh`` and ``kubernetes`` targets.

Importing this module registers them (:func:`frontier.launch.targets.register_provider`): from
then on every launch on those targets in this process (the benchmark task, a resumed deferred
task, the trigger's ``on_kill``) reaches nodes through one Airflow Connection per node
(:class:`~operators.ssh_transport.SSHHookTransport`) or the cluster through
:class:`~operators.kube_client.KubernetesHookClient`. The launch itself is frontier's one path
(:func:`frontier.launch.launch`), run by ``BenchmarkDeploymentOperator``.
"""

from __future__ import annotations

from frontier.launch.targets import register_provider
from operators.kube_client import KubernetesHookClient
from operators.ssh_transport import SSHHookTransport

register_provider("ssh", lambda opts: SSHHookTransport(opts.ssh))
register_provider("kubernetes", lambda opts: KubernetesHookClient(opts.kubernetes.conn_id))
