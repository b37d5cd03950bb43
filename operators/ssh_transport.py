"""``SSHHookTransport``: frontier's ssh :class:`~frontier.launch.targets.ssh.Transport` over Airflow's SSH
provider (``SSHHook``, paramiko), one Airflow Connection per node.

Connection id per node: ``cluster.ssh.conn_ids[host]`` when given, else
``cluster.ssh.conn_id_pattern`` (default ``frontier_node_{host}``, the host with characters
other than letters, digits, ``-`` and ``_`` replaced by ``_``: ``frontier_node_gpu-01``,
``frontier_node_10_0_0_7``). The Connection (type ``ssh``) holds host, port, login and the key
(extra ``private_key`` or ``key_file``, and ``host_key`` or ``no_host_key_check``): secrets
stay in Airflow's secrets backend. The commands carry none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frontier.launch.targets.options import SSHOptions


def _default_hook(conn_id: str) -> Any:
    from airflow.providers.ssh.hooks.ssh import SSHHook

    return SSHHook(ssh_conn_id=conn_id)


class SSHHookTransport:
    def __init__(self, options: SSHOptions | None = None, hook_factory: Callable[[str], Any] | None = None):
        self.options = options or SSHOptions()
        self.hook_factory = hook_factory or _default_hook
        self._hooks: dict[str, Any] = {}

    def conn_id(self, host: str) -> str:
        return self.options.conn_id(host)

    def hook(self, host: str) -> Any:
        if host not in self._hooks:
            self._hooks[host] = self.hook_factory(self.conn_id(host))
        return self._hooks[host]

    def run(self, host: str, command: str, timeout: float | None = 60.0) -> tuple[int, str, str]:
        try:
            hook = self.hook(host)
            client = hook.get_conn()  # cached and re-opened by the hook when its transport died
            rc, out, err = hook.exec_ssh_client_command(
                client, command, get_pty=False, environment=None, timeout=timeout
            )
        except Exception as e:  # noqa: BLE001 - connection / auth / timeout: one line for the caller
            self._hooks.pop(host, None)
            return 255, "", f"ssh {host} (connection {self.conn_id(host)}): {type(e).__name__}: {e}"
        return rc, out.decode(errors="replace"), err.decode(errors="replace")

    def close(self) -> None:
        for hook in self._hooks.values():
            client = getattr(hook, "client", None)
            if client is not None:
                client.close()
        self._hooks.clear()
