-- marts/frontier_points: what the charts consume (columns are a contract: docs/contracts.md).
-- One row per point of one run. $run_id: the run (NULL = the latest run that has points).
-- Axes and frontier flags come from intermediate/int_point_metrics.
WITH
run_points AS (
    SELECT * FROM int_point_metrics WHERE run_id = points_run($run_id)
)
SELECT
    run_id, run_date, model, hardware, precision, scenario, isl, osl, label, gpus,
    max_concurrency, engine, source, status,
    tok_s_gpu, tok_s_gpu_output, tok_s_user, tok_s_user_mean,
    median_ttft_ms, p99_ttft_ms, median_tpot_ms, p99_tpot_ms, median_e2e_latency_ms,
    total_token_throughput, output_throughput, completed, failed, error_rate, client_limited,
    on_label_frontier, on_overall_frontier
FROM run_points
ORDER BY model, hardware, precision, scenario, label, tok_s_user NULLS LAST, max_concurrency
