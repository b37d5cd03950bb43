-- audits/gpu_count_mismatch: points and deployments whose gpus differ from their label's GPU count
-- (sum over groups of count x gpus, from the `labels` table that connect() builds with
-- frontier.labels.parse), or whose label does not parse. $run_id: NULL = all runs.
WITH
rows_with_gpus AS (
    SELECT 'points' AS source_table, run_id, model, hardware, precision, scenario, label,
           max_concurrency, gpus
    FROM points
    UNION ALL
    SELECT 'deployments', run_id, model, hardware, precision, scenario, label, NULL, gpus
    FROM deployments
),
checked AS (
    SELECT r.*, l.gpus AS label_gpus, l.error AS label_error
    FROM rows_with_gpus r
    LEFT JOIN labels l USING (label)
    WHERE ($run_id IS NULL OR r.run_id = $run_id)
)
SELECT * FROM checked
WHERE label_error IS NOT NULL
   OR label_gpus IS NULL
   OR gpus IS DISTINCT FROM label_gpus
ORDER BY source_table, run_id, model, hardware, precision, scenario, label, max_concurrency
