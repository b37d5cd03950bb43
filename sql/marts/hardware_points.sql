-- marts/hardware_points: hardware against hardware. For every (model, hardware, precision,
-- scenario), the points of the latest run that measured it (runs ordered as int_run_order; only
-- runs up to $run_id, NULL = all), with the Pareto frontier recomputed across every hardware and
-- label of one (model, precision, scenario): on_cross_frontier (same rule and tie-break as
-- intermediate/int_point_metrics, ties across hardware broken by hardware name). Rows of other
-- runs never hide a group: each hardware shows its own latest measurement, with the run it comes from.
WITH
latest AS (
    SELECT run_id, model, hardware, precision, scenario, run_seq AS group_runs FROM latest_group_runs($run_id)
),
candidates AS (
    SELECT
        p.*, l.group_runs,
        CASE WHEN p.status = 'ok' AND isfinite(p.tok_s_user) AND isfinite(p.tok_s_gpu) THEN p.tok_s_user END AS _x,
        CASE WHEN p.status = 'ok' AND isfinite(p.tok_s_user) AND isfinite(p.tok_s_gpu) THEN p.tok_s_gpu END AS _y
    FROM int_point_metrics p
    JOIN latest l USING (run_id, model, hardware, precision, scenario)
),
walked AS (
    SELECT
        *,
        max(_y) OVER (
            PARTITION BY model, precision, scenario
            ORDER BY _x DESC NULLS LAST, _y DESC NULLS LAST, max_concurrency ASC NULLS LAST, hardware, label,
                     request_rate ASC NULLS LAST
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS _best_before
    FROM candidates
)
SELECT
    run_id, run_date, model, hardware, precision, scenario, isl, osl, label, gpus, max_concurrency,
    engine, source, status, tok_s_gpu, tok_s_gpu_output, tok_s_user, tok_s_user_mean,
    median_ttft_ms, p99_ttft_ms, median_tpot_ms, p99_tpot_ms, median_e2e_latency_ms,
    completed, failed, error_rate, client_limited, on_label_frontier, on_overall_frontier,
    _y IS NOT NULL AND (_best_before IS NULL OR _y > _best_before) AS on_cross_frontier,
    group_runs
FROM walked
ORDER BY model, precision, scenario, hardware, label, tok_s_user NULLS LAST, max_concurrency
