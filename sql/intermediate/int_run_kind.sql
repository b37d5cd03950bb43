-- intermediate/int_run_kind: what kind of run each run id is, for labels on the site:
--   imported: `frontier import` (trigger 'import') or points from sglang.bench_serving
--   nightly:  a scheduled (or backfill) Airflow run, or any run of the spec named 'nightly'
--   adhoc:    everything else (manual DAG runs, `frontier run` from the CLI, ...)
WITH
r AS (
    SELECT run_id, any_value(trigger) AS trigger, any_value(spec_name) AS spec_name
    FROM runs GROUP BY run_id
),
src AS (
    SELECT run_id, bool_or(source = 'bench_serving') AS imported_points
    FROM points GROUP BY run_id
)
SELECT
    o.run_id,
    CASE WHEN r.trigger = 'import' OR coalesce(s.imported_points, false) THEN 'imported'
         WHEN r.trigger IN ('scheduled', 'backfill') OR r.spec_name = 'nightly' THEN 'nightly'
         ELSE 'adhoc' END AS run_kind,
    r.trigger, r.spec_name
FROM int_run_order o
LEFT JOIN r USING (run_id)
LEFT JOIN src s USING (run_id)
