# Airflow cluster policy of frontier (mounted at $AIRFLOW_HOME/config/airflow_local_settings.py by
# docker-compose.yml): each mapped deployment task gets its hardware's GPU pool and its GPU count.
from operators.policy import task_instance_mutation_hook  # noqa: F401
