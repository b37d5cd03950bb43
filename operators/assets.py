"""The Airflow Assets frontier DAGs produce and consume."""

from airflow.sdk import Asset

# emitted by the `marts` task of nightly_frontier and frontier_adhoc once a run's marts and audits
# are built; the event's extra carries {"run_id", "dag_id", "status"}; publish_frontier runs on it
MARTS = Asset(name="frontier_marts", uri="frontier://warehouse/marts", group="frontier")
