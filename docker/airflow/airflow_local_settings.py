# Airflow cluster policy of frontier (mounted at $AIRFLOW_HOME/config/airflow_local_settings.py by
# docker-compose.yml): each mapped deployment task gets its hardware's GPU pool and its GPU count.
# the form's free-text fields (labels, scenarios, ladder) checked by the grammar's parser in the
# API server, before a run is created: one readable line per bad value (operators/form_checks.py)
import operators.form_checks  # noqa: F401
from operators.policy import task_instance_mutation_hook  # noqa: F401
