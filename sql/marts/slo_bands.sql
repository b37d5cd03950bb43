-- marts/slo_bands: InferenceX-style interactivity bands. For each band (a minimum interactivity:
-- 10, 20, 30, 50, 75, 100, 150, 200, 300 tok/s/user), the best measured configuration per (model,
-- hardware, precision, scenario) among ok points with tok_s_user >= the band (and, when given,
-- p99 TTFT <= $max_ttft_p99_ms), from the latest run that measured each group up to $run_id
-- (NULL = all runs). Bands no point reaches give no row. rank: hardware ranked within
-- (model, precision, scenario, band) by tok_s_gpu.
WITH
bands AS (
    SELECT unnest([10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0]) AS band
),
latest AS (SELECT run_id, model, hardware, precision, scenario FROM latest_group_runs($run_id)),
meeting AS (
    SELECT b.band, p.*
    FROM int_point_metrics p
    JOIN latest l USING (run_id, model, hardware, precision, scenario)
    JOIN bands b ON p.tok_s_user >= b.band
    WHERE p.status = 'ok' AND isfinite(p.tok_s_gpu)
      AND ($max_ttft_p99_ms IS NULL OR p.p99_ttft_ms <= CAST($max_ttft_p99_ms AS DOUBLE))
),
best AS (
    SELECT *
    FROM meeting
    QUALIFY row_number() OVER (
        PARTITION BY model, hardware, precision, scenario, band
        ORDER BY tok_s_gpu DESC, gpus ASC NULLS LAST, label, max_concurrency
    ) = 1
)
SELECT
    model, precision, scenario, band AS min_tok_s_user, hardware, label, gpus, max_concurrency,
    tok_s_gpu, tok_s_user, median_ttft_ms, p99_ttft_ms, p99_tpot_ms, run_id,
    rank() OVER (PARTITION BY model, precision, scenario, band ORDER BY tok_s_gpu DESC) AS rank
FROM best
ORDER BY model, precision, scenario, band, rank, hardware
