"""frontier: SGLang serving benchmarks -> Parquet -> DuckDB -> Altair frontier site.

The core package. It never imports Airflow; `operators/` and `dags/` wrap it.
"""

__version__ = "0.1.0"
