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
-- latest_group_runs(requested): per (model, hardware, precision, scenario), the latest run that
-- measured it, at or before the chosen run (points_run(requested)): an ad-hoc run of one hardware
-- never hides another's results. Columns: run_id, run_date, model, hardware, precision, scenario,
-- run_seq (how many runs measured the group so far).
CREATE OR REPLACE TEMP MACRO latest_group_runs(requested) AS TABLE
    SELECT g.run_id, g.run_date, g.model, g.hardware, g.precision, g.scenario, g.run_seq
    FROM int_group_runs g
    JOIN int_run_order o USING (run_id)
    WHERE (o.run_date, coalesce(o.started_at, TIMESTAMPTZ '1970-01-01'), o.run_id)
       <= (SELECT (c.run_date, coalesce(c.started_at, TIMESTAMPTZ '1970-01-01'), c.run_id)
           FROM int_run_order c WHERE c.run_id = points_run(requested))
    QUALIFY row_number() OVER (PARTITION BY g.model, g.hardware, g.precision, g.scenario ORDER BY g.run_seq DESC) = 1;
