-- marts/run_failures: the failures of one run (deployment or point), newest first.
-- $run_id: the run (NULL = the latest run seen in any table: a run where everything failed has
-- no points, and its failures are what you want to see).
SELECT
    run_id, run_date, model, hardware, precision, scenario, label, max_concurrency, stage,
    reason, log_tail, "at"
FROM failures
WHERE run_id = any_run($run_id)
ORDER BY "at" DESC NULLS LAST, model, hardware, precision, scenario, label, max_concurrency
