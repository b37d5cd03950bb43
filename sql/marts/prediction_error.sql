-- marts/prediction_error: predictions joined to measured points on
-- (run_id, model, hardware, precision, scenario, label, max_concurrency); relative errors
-- rel_err_x = (predicted - measured) / measured for median TPOT, median TTFT, tok_s_gpu and
-- tok_s_user. Only measured points with status = 'ok'. $run_id: NULL = latest run with points.
WITH
measured AS (
    SELECT * FROM int_point_metrics
    WHERE run_id = points_run($run_id) AND status = 'ok'
),
predicted AS (
    SELECT * FROM predictions WHERE run_id = points_run($run_id)
),
joined AS (
    SELECT
        m.run_id, m.model, m.hardware, m.precision, m.scenario, m.label, m.max_concurrency,
        pr.model_version,
        m.median_tpot_ms AS measured_tpot_ms, pr.tpot_ms AS predicted_tpot_ms,
        m.median_ttft_ms AS measured_ttft_ms, pr.ttft_ms AS predicted_ttft_ms,
        m.tok_s_gpu AS measured_tok_s_gpu,
        coalesce(pr.tok_s_gpu, pr.total_token_throughput / nullif(coalesce(pr.gpus, m.gpus), 0)) AS predicted_tok_s_gpu,
        m.tok_s_user AS measured_tok_s_user,
        coalesce(pr.tok_s_user, CASE WHEN pr.tpot_ms > 0 THEN 1000.0 / pr.tpot_ms END) AS predicted_tok_s_user
    FROM measured m
    JOIN predicted pr USING (run_id, model, hardware, precision, scenario, label, max_concurrency)
)
SELECT
    *,
    (predicted_tpot_ms - measured_tpot_ms) / nullif(measured_tpot_ms, 0) AS rel_err_tpot,
    (predicted_ttft_ms - measured_ttft_ms) / nullif(measured_ttft_ms, 0) AS rel_err_ttft,
    (predicted_tok_s_gpu - measured_tok_s_gpu) / nullif(measured_tok_s_gpu, 0) AS rel_err_tok_s_gpu,
    (predicted_tok_s_user - measured_tok_s_user) / nullif(measured_tok_s_user, 0) AS rel_err_tok_s_user
FROM joined
ORDER BY model, hardware, precision, scenario, label, max_concurrency
