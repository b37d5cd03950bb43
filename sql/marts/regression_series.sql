-- marts/regression_series: the nightly series the step detector (frontier/regress.py) reads:
-- per (model, hardware, precision, scenario, label) and metric, one value per run in run order.
-- Metrics: band_20 / band_50 / band_100 (frontier tok_s_gpu at that tok/s/user, from
-- int_band_values) and peak_tok_s_gpu (best ok tok_s_gpu of the label).
-- $run_id: the last run of the series (NULL = the latest run with points).
WITH
chosen AS (
    SELECT o.* FROM int_run_order o WHERE o.run_id = points_run($run_id)
),
bands AS (
    SELECT run_id, model, hardware, precision, scenario, label,
           'band_' || CAST(CAST(band AS INTEGER) AS VARCHAR) AS metric, tok_s_gpu AS value
    FROM int_band_values
),
peaks AS (
    SELECT run_id, model, hardware, precision, scenario, label,
           'peak_tok_s_gpu' AS metric, max(tok_s_gpu) AS value
    FROM int_point_metrics WHERE status = 'ok'
    GROUP BY ALL
),
series AS (
    SELECT * FROM bands UNION ALL SELECT * FROM peaks
)
SELECT s.*, o.run_date, o.started_at
FROM series s
JOIN int_run_order o USING (run_id)
WHERE (o.run_date, coalesce(o.started_at, TIMESTAMPTZ '1970-01-01'), o.run_id)
   <= (SELECT (run_date, coalesce(started_at, TIMESTAMPTZ '1970-01-01'), run_id) FROM chosen)
ORDER BY model, hardware, precision, scenario, label, metric, o.run_date, o.started_at NULLS FIRST, run_id
