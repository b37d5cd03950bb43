-- marts/run_failures: the failures of one run (deployment or point), newest first.
-- $run_id: the run (NULL = the latest run seen in any table: a run where everything failed has
-- no points, and its failures are what you want to see).
WITH
params AS (
    SELECT CAST($run_id AS VARCHAR) AS requested
),
chosen AS (
    SELECT coalesce(
        (SELECT requested FROM params),
        (SELECT run_id FROM int_run_order WHERE run_rank = 1)
    ) AS run_id
)
SELECT
    run_id, run_date, model, hardware, precision, scenario, label, max_concurrency, stage,
    reason, log_tail, "at"
FROM failures
WHERE run_id = (SELECT run_id FROM chosen)
ORDER BY "at" DESC NULLS LAST, model, hardware, precision, scenario, label, max_concurrency
