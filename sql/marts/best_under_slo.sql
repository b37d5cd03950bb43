-- marts/best_under_slo: the best configuration per (model, hardware, precision, scenario) under a
-- latency objective: the ok point with the highest tok_s_gpu among those meeting every given bound
--   $max_ttft_p99_ms, $max_ttft_median_ms, $max_tpot_p99_ms, $max_tpot_median_ms (upper bounds, ms),
--   $min_tok_s_user (lower bound on 1000 / median TPOT), $max_gpus (upper bound on the label's GPUs);
-- a NULL bound is no bound. Each group is read from the latest run that measured it, up to $run_id
-- (NULL = all runs), so an ad-hoc run of one hardware never hides another. A group where no point
-- meets the objective has one row with label NULL (meets = false). Ties: fewer GPUs, then label.
WITH
latest AS (SELECT run_id, model, hardware, precision, scenario FROM latest_group_runs($run_id)),
candidates AS (
    SELECT p.*
    FROM int_point_metrics p
    JOIN latest l USING (run_id, model, hardware, precision, scenario)
    WHERE p.status = 'ok' AND isfinite(p.tok_s_gpu) AND isfinite(p.tok_s_user)
),
totals AS (
    SELECT run_id, model, hardware, precision, scenario, count(*) AS points_total
    FROM candidates GROUP BY ALL
),
meeting AS (
    SELECT *
    FROM candidates
    WHERE ($max_ttft_p99_ms IS NULL OR p99_ttft_ms <= CAST($max_ttft_p99_ms AS DOUBLE))
      AND ($max_ttft_median_ms IS NULL OR median_ttft_ms <= CAST($max_ttft_median_ms AS DOUBLE))
      AND ($max_tpot_p99_ms IS NULL OR p99_tpot_ms <= CAST($max_tpot_p99_ms AS DOUBLE))
      AND ($max_tpot_median_ms IS NULL OR median_tpot_ms <= CAST($max_tpot_median_ms AS DOUBLE))
      AND ($min_tok_s_user IS NULL OR tok_s_user >= CAST($min_tok_s_user AS DOUBLE))
      AND ($max_gpus IS NULL OR gpus <= CAST($max_gpus AS INTEGER))
),
ranked AS (
    SELECT
        *,
        count(*) OVER (PARTITION BY model, hardware, precision, scenario) AS points_meeting,
        row_number() OVER (
            PARTITION BY model, hardware, precision, scenario
            ORDER BY tok_s_gpu DESC, gpus ASC NULLS LAST, label, max_concurrency
        ) AS _rank
    FROM meeting
)
SELECT
    t.model, t.hardware, t.precision, t.scenario, r.label, r.gpus, r.max_concurrency,
    r.tok_s_gpu, r.tok_s_gpu_output, r.tok_s_user, r.median_ttft_ms, r.p99_ttft_ms, r.median_tpot_ms,
    r.p99_tpot_ms, r.label IS NOT NULL AS meets, coalesce(r.points_meeting, 0) AS points_meeting,
    t.points_total, t.run_id
FROM totals t
LEFT JOIN (SELECT * FROM ranked WHERE _rank = 1) r USING (run_id, model, hardware, precision, scenario)
ORDER BY t.model, t.precision, t.scenario, r.tok_s_gpu DESC NULLS LAST, t.hardware
