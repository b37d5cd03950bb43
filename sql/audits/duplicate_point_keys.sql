-- audits/duplicate_point_keys: more than one point row for the same key
-- (run_id, model, hardware, precision, scenario, label, max_concurrency, request_rate): a writer
-- appended instead of replacing its part. $run_id: NULL = all runs.
SELECT
    run_id, model, hardware, precision, scenario, label, max_concurrency, request_rate,
    count(*) AS rows
FROM points
WHERE ($run_id IS NULL OR run_id = $run_id)
GROUP BY ALL
HAVING count(*) > 1
ORDER BY run_id, model, hardware, precision, scenario, label, max_concurrency
