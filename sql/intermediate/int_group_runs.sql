-- intermediate/int_group_runs: per (model, hardware, precision, scenario), the runs that measured
-- it in run order, with the previous such run (what night_over_night compares against).
WITH
group_runs AS (
    SELECT DISTINCT run_id, model, hardware, precision, scenario FROM points
),
ordered AS (
    SELECT g.*, o.run_date, o.started_at
    FROM group_runs g JOIN int_run_order o USING (run_id)
)
SELECT
    run_id, run_date, model, hardware, precision, scenario,
    lag(run_id) OVER w AS prev_run_id,
    lag(run_date) OVER w AS prev_run_date,
    row_number() OVER w AS run_seq
FROM ordered
WINDOW w AS (
    PARTITION BY model, hardware, precision, scenario
    ORDER BY run_date, started_at NULLS FIRST, run_id
)
