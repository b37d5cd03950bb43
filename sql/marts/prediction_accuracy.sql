-- marts/prediction_accuracy: predicted vs measured, night by night. Per run (every run up to
-- $run_id, NULL = all) and (model, hardware, precision, scenario): how many measured ok points had
-- a prediction, and the median / max absolute relative error of median TPOT, median TTFT and
-- tok_s_gpu (prediction_error's definitions: (predicted - measured) / measured), in percent.
WITH
chosen AS (
    SELECT run_date, coalesce(started_at, TIMESTAMPTZ '1970-01-01') AS started_at, run_id
    FROM int_run_order WHERE run_id = points_run($run_id)
),
runs_shown AS (
    SELECT o.run_id, o.run_date
    FROM int_run_order o
    WHERE (o.run_date, coalesce(o.started_at, TIMESTAMPTZ '1970-01-01'), o.run_id)
       <= (SELECT (run_date, started_at, run_id) FROM chosen)
),
joined AS (
    SELECT
        r.run_id, r.run_date, m.model, m.hardware, m.precision, m.scenario,
        abs((pr.tpot_ms - m.median_tpot_ms) / nullif(m.median_tpot_ms, 0)) AS e_tpot,
        abs((pr.ttft_ms - m.median_ttft_ms) / nullif(m.median_ttft_ms, 0)) AS e_ttft,
        abs((coalesce(pr.tok_s_gpu, pr.total_token_throughput / nullif(coalesce(pr.gpus, m.gpus), 0)) - m.tok_s_gpu)
            / nullif(m.tok_s_gpu, 0)) AS e_tok_s_gpu
    FROM runs_shown r
    JOIN int_point_metrics m USING (run_id)
    JOIN predictions pr USING (run_id, model, hardware, precision, scenario, label, max_concurrency)
    WHERE m.status = 'ok'
)
SELECT
    run_id, run_date, model, hardware, precision, scenario,
    count(*) AS points,
    100 * median(e_tpot) AS median_abs_err_tpot_pct,
    100 * max(e_tpot) AS max_abs_err_tpot_pct,
    100 * median(e_ttft) AS median_abs_err_ttft_pct,
    100 * median(e_tok_s_gpu) AS median_abs_err_tok_s_gpu_pct,
    100 * max(e_tok_s_gpu) AS max_abs_err_tok_s_gpu_pct
FROM joined
GROUP BY ALL
ORDER BY run_date DESC, run_id DESC, model, hardware, precision, scenario
