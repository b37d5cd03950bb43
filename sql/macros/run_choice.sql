-- macros/run_choice: which run a mart shows, in one place.
-- points_run(requested): the requested run id, else the latest run that has points (most marts).
-- any_run(requested): the requested run id, else the latest run seen in any table (run_failures:
-- a run where everything failed has no points, and its failures are what you want to see).
-- Scalar macros expand in place, so `WHERE run_id = points_run($run_id)` still reaches the
-- Parquet scan as a filter (a CTE referenced twice would not).
CREATE OR REPLACE TEMP MACRO points_run(requested) AS
    coalesce(CAST(requested AS VARCHAR), (SELECT run_id FROM int_run_order WHERE points_rank = 1));
CREATE OR REPLACE TEMP MACRO any_run(requested) AS
    coalesce(CAST(requested AS VARCHAR), (SELECT run_id FROM int_run_order WHERE run_rank = 1));
