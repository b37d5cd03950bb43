-- audits/zero_completed: points reported as ok with no completed request (nothing was measured,
-- so every throughput and latency figure of the point is meaningless). $run_id: NULL = all runs.
SELECT run_id, model, hardware, precision, scenario, label, max_concurrency, status, completed, failed
FROM points
WHERE ($run_id IS NULL OR run_id = $run_id)
  AND status = 'ok'
  AND coalesce(completed, 0) = 0
ORDER BY run_id, model, hardware, precision, scenario, label, max_concurrency
