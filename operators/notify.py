"""The failure hook point: ``on_failure_callback`` for frontier DAGs, with optional notifiers.

``on_run_failure(context)`` logs one summary line (DAG, run, failed tasks, the report headline
when the ``report`` task wrote one) and hands it to each notifier named in ``FRONTIER_NOTIFY``
(comma-separated):

- ``slack:CONN_ID`` -> ``SlackWebhookNotifier`` (extra ``apache-airflow-providers-slack``;
  an ``slackwebhook`` connection CONN_ID holding the webhook URL);
- ``smtp:ADDRESS`` -> ``SmtpNotifier`` (extra ``apache-airflow-providers-smtp``; the
  ``smtp_default`` connection);
- ``log`` (default): the log line only.

A notifier whose provider is not installed is skipped with a warning; a callback never raises.
Custom notifiers: pass any ``BaseNotifier`` in the DAG's ``on_failure_callback`` list instead.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("frontier.notify")


def summary(context: dict[str, Any]) -> str:
    dag_run = context.get("dag_run")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    run_id = getattr(dag_run, "run_id", None) or context.get("run_id", "?")
    failed = []
    try:
        for ti in dag_run.get_task_instances(state=["failed"]):  # the causes; upstream_failed only follow
            mi = getattr(ti, "rendered_map_index", None) or (ti.map_index if ti.map_index >= 0 else None)
            failed.append(ti.task_id + (f" [{mi}]" if mi is not None else ""))
    except Exception:
        log.debug("could not list failed tasks", exc_info=True)
    reason = context.get("reason") or ""
    text = f"frontier: DAG {dag_id} run {run_id} failed"
    if failed:
        text += f"; failed tasks: {', '.join(failed[:10])}" + (" ..." if len(failed) > 10 else "")
    headline = _report_headline(context, str(run_id))
    if headline:
        text += f"; {headline}"
    elif reason:
        text += f"; {reason}"
    return text


def _report_headline(context: dict[str, Any], run_id: str) -> str | None:
    """The headline of the run's report.json (written by `report`, or by `plan` when planning failed)."""
    import json
    from pathlib import Path

    from frontier.run.records import safe_name
    from operators.context import artifacts_dir

    try:
        path = Path(artifacts_dir(dict(context.get("params") or {}))) / safe_name(run_id) / "report.json"
        return json.loads(path.read_text()).get("headline") if path.is_file() else None
    except Exception:
        log.debug("could not read the run report", exc_info=True)
        return None


def _notifiers(message: str) -> list[Any]:
    out = []
    for item in [x.strip() for x in os.environ.get("FRONTIER_NOTIFY", "log").split(",") if x.strip()]:
        kind, _, arg = item.partition(":")
        try:
            if kind == "slack":
                from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

                out.append(SlackWebhookNotifier(slack_webhook_conn_id=arg or "slack_default", text=message))
            elif kind == "smtp":
                from airflow.providers.smtp.notifications.smtp import SmtpNotifier

                out.append(SmtpNotifier(to=arg, subject=message[:120], html_content=f"<pre>{message}</pre>"))
            elif kind != "log":
                log.warning(
                    "FRONTIER_NOTIFY: unknown notifier %r (use slack:CONN, smtp:ADDRESS or log)", item
                )
        except ImportError as e:
            log.warning("FRONTIER_NOTIFY: %s needs its provider package (%s); skipped", kind, e)
    return out


def on_run_failure(context: dict[str, Any]) -> None:
    message = summary(context)
    log.error("%s", message)
    for notifier in _notifiers(message):
        try:
            notifier(context)
        except Exception:
            log.exception("notifier %s failed", type(notifier).__name__)
