-- marts/cost_summary: per label of one run, the cheapest $/Mtok and the most tok/s/MW over its ok
-- points (marts/cost's formulas), with the interactivity where each occurs and the assumptions used
-- (usd_per_gpu_hour, power_w, assumption_source: spec | catalog). $run_id: NULL = latest with points.
WITH
run_points AS (
    SELECT * FROM int_point_metrics
    WHERE run_id = points_run($run_id) AND status = 'ok'
),
run_cost AS (
    SELECT run_id, any_value(cost_json) FILTER (WHERE cost_json IS NOT NULL) AS cost_json
    FROM runs WHERE run_id = points_run($run_id) GROUP BY run_id
),
priced AS (
    SELECT
        p.*,
        coalesce(TRY_CAST(json_extract_string(c.cost_json, '$."' || p.hardware || '".usd_per_gpu_hour') AS DOUBLE),
                 h.usd_per_gpu_hour) AS usd_per_gpu_hour,
        coalesce(TRY_CAST(json_extract_string(c.cost_json, '$."' || p.hardware || '".power_w') AS DOUBLE),
                 h.power_w) AS power_w,
        CASE WHEN json_extract(c.cost_json, '$."' || p.hardware || '"') IS NOT NULL THEN 'spec'
             WHEN h.hardware IS NOT NULL THEN 'catalog' END AS assumption_source
    FROM run_points p
    LEFT JOIN run_cost c USING (run_id)
    LEFT JOIN hardware h USING (hardware)
),
per_point AS (
    SELECT
        *,
        CASE WHEN usd_per_gpu_hour > 0 THEN usd_per_gpu_hour / nullif(tok_s_gpu * 3600.0, 0) * 1e6 END AS usd_per_mtok,
        tok_s_gpu / nullif(power_w, 0) * 1e6 AS tok_s_per_mw
    FROM priced
)
SELECT
    run_id, model, hardware, precision, scenario, label,
    any_value(usd_per_gpu_hour) AS usd_per_gpu_hour,
    any_value(power_w) AS power_w,
    any_value(assumption_source) AS assumption_source,
    min(usd_per_mtok) AS best_usd_per_mtok,
    arg_min(tok_s_user, usd_per_mtok) AS tok_s_user_at_best_usd,
    max(tok_s_per_mw) AS best_tok_s_per_mw
FROM per_point
GROUP BY ALL
ORDER BY model, precision, scenario, best_usd_per_mtok NULLS LAST, hardware, label
